package main

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

// testPair is a certificate and its key, written as PEM files.
type testPair struct {
	cert, key string
	der       []byte
}

// writePair makes a self-signed ECDSA P-256 certificate for localhost and
// 127.0.0.1, valid until notAfter, and writes it and its key as
// dir/name.pem and dir/name.key.
func writePair(t *testing.T, dir, name string, notAfter time.Time, hosts ...string) testPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "sockit test " + name},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true,
		DNSNames:    append([]string{"localhost"}, hosts...),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	p := testPair{cert: filepath.Join(dir, name+".pem"), key: filepath.Join(dir, name+".key"), der: der}
	if err := os.WriteFile(p.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// tlsClient dials addr over TLS trusting the certificates of pairs, and
// returns the connection and the certificate the server showed.
func tlsClient(t *testing.T, addr string, pairs ...testPair) (*tls.Conn, []byte) {
	t.Helper()
	return tlsClientSNI(t, addr, "localhost", pairs...)
}

// tlsClientSNI is tlsClient asking for the host name sni ("" sends none).
func tlsClientSNI(t *testing.T, addr, sni string, pairs ...testPair) (*tls.Conn, []byte) {
	t.Helper()
	pool := x509.NewCertPool()
	for _, p := range pairs {
		c, _ := x509.ParseCertificate(p.der)
		pool.AddCert(c)
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: sni}
	if sni != "localhost" {
		cfg.InsecureSkipVerify = true // a name no certificate has, or none: the caller compares the certificate itself
	}
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		t.Fatalf("TLS to %s: %v", addr, err)
	}
	t.Cleanup(func() { c.Close() })
	return c, c.ConnectionState().PeerCertificates[0].Raw
}

// getOn sends one keep-alive GET on c and checks the answer is 200.
func getOn(t *testing.T, c *tls.Conn, br *bufio.Reader, when string) {
	t.Helper()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Close {
		t.Fatalf("%s: %s, close %v; want 200 kept alive", when, resp.Status, resp.Close)
	}
}

func sameCert(a, b []byte) bool { return string(a) == string(b) }

