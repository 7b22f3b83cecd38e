package httpraw_test

import (
	"bytes"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
	"github.com/sockit/sockit/tlsconfig"
)

// serveTLSOn runs r over TLS on 127.0.0.1:0 over one engine, offering
// the responder's own ALPN list (h2, http/1.1), and returns its address
// and the certificate's PEM file (for curl's --cacert).
func serveTLSOn(t *testing.T, engine string, r *httpraw.Responder) (addr, certFile string) {
	t.Helper()
	certFile, keyFile := sockittest.SelfSignedCert(t, t.TempDir())
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Engine: engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	svc := httpraw.Service(r)
	svc.TLS = tlsconfig.Server(tlsconfig.Static(&cert))
	return sockittest.Serve(t, srv, "tcp", svc).String(), certFile
}

// TestH2SpecTLS runs h2spec's whole suite against the responder over TLS,
// h2 chosen by ALPN, on every engine. Here every test passes, 3.5/2 too:
// a client that chose h2 must open with the preface, so anything else is
// closed with nothing sent.
func TestH2SpecTLS(t *testing.T) {
	h2spec := sockittest.RequireTool(t, "h2spec")
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr, _ := serveTLSOn(t, engine, &httpraw.Responder{})
			out, _ := exec.Command(h2spec, "-t", "-k", "-h", "127.0.0.1", "-p", port(addr), "-o", "5").CombinedOutput()
			checkH2SpecAll(t, out)
		})
	}
}

// TestCurlHTTP2OverTLS: curl negotiates h2 by ALPN with the responder,
// gets the file whole, and a redirect names https; curl --http1.1 on the
// same port gets HTTP/1.1.
func TestCurlHTTP2OverTLS(t *testing.T) {
	curl := sockittest.RequireTool(t, "curl")
	_, root, big := filesRoot(t)
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr, certFile := serveTLSOn(t, engine, &httpraw.Responder{Root: root})
			base := "https://localhost:" + port(addr)
			resolve := "localhost:" + port(addr) + ":127.0.0.1"
			run := func(args ...string) []byte {
				t.Helper()
				args = append([]string{"-sS", "--max-time", "20", "--cacert", certFile, "--resolve", resolve}, args...)
				out, err := exec.Command(curl, args...).Output()
				if err != nil {
					t.Fatalf("curl %v: %v", args, err)
				}
				return out
			}
			if got := run("--http2", "-o", "/dev/null", "-w", "%{http_version}", base+"/a.txt"); string(got) != "2" {
				t.Errorf("curl --http2: HTTP version %q, want 2", got)
			}
			if got := run("--http2", base+"/big.bin"); !bytes.Equal(got, big) {
				t.Errorf("curl --http2 big.bin: %d bytes, want %d the same", len(got), len(big))
			}
			head := string(run("--http2", "-sI", base+"/sub"))
			if !strings.HasPrefix(head, "HTTP/2 301") || !strings.Contains(head, "location: "+base+"/sub/\r\n") {
				t.Errorf("curl --http2 -I /sub:\n%s\nwant 301 to %s/sub/", head, base)
			}
			if got := run("--http1.1", "-o", "/dev/null", "-w", "%{http_version}", base+"/a.txt"); string(got) != "1.1" {
				t.Errorf("curl --http1.1: HTTP version %q, want 1.1", got)
			}
		})
	}
}

// TestALPNh2WithoutPreface: a client that chose h2 by ALPN and then
// speaks HTTP/1.1 is closed with nothing sent (RFC 9113 §3.4).
func TestALPNh2WithoutPreface(t *testing.T) {
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr, _ := serveTLSOn(t, engine, &httpraw.Responder{})
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
				&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if p := c.ConnectionState().NegotiatedProtocol; p != "h2" {
				t.Fatalf("ALPN chose %q, want h2", p)
			}
			c.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			got, err := io.ReadAll(c)
			if len(got) != 0 || err != nil {
				t.Errorf("HTTP/1.1 after ALPN h2: got %q, %v; want a close with nothing sent", got, err)
			}
		})
	}
}
