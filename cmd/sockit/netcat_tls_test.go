package main

import (
	"bufio"
	"crypto/tls"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/sockit/sockit/sockittest"
	"github.com/sockit/sockit/tlsconfig"
)

// TestSSLFlagUsage: ncat's TLS flags refuse what cannot work, as usage
// errors naming the fault.
func TestSSLFlagUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"connect", "--ssl", "udp://127.0.0.1:7"}, "TLS runs over TCP only, not udp"},
		{[]string{"connect", "--ssl-verify", "unix:///tmp/x.sock"}, "TLS runs over TCP only, not unix"},
		{[]string{"listen", "--ssl", "unixgram://@x"}, "TLS runs over TCP only"},
		{[]string{"listen", "--ssl-cert", "cert.pem", "127.0.0.1:0"}, "--ssl-cert and --ssl-key go together"},
		{[]string{"connect", "--ssl-key", "key.pem", "127.0.0.1:7"}, "--ssl-cert and --ssl-key go together"},
		{[]string{"connect", "tls4://[::1]:7"}, "not an IPv4 address"},
	} {
		r := sockitRun(t, "", tt.args...)
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, "sockit "+tt.args[0]+": ") || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, r.code, r.stderr, exitUsage, tt.want)
		}
	}
}

// TestListenSSLThrowawayCertificate: listen --ssl without a certificate
// prints the SHA-256 fingerprint of the one it made, which is the one a
// client is shown; connect without --ssl-verify takes it (as ncat does),
// connect --ssl-verify refuses it, in words, exit 1, and listen reports
// that peer and goes on to the next.
func TestListenSSLThrowawayCertificate(t *testing.T) {
	cmd, stderr, rest := sockitProcessIn(t, "down", "listen", "--ssl", "127.0.0.1:0")
	addr, head := waitListening(t, stderr)
	fp := regexp.MustCompile(`(?m)^SHA-256 fingerprint: ((?:[0-9A-F]{4} ){15}[0-9A-F]{4})$`).FindStringSubmatch(strings.Join(head, ""))
	if fp == nil {
		t.Fatalf("no fingerprint before the listening line: %q", head)
	}
	r := sockitRun(t, "hi", "connect", "--ssl-verify", addr)
	if r.code != exitFailure || !strings.Contains(r.stderr, "sockit connect: connect to "+addr+" (tls): certificate not trusted: signed by an unknown authority\n") {
		t.Errorf("connect --ssl-verify: exit %d, stderr %q", r.code, r.stderr)
	}
	c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	if shown := tlsconfig.Fingerprint(c.ConnectionState().PeerCertificates[0].Raw); shown != fp[1] {
		t.Errorf("printed fingerprint %s, the certificate served is %s", fp[1], shown)
	}
	c.Write([]byte("hello"))
	c.CloseWrite()
	if got, err := io.ReadAll(c); string(got) != "down" || err != nil {
		t.Errorf("read %q, %v; want listen's stdin", got, err)
	}
	c.Close()
	out := rest()
	if code := exitStatus(t, cmd); code != 0 {
		t.Errorf("listen exit %d, stderr %q", code, out)
	}
	if !strings.Contains(out, "sockit listen: TLS handshake with 127.0.0.1:") || !strings.Contains(out, "failed: TLS alert from the peer: bad certificate\n") {
		t.Errorf("the refusing peer is not reported: %q", out)
	}
}

// TestConnectSSLToListen: connect --ssl-trustfile (verifying) and a
// client certificate-free listen with --ssl-cert and --ssl-key, through
// the commands: the bytes arrive both ways.
func TestConnectSSLToListen(t *testing.T) {
	certFile, keyFile := sockittest.SelfSignedCert(t, t.TempDir())
	cmd, stderr, rest := sockitProcessIn(t, "down", "listen", "--ssl-cert", certFile, "--ssl-key", keyFile, "--ssl-alpn", "x-test", "localhost:0")
	addr, _ := waitListening(t, stderr)
	_, port, _ := strings.Cut(addr, "]:")
	if port == "" {
		_, port, _ = strings.Cut(addr, ":")
	}
	r := sockitRun(t, "up", "connect", "--ssl-trustfile", certFile, "--ssl-alpn", "x-test", "--ssl-servername", "localhost", "127.0.0.1:"+port)
	if r.code != 0 || r.stdout != "down" {
		t.Fatalf("connect: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	out := rest()
	if code := exitStatus(t, cmd); code != 0 || strings.Contains(out, "fingerprint") || strings.Contains(out, "sockit listen:") {
		t.Errorf("listen exit %d, stderr %q (a certificate given: no temporary one)", code, out)
	}
}

// sockitProcessIn is sockitProcess with stdin.
func sockitProcessIn(t *testing.T, stdin string, args ...string) (cmd *exec.Cmd, stderr *bufio.Reader, stderrAll func() string) {
	t.Helper()
	cmd = exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
	cmd.Stdin = strings.NewReader(stdin)
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	br := bufio.NewReader(pr)
	return cmd, br, func() string {
		b, _ := io.ReadAll(br)
		return string(b)
	}
}

// waitListening reads listen's stderr up to its "listening tls ADDR" line
// and returns ADDR and the lines read.
func waitListening(t *testing.T, stderr *bufio.Reader) (addr string, head []string) {
	t.Helper()
	listening := regexp.MustCompile(`^listening tls (\S+:\d+)\n$`)
	for {
		line, err := stderr.ReadString('\n')
		if err != nil {
			t.Fatalf("listen's stderr ended: %q %v", head, err)
		}
		head = append(head, line)
		if m := listening.FindStringSubmatch(line); m != nil {
			return m[1], head
		}
	}
}
