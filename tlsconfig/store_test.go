package tlsconfig_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockit/sockit/sockittest"
	"github.com/sockit/sockit/tlsconfig"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// certSpec describes a test certificate.
type certSpec struct {
	names    []string
	rsaBits  int // 0: ECDSA P-256
	notAfter time.Time
}

// writePair makes a self-signed certificate after spec and writes it and
// its key as PEM files in dir.
func writePair(t *testing.T, dir, name string, spec certSpec) tlsconfig.Pair {
	t.Helper()
	var key crypto.Signer
	var err error
	if spec.rsaBits > 0 {
		key, err = rsa.GenerateKey(rand.Reader, spec.rsaBits)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	if spec.notAfter.IsZero() {
		spec.notAfter = time.Now().Add(90 * 24 * time.Hour)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     spec.notAfter,
		DNSNames:     spec.names,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	p := tlsconfig.Pair{Cert: filepath.Join(dir, name+".crt"), Key: filepath.Join(dir, name+".key")}
	sockittest.WriteSelfSigned(t, p.Cert, p.Key, tmpl, key)
	return p
}

// handshake connects a client to a TLS server with cfg over a loopback TCP
// connection and returns the certificate the client was shown (nil and the
// error if the handshake failed).
func handshake(t *testing.T, cfg *tls.Config, client *tls.Config) (*x509.Certificate, error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		s := tls.Server(c, cfg)
		s.SetDeadline(time.Now().Add(10 * time.Second))
		s.Handshake()
	})
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), client)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0], nil
}

func insecure(sni string) *tls.Config {
	return &tls.Config{ServerName: sni, InsecureSkipVerify: true}
}

func TestStoreChoosesBySNI(t *testing.T) {
	dir := t.TempDir()
	a := writePair(t, dir, "a", certSpec{names: []string{"a.test"}})
	b := writePair(t, dir, "b", certSpec{names: []string{"b.test", "B2.test"}})
	w := writePair(t, dir, "wild", certSpec{names: []string{"*.w.test"}})
	var s tlsconfig.Store
	if _, err := s.Load(a, b, w); err != nil {
		t.Fatal(err)
	}
	cfg := tlsconfig.Server(s.GetCertificate)
	for _, tt := range []struct{ sni, want string }{
		{"a.test", "a"},
		{"b.test", "b"},
		{"b2.test", "b"},     // case-insensitive
		{"x.w.test", "wild"}, // one label deep
		{"w.test", "a"},      // a wildcard does not cover its parent: the default
		{"y.x.w.test", "a"},  // nor two labels
		{"other.test", "a"},  // no certificate with the name: the first pair
		{"", "a"},            // no SNI (a client connecting to an IP address)
	} {
		got, err := handshake(t, cfg, insecure(tt.sni))
		if err != nil {
			t.Fatalf("SNI %q: %v", tt.sni, err)
		}
		if got.Subject.CommonName != tt.want {
			t.Errorf("SNI %q: served %s, want %s", tt.sni, got.Subject.CommonName, tt.want)
		}
	}
}

// A name with an ECDSA and an RSA certificate: a client that takes both
// gets ECDSA, one limited to RSA suites gets RSA.
func TestStorePrefersECDSAAndFallsBackToRSA(t *testing.T) {
	dir := t.TempDir()
	r := writePair(t, dir, "rsa", certSpec{names: []string{"x.test"}, rsaBits: 2048})
	e := writePair(t, dir, "ecdsa", certSpec{names: []string{"x.test"}})
	var s tlsconfig.Store
	if _, err := s.Load(r, e); err != nil {
		t.Fatal(err)
	}
	cfg := tlsconfig.Server(s.GetCertificate)
	got, err := handshake(t, cfg, insecure("x.test"))
	if err != nil || got.Subject.CommonName != "ecdsa" {
		t.Fatalf("any client: %v, %v; want the ECDSA certificate", got, err)
	}
	rsaOnly := insecure("x.test")
	rsaOnly.MaxVersion = tls.VersionTLS12
	rsaOnly.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	got, err = handshake(t, cfg, rsaOnly)
	if err != nil || got.Subject.CommonName != "rsa" {
		t.Fatalf("RSA-only client: %v, %v; want the RSA certificate", got, err)
	}
}

