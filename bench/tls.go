package bench

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// clientTLS is the TLS configuration of an https run, shared by its
// connections: the session cache is what lets a new connection resume an
// earlier one's session (unless NoResume).
func clientTLS(cfg *Config, host string) *tls.Config {
	tc := &tls.Config{ServerName: host, InsecureSkipVerify: cfg.Insecure, RootCAs: cfg.RootCAs}
	if cfg.ServerName != "" {
		tc.ServerName = cfg.ServerName
	}
	if cfg.HTTP2 {
		tc.NextProtos = []string{"h2"}
	}
	if !cfg.NoResume {
		tc.ClientSessionCache = tls.NewLRUClientSessionCache(max(cfg.Concurrency, 64))
	}
	return tc
}

// handshook notes a finished TLS handshake in s: its time, whether it
// resumed a session, and the connection's parameters (the report's
// "SSL/TLS Protocol" line, from the first).
func (s *sample) handshook(d time.Duration, st *tls.ConnectionState) {
	s.handshake, s.tls, s.resumed = d, true, st.DidResume
	if s.tlsInfo == nil {
		s.tlsInfo = st
	}
}

// TLSInfo is how an https run's connections were secured, as ab reports
// it: Protocol is ab's "SSL/TLS Protocol" line (version, cipher in
// OpenSSL's name, its secret bits twice), ServerName its "TLS Server Name"
// (the SNI sent, "" when none was: an IP address), TempKey its "Server
// Temp Key" (the key exchange group).
type TLSInfo struct {
	Protocol, ServerName, TempKey string
}

// tlsInfoOf describes st as ab does.
func tlsInfoOf(st *tls.ConnectionState) TLSInfo {
	ver := strings.Replace(tls.VersionName(st.Version), "TLS 1.", "TLSv1.", 1)
	name, bits := opensslCipher(st.CipherSuite)
	info := TLSInfo{Protocol: fmt.Sprintf("%s,%s,%d,%d", ver, name, bits, bits)}
	if net.ParseIP(st.ServerName) == nil {
		info.ServerName = st.ServerName
	}
	switch st.CurveID {
	case 0:
	case tls.X25519:
		info.TempKey = "X25519 253 bits"
	case tls.CurveP256:
		info.TempKey = "ECDH prime256v1 256 bits"
	case tls.CurveP384:
		info.TempKey = "ECDH secp384r1 384 bits"
	default:
		info.TempKey = st.CurveID.String()
	}
	return info
}

// opensslCipher names a cipher suite as OpenSSL (and so ab) does, with its
// secret bits. TLS 1.3's suites have the same name in both.
func opensslCipher(id uint16) (string, int) {
	names := map[uint16]string{
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256:       "ECDHE-ECDSA-AES128-GCM-SHA256",
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384:       "ECDHE-ECDSA-AES256-GCM-SHA384",
		tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
		tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256:         "ECDHE-RSA-AES128-GCM-SHA256",
		tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384:         "ECDHE-RSA-AES256-GCM-SHA384",
		tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256:   "ECDHE-RSA-CHACHA20-POLY1305",
		tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA:          "ECDHE-ECDSA-AES128-SHA",
		tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA:          "ECDHE-ECDSA-AES256-SHA",
		tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA:            "ECDHE-RSA-AES128-SHA",
		tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA:            "ECDHE-RSA-AES256-SHA",
		tls.TLS_RSA_WITH_AES_128_GCM_SHA256:               "AES128-GCM-SHA256",
		tls.TLS_RSA_WITH_AES_256_GCM_SHA384:               "AES256-GCM-SHA384",
	}
	name, ok := names[id]
	if !ok {
		name = tls.CipherSuiteName(id) // TLS 1.3's, and any other by its IANA name
	}
	bits := 128
	if strings.Contains(name, "256") && !strings.Contains(name, "SHA256") || strings.Contains(name, "CHACHA20") {
		bits = 256
	}
	return name, bits
}

// LoadCAs reads the PEM certificates in file, for Config.RootCAs (curl's
// and ab's --cacert); a file without one is an error.
func LoadCAs(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificates in it", file)
	}
	return pool, nil
}