// TestServeTLS: serve with http=tls:// and echo=tls:// answers curl
// --cacert, sockit get --cacert and sockit connect --ssl; SIGHUP to a file
// naming a new pair serves it to new connections while a keep-alive
// connection of the old one goes on; a pair whose key does not match is
// refused and the running one stays; a change of the files themselves is
// picked up with no signal.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	year := time.Now().Add(365 * 24 * time.Hour)
	a, b, c := writePair(t, dir, "a", year), writePair(t, dir, "b", year), writePair(t, dir, "c", year)
	conf := filepath.Join(dir, "sockit.toml")
	writeConf := func(cert, key string) {
		t.Helper()
		text := fmt.Sprintf("[tls]\ncert = %q\nkey = [%q]\n\n[services]\nhttp = [\"tls://127.0.0.1:0\"]\necho = [\"tls://127.0.0.1:0\"]\n", cert, key)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeConf(a.cert, a.key)
	if r := sockitRun(t, "", "serve", "--check-config", conf); r.code != 0 || r.stderr != "" {
		t.Fatalf("check-config of a good pair: %+v", r)
	}
	cmd, out := serveProcess(t, exec.Command(os.Args[0], "serve", "--config", conf))
	addrs := map[string]string{}
	for range 2 {
		m := out.wait(t, regexp.MustCompile(`msg=listening service=(\S+) network=tls addr=(\S+)$`))
		addrs[m[1]] = m[2]
	}
	page := "https://" + addrs["http"] + "/"

	if r := sockitRun(t, "", "get", "--cacert", a.cert, page); r.code != 0 || !strings.Contains(r.stdout, "</html>") {
		t.Errorf("get --cacert %s: %+v", page, r)
	}
	if r := sockitRun(t, "line one\nline two\n", "connect", "--ssl", "--ssl-trustfile", a.cert, addrs["echo"]); r.code != 0 || r.stdout != "line one\nline two\n" {
		t.Errorf("connect --ssl to echo: %+v", r)
	}
	t.Run("curl", func(t *testing.T) {
		curl := sockittest.RequireTool(t, "curl")
		got, err := exec.Command(curl, "-sS", "--cacert", a.cert, page).CombinedOutput()
		if err != nil || !strings.Contains(string(got), "</html>") {
			t.Errorf("curl --cacert %s: %v: %.300s", page, err, got)
		}
	})

	// A keep-alive connection under the first certificate.
	old, der := tlsClient(t, addrs["http"], a)
	if !sameCert(der, a.der) {
		t.Fatal("the server did not show the configured certificate")
	}
	br := bufio.NewReader(old)
	getOn(t, old, br, "before the reload")
	// A request half sent as the reload comes: the old generation
	// finishes it (an idle keep-alive connection it would close, as
	// nginx's old workers do). And an echo stream, which runs on.
	fmt.Fprintf(old, "GET / HTTP/1.1\r\nHost: localhost\r\n")
	echo, _ := tlsClient(t, addrs["echo"], a)
	echoed := bufio.NewReader(echo)
	echoLine := func(line, when string) {
		t.Helper()
		fmt.Fprintf(echo, "%s\n", line)
		if got, err := echoed.ReadString('\n'); err != nil || got != line+"\n" {
			t.Fatalf("echo %s: %q, %v", when, got, err)
		}
	}
	echoLine("before", "before the reload")

	writeConf(b.cert, b.key)
	cmd.Process.Signal(syscall.SIGHUP)
	out.wait(t, regexp.MustCompile(`msg=reloaded`))
	if _, der := tlsClient(t, addrs["http"], a, b); !sameCert(der, b.der) {
		t.Error("after SIGHUP a new connection did not get the new certificate")
	}
	fmt.Fprintf(old, "\r\n")
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != 200 {
		t.Errorf("the request half sent before the reload: %v, %v", resp, err)
	} else {
		resp.Body.Close()
	}
	echoLine("after", "on the connection opened before the reload")
	if r := sockitRun(t, "x\n", "connect", "--ssl", "--ssl-trustfile", b.cert, addrs["echo"]); r.code != 0 || r.stdout != "x\n" {
		t.Errorf("connect --ssl to echo after the reload: %+v", r)
	}

	// A certificate with another's key: refused, logged, the running pair
	// stays.
	writeConf(b.cert, c.key)
	cmd.Process.Signal(syscall.SIGHUP)
	out.wait(t, regexp.MustCompile(`level=ERROR msg="reload refused; the running configuration stays".*`+regexp.QuoteMeta(b.cert)))
	if _, der := tlsClient(t, addrs["http"], a, b, c); !sameCert(der, b.der) {
		t.Error("after a refused reload the certificate changed")
	}
	echoLine("refused", "after a refused reload")

	// The files named change in place (a renewal): served with no signal.
	writeConf(b.cert, b.key)
	cmd.Process.Signal(syscall.SIGHUP)
	out.wait(t, regexp.MustCompile(`msg=reloaded`))
	renewed := writePair(t, dir, "b", year)
	out.wait(t, regexp.MustCompile(`msg="certificates reloaded"`))
	if _, der := tlsClient(t, addrs["http"], renewed); !sameCert(der, renewed.der) {
		t.Error("after the files changed a new connection did not get the new certificate")
	}

	echoLine("renewed", "after the files changed")
	echo.Close()
	old.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	out.wait(t, regexp.MustCompile(`msg=stop status=0`))
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve: %v, want exit 0", err)
	}
}