// A reload with a bad pair is refused whole, and the old certificates go
// on being served.
func TestStoreRefusesBadReloadAndKeepsOld(t *testing.T) {
	dir := t.TempDir()
	good := writePair(t, dir, "good", certSpec{names: []string{"a.test"}})
	other := writePair(t, dir, "other", certSpec{names: []string{"a.test"}})
	next := writePair(t, dir, "next", certSpec{names: []string{"a.test"}})
	var s tlsconfig.Store
	if _, err := s.Load(good); err != nil {
		t.Fatal(err)
	}
	cfg := tlsconfig.Server(s.GetCertificate)
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(garbage, []byte("not PEM at all\n"), 0o600)
	for _, tt := range []struct {
		name  string
		pairs []tlsconfig.Pair
		want  string
	}{
		{"key of another certificate", []tlsconfig.Pair{next, {Cert: good.Cert, Key: other.Key}}, "private key does not match public key"},
		{"missing file", []tlsconfig.Pair{{Cert: filepath.Join(dir, "nope.crt"), Key: good.Key}}, "no such file"},
		{"not PEM", []tlsconfig.Pair{{Cert: garbage, Key: good.Key}}, "PEM"},
		{"no pair", nil, "no certificate"},
	} {
		_, err := s.Load(tt.pairs...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Load error %v, want one saying %q", tt.name, err, tt.want)
		}
		var pe *tlsconfig.PairError
		if len(tt.pairs) > 0 && !errors.As(err, &pe) {
			t.Errorf("%s: %v is not a *PairError", tt.name, err)
		}
		got, err := handshake(t, cfg, insecure("a.test"))
		if err != nil || got.Subject.CommonName != "good" {
			t.Fatalf("after the refused reload (%s): served %v, %v; want the old certificate", tt.name, got, err)
		}
	}
	// A good reload takes effect for the next handshake.
	if _, err := s.Load(next); err != nil {
		t.Fatal(err)
	}
	if got, err := handshake(t, cfg, insecure("a.test")); err != nil || got.Subject.CommonName != "next" {
		t.Fatalf("after the reload: served %v, %v; want the new certificate", got, err)
	}
}

func TestCheckWarnsAndRefuses(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	soon := writePair(t, dir, "soon", certSpec{names: []string{"a.test"}, notAfter: now.Add(9*24*time.Hour + time.Hour)})
	gone := writePair(t, dir, "gone", certSpec{names: []string{"a.test"}, notAfter: now.Add(-time.Hour)})
	fine := writePair(t, dir, "fine", certSpec{names: []string{"a.test"}})
	nameless := writePair(t, dir, "nameless", certSpec{})
	weak := writePair(t, dir, "weak", certSpec{names: []string{"a.test"}, rsaBits: 1024})

	warns, err := tlsconfig.Check(now, soon, gone, fine, nameless)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{soon.Cert: "expires in 10 days", gone.Cert: "expired on", nameless.Cert: "names no host"}
	if len(warns) != len(want) {
		t.Errorf("warnings %v, want one each for %v", warns, want)
	}
	for _, w := range warns {
		if !strings.Contains(w.Message, want[w.Cert]) || want[w.Cert] == "" {
			t.Errorf("warning %q for %s, want %q", w.Message, w.Cert, want[w.Cert])
		}
	}
	if _, err := tlsconfig.Check(now, fine, weak); err == nil || !strings.Contains(err.Error(), "RSA key of 1024 bits") {
		t.Errorf("1024-bit RSA: %v, want it refused", err)
	}
	// The store's clock decides the warnings of Load.
	s := tlsconfig.Store{Now: func() time.Time { return now.Add(85 * 24 * time.Hour) }}
	warns, err = s.Load(fine)
	if err != nil || len(warns) != 1 || !strings.Contains(warns[0].String(), "fine.crt: expires in 5 days") {
		t.Errorf("Load 5 days before the end: %v, %v", warns, err)
	}
}

