package tlsconfig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"net"
	"strings"
	"time"
)

// CipherSuites are the TLS 1.2 suites Server allows: ECDHE key exchange
// (forward secrecy) with an AEAD cipher, for ECDSA and RSA certificates,
// in Mozilla's intermediate order. No CBC, no RSA key exchange, no 3DES
// (Go's own default list still has ECDHE with AES-CBC-SHA1). TLS 1.3's
// suites are all AEAD, and crypto/tls does not let them be chosen.
var CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// Server returns the configuration sockit serves TLS with, its
// certificates coming from getCertificate (a Store's GetCertificate, or
// Static), offering nextProtos by ALPN (RFC 7301; none: ALPN is not
// answered):
//
//   - TLS 1.2 and 1.3 only (MinVersion 1.2; 1.0 and 1.1 are refused with a
//     protocol_version alert);
//   - TLS 1.2 with the AEAD suites of CipherSuites alone;
//   - key exchange with Go's default groups (X25519MLKEM768 and the other
//     post-quantum hybrids first, then X25519, P-256, P-384, P-521): left
//     to crypto/tls so they follow its releases;
//   - session tickets on (resumption: TLS 1.3 PSK with a fresh ECDHE,
//     TLS 1.2 tickets), under keys crypto/tls rotates by itself: a new key
//     every 24 hours, each accepted for 7 days (crypto/tls's automatic
//     rotation, used while SessionTicketKey and SetSessionTicketKeys are
//     left alone), so a stolen key opens a week of tickets, not all of
//     them: why nginx, which never rotates, is told to turn tickets off;
//   - no renegotiation: a crypto/tls server never renegotiates, and
//     refuses a client's request to.
//
// Each call returns a new Config (with its own ticket keys): keep one per
// listener set for as long as tickets should resume.
func Server(getCertificate func(*tls.ClientHelloInfo) (*tls.Certificate, error), nextProtos ...string) *tls.Config {
	return &tls.Config{
		GetCertificate: getCertificate,
		MinVersion:     tls.VersionTLS12,
		CipherSuites:   CipherSuites,
		NextProtos:     nextProtos,
	}
}

// Static returns a GetCertificate that always gives cert.
func Static(cert *tls.Certificate) func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return cert, nil }
}

// SelfSigned makes a throwaway certificate with a fresh ECDSA P-256 key,
// for hosts (DNS names or IP addresses; localhost, 127.0.0.1 and ::1 are
// always added), valid from an hour ago for a year, as ncat's temporary
// certificate is. It is its own issuer: no client trusts it unless told
// to (a fingerprint to compare, or the certificate as a trust file).
func SelfSigned(hosts ...string) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "sockit temporary certificate"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	seen := map[string]bool{}
	for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
		h = strings.Trim(h, "[]")
		if h == "" || seen[h] {
			continue
		}
		seen[h] = true
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
			continue
		}
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// Fingerprint is the SHA-256 digest of a certificate (its DER bytes) in
// hexadecimal, in groups of four digits as ncat prints its certificate's
// ("3F2A 9C01 ..."); openssl x509 -noout -fingerprint -sha256 shows the
// same digits in pairs with colons.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	var b strings.Builder
	for i := 0; i < len(sum); i += 2 {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%02X%02X", sum[i], sum[i+1])
	}
	return b.String()
}