// TestServeTLSConfigMistakes: tls:// without a certificate, keys and
// certificates that do not pair, a key that does not match: each a
// mistake said before anything is served; a certificate that expires
// within 14 days is served, with a warning.
func TestServeTLSConfigMistakes(t *testing.T) {
	dir := t.TempDir()
	year := time.Now().Add(365 * 24 * time.Hour)
	a, b := writePair(t, dir, "a", year), writePair(t, dir, "b", year)
	soon := writePair(t, dir, "soon", time.Now().Add(5*24*time.Hour))

	r := sockitRun(t, "", "serve", "http=tls://127.0.0.1:0")
	if r.code != exitUsage || !strings.Contains(r.stderr, "tls:// needs a certificate and its key: --tls-cert FILE --tls-key FILE") {
		t.Errorf("tls:// without a certificate: %+v", r)
	}
	r = sockitRun(t, "", "serve", "--tls-cert", a.cert, "--tls-key", a.key, "--tls-cert", b.cert, "echo=tls://127.0.0.1:0")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--tls-cert 2 certificates and 1 keys") {
		t.Errorf("two certificates, one key: %+v", r)
	}
	r = sockitRun(t, "", "serve", "--tls-cert", a.cert, "--tls-key", b.key, "echo=tls://127.0.0.1:0")
	if r.code != exitUsage || !strings.Contains(r.stderr, a.cert) || !strings.Contains(r.stderr, b.key) {
		t.Errorf("a key of another certificate: %+v", r)
	}
	conf := filepath.Join(dir, "bad.toml")
	os.WriteFile(conf, []byte(fmt.Sprintf("[tls]\ncert = [%q]\nkey = [%q]\n", a.cert, b.key)), 0o644)
	r = sockitRun(t, "", "serve", "--check-config", conf)
	if want := conf + ":2:1: tls.cert: certificate " + a.cert + " with key " + b.key + ": "; r.code != 1 || !strings.HasPrefix(r.stderr, want) {
		t.Errorf("check-config of a key that does not match: %+v, want %q…", r, want)
	}
	os.WriteFile(conf, []byte(fmt.Sprintf("[tls]\ncert = [%q, %q]\nkey = [%q, %q]\n", a.cert, soon.cert, a.key, soon.key)), 0o644)
	r = sockitRun(t, "", "serve", "--check-config", conf)
	if r.code != 0 || !strings.Contains(r.stderr, "warning: "+soon.cert+": expires in") || strings.Contains(r.stderr, a.cert) {
		t.Errorf("check-config of a certificate expiring in 5 days: %+v", r)
	}
	os.WriteFile(conf, []byte("[tls]\ncert = 1\n"), 0o644)
	r = sockitRun(t, "", "serve", "--check-config", conf)
	if r.code != 1 || !strings.Contains(r.stderr, ":2:1: tls.cert: want a string or an array of strings, not an integer") {
		t.Errorf("check-config of cert = 1: %+v", r)
	}
	// A datagram endpoint has no TLS: tls:// is TCP, and tls+udp no scheme.
	r = sockitRun(t, "", "serve", "--tls-cert", a.cert, "--tls-key", a.key, "echo=dtls://127.0.0.1:0")
	if r.code != exitUsage {
		t.Errorf("echo=dtls://: %+v", r)
	}
}

// TestServeTLSBySNI: several pairs, on both engines: each client gets the
// certificate of the name it asks for, and one asking for no name or an
// unknown one the first pair's.
func TestServeTLSBySNI(t *testing.T) {
	dir := t.TempDir()
	year := time.Now().Add(365 * 24 * time.Hour)
	a, b := writePair(t, dir, "a", year, "a.test"), writePair(t, dir, "b", year, "b.test", "*.b.test")
	for _, engine := range []string{"loop", "goroutine"} {
		t.Run(engine, func(t *testing.T) {
			addrs, _ := startServe(t, "--engine", engine, "--tls-cert", a.cert, "--tls-key", a.key, "--tls-cert", b.cert, "--tls-key", b.key, "echo=tls://127.0.0.1:0")
			addr := addrs["echo tls"]
			for _, c := range []struct {
				sni  string
				want testPair
			}{{"a.test", a}, {"b.test", b}, {"www.b.test", b}, {"c.test", a}, {"", a}} {
				conn, der := tlsClientSNI(t, addr, c.sni, a, b)
				if !sameCert(der, c.want.der) {
					t.Errorf("SNI %q: got another certificate than %s", c.sni, c.want.cert)
				}
				fmt.Fprintf(conn, "hi\n")
				if got, err := bufio.NewReader(conn).ReadString('\n'); err != nil || got != "hi\n" {
					t.Errorf("SNI %q: echo %q, %v", c.sni, got, err)
				}
				conn.Close()
			}
		})
	}
}

// TestServeTLSActivated: a socket systemd passes named http-tls
// (FileDescriptorName=, or a unit sockit-http-tls.socket) is http over
// TLS with serve's certificate.
func TestServeTLSActivated(t *testing.T) {
	dir := t.TempDir()
	a := writePair(t, dir, "a", time.Now().Add(365*24*time.Hour))
	port := sockittest.FreePort(t)
	_, out := activateServe(t, 1, []string{"-l", "127.0.0.1:" + strconv.Itoa(port), "--fdname=http-tls"}, "--tls-cert", a.cert, "--tls-key", a.key)
	page := "https://127.0.0.1:" + strconv.Itoa(port) + "/"
	if r := sockitRun(t, "", "get", "--cacert", a.cert, page); r.code != 0 || !strings.Contains(r.stdout, "</html>") {
		t.Errorf("get --cacert %s through the activated socket: %+v", page, r)
	}
	out.wait(t, regexp.MustCompile(`msg=listening service=http network=tls addr=127.0.0.1:`+strconv.Itoa(port)+`$`))
}