// Handshakes go on while the certificates are swapped under them: every
// handshake gets a whole certificate of one generation or the next
// (run with -race).
func TestStoreReloadUnderHandshakes(t *testing.T) {
	dir := t.TempDir()
	pairs := []tlsconfig.Pair{
		writePair(t, dir, "gen0", certSpec{names: []string{"a.test"}}),
		writePair(t, dir, "gen1", certSpec{names: []string{"a.test"}}),
	}
	var s tlsconfig.Store
	if _, err := s.Load(pairs[0]); err != nil {
		t.Fatal(err)
	}
	cfg := tlsconfig.Server(s.GetCertificate)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				s := tls.Server(c, cfg)
				s.SetDeadline(time.Now().Add(10 * time.Second))
				s.Handshake()
			})
		}
	})
	stop := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := s.Load(pairs[i%2]); err != nil {
				t.Error(err)
				return
			}
		}
	})
	seen := map[string]int{}
	for range 60 {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", ln.Addr().String(), insecure("a.test"))
		if err != nil {
			t.Fatal(err)
		}
		seen[c.ConnectionState().PeerCertificates[0].Subject.CommonName]++
		c.Close()
	}
	close(stop)
	ln.Close()
	wg.Wait()
	if seen["gen0"]+seen["gen1"] != 60 {
		t.Errorf("served %v, want only gen0 and gen1", seen)
	}
}

func TestSelfSignedAndFingerprint(t *testing.T) {
	c, err := tlsconfig.SelfSigned("127.0.0.2", "host.test", "0.0.0.0")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := c.PrivateKey.(*ecdsa.PrivateKey); !ok || c.Leaf.PublicKeyAlgorithm != x509.ECDSA {
		t.Errorf("key %T, want ECDSA", c.PrivateKey)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c.Leaf)
	for _, host := range []string{"localhost", "127.0.0.1", "::1", "127.0.0.2", "host.test"} {
		if _, err := c.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: pool}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
	}
	for _, ip := range c.Leaf.IPAddresses {
		if ip.IsUnspecified() {
			t.Errorf("the certificate names %v", ip)
		}
	}
	fp := tlsconfig.Fingerprint(c.Certificate[0])
	groups := strings.Fields(fp)
	if len(groups) != 16 || len(groups[0]) != 4 || strings.ToUpper(fp) != fp {
		t.Errorf("fingerprint %q: want 16 groups of 4 upper-case hex digits", fp)
	}
	var s tlsconfig.Store
	if _, err := s.Set(c); err != nil {
		t.Fatal(err)
	}
	got, err := handshake(t, tlsconfig.Server(s.GetCertificate), insecure(""))
	if err != nil || tlsconfig.Fingerprint(got.Raw) != fp {
		t.Fatalf("served %v, %v", got, err)
	}
}

// Server's defaults: TLS 1.0 and 1.1 are refused, and so is a TLS 1.2
// client offering only CBC suites; 1.2 with an AEAD suite and 1.3 work,
// and ALPN picks from the protocols given.
func TestServerDefaults(t *testing.T) {
	c, err := tlsconfig.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	cfg := tlsconfig.Server(tlsconfig.Static(&c), "http/1.1")
	for _, v := range []uint16{tls.VersionTLS10, tls.VersionTLS11} {
		cl := insecure("")
		cl.MinVersion, cl.MaxVersion = v, v
		if _, err := handshake(t, cfg, cl); err == nil {
			t.Errorf("version %x accepted", v)
		}
	}
	cbc := insecure("")
	cbc.MaxVersion = tls.VersionTLS12
	cbc.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA}
	if _, err := handshake(t, cfg, cbc); err == nil {
		t.Error("a CBC-only TLS 1.2 client was accepted")
	}
	tls12 := insecure("")
	tls12.MaxVersion = tls.VersionTLS12
	if _, err := handshake(t, cfg, tls12); err != nil {
		t.Errorf("TLS 1.2: %v", err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		if c, err := ln.Accept(); err == nil {
			c.(*tls.Conn).Handshake()
			c.Close()
		}
	}()
	cl := insecure("")
	cl.NextProtos = []string{"h2", "http/1.1"}
	conn, err := tls.Dial("tcp", ln.Addr().String(), cl)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if st := conn.ConnectionState(); st.Version != tls.VersionTLS13 || st.NegotiatedProtocol != "http/1.1" {
		t.Errorf("version %x, ALPN %q; want TLS 1.3 and http/1.1", st.Version, st.NegotiatedProtocol)
	}
}
