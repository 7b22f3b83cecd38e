package httpraw_test

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/sockittest"
)

// TestH2ClientNginx: the client reaches nginx over h2c with prior
// knowledge — files, an 8 MiB one through nginx's windows, a range, HEAD,
// 404 — all as streams of one connection, each answer as over HTTP/1.1.
func TestH2ClientNginx(t *testing.T) {
	dir, _, big := filesRoot(t)
	addr := sockittest.NginxListen(t, "http2", "\t\troot "+dir+";")
	c := &httpraw.Client{HTTPVersion: httpraw.HTTP2PriorKnowledge}
	defer c.Close()
	h1 := &httpraw.Client{}
	defer h1.Close()
	for i, tc := range []struct {
		method, path string
		fields       []string
		status       int
		body         []byte
	}{
		{"GET", "/a.txt", nil, 200, []byte("0123456789")},
		{"GET", "/big.bin", nil, 200, big},
		{"GET", "/big.bin", []string{"Range", "bytes=1000000-1000009"}, 206, big[1000000:1000010]},
		{"HEAD", "/a.txt", nil, 200, []byte{}},
		{"GET", "/nope", nil, 404, nil},
	} {
		ex, body, err := h2get(t, c, tc.method, "http://"+addr+tc.path, tc.fields...)
		if err != nil {
			t.Fatalf("%s %s: %v", tc.method, tc.path, err)
		}
		r := ex.Response
		if r.Proto != "HTTP/2" || r.Status != tc.status || tc.body != nil && !bytes.Equal(body, tc.body) || ex.Timings.Reused != (i > 0) {
			t.Fatalf("%s %s: %s %d, %d bytes, reused %v", tc.method, tc.path, r.Proto, r.Status, len(body), ex.Timings.Reused)
		}
		ex1, body1, err := h2get(t, h1, tc.method, "http://"+addr+tc.path, tc.fields...)
		if err == nil {
			// nginx's listen ... http2 speaks HTTP/2 only.
			t.Fatalf("HTTP/1.1 to nginx's h2c port: %+v, %d bytes", ex1.Response, len(body1))
		}
	}
}

// nginxTLS runs nginx serving dir over TLS with h2 and http/1.1 offered
// by ALPN, and returns its address and a client TLS configuration
// trusting its certificate.
func nginxTLS(t *testing.T, dir string) (string, *tls.Config, string) {
	t.Helper()
	cert, key := sockittest.SelfSignedCert(t, t.TempDir())
	addr := sockittest.NginxListen(t, "ssl http2", "\t\troot "+dir+";\n\t\tssl_certificate "+cert+";\n\t\tssl_certificate_key "+key+";")
	pem, err := os.ReadFile(cert)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return addr, &tls.Config{RootCAs: pool}, cert
}

// TestH2ClientALPN: over TLS the client offers h2 and http/1.1 and speaks
// what nginx picks (h2), as curl does by default; HTTP1 offers http/1.1
// alone and gets it; several URLs share the h2 connection.
func TestH2ClientALPN(t *testing.T) {
	dir, _, big := filesRoot(t)
	addr, cfg, _ := nginxTLS(t, dir)
	for _, tc := range []struct {
		version httpraw.HTTPVersion
		proto   string
		offers  string
	}{
		{httpraw.HTTPAuto, "HTTP/2", "ALPN: offers h2,http/1.1"},
		{httpraw.HTTP2, "HTTP/2", "ALPN: offers h2,http/1.1"},
		{httpraw.HTTP2PriorKnowledge, "HTTP/2", "ALPN: offers h2,http/1.1"},
		{httpraw.HTTP1, "HTTP/1.1", "ALPN: offers http/1.1"},
	} {
		var info []string
		c := &httpraw.Client{HTTPVersion: tc.version, TLS: cfg, OnInfo: func(s string) { info = append(info, s) }}
		for i, path := range []string{"/a.txt", "/big.bin", "/a.txt"} {
			ex, body, err := h2get(t, c, "GET", "https://localhost:"+port(addr)+path, "Host", "localhost")
			if err != nil {
				c.Close()
				t.Fatalf("%v %s: %v", tc.version, path, err)
			}
			want := []byte("0123456789")
			if path == "/big.bin" {
				want = big
			}
			if ex.Response.Proto != tc.proto || !bytes.Equal(body, want) || ex.Timings.Reused != (i > 0) {
				t.Errorf("%v %s: %s, %d bytes, reused %v", tc.version, path, ex.Response.Proto, len(body), ex.Timings.Reused)
			}
		}
		c.Close()
		all := strings.Join(info, "\n")
		accepted := "ALPN: server accepted " + map[string]string{"HTTP/2": "h2", "HTTP/1.1": "http/1.1"}[tc.proto]
		if !strings.Contains(all, tc.offers) || !strings.Contains(all, accepted) {
			t.Errorf("%v: info\n%s", tc.version, all)
		}
	}
}

func port(addr string) string {
	_, p, _ := net.SplitHostPort(addr)
	return p
}

// TestH2ClientLikeCurl: the head the client shows for an h2 response is
// what curl -i --http2 prints for it, byte for byte (but the Date), and
// the body the same.
func TestH2ClientLikeCurl(t *testing.T) {
	curl := sockittest.RequireTool(t, "curl")
	dir, _, _ := filesRoot(t)
	addr, cfg, cert := nginxTLS(t, dir)
	u := "https://localhost:" + port(addr) + "/a.txt"
	out, err := exec.Command(curl, "-sS", "-i", "--http2", "--cacert", cert, "--resolve", "localhost:"+port(addr)+":127.0.0.1", u).Output()
	if err != nil {
		t.Fatalf("curl: %v", err)
	}
	c := &httpraw.Client{TLS: cfg, Resolve: map[string]string{"localhost:" + port(addr): "127.0.0.1"}}
	defer c.Close()
	ex, body, err := h2get(t, c, "GET", u)
	if err != nil {
		t.Fatal(err)
	}
	date := regexp.MustCompile(`(?m)^date: .*\r\n`)
	ours := date.ReplaceAllString(string(ex.Response.Head)+string(body), "")
	theirs := date.ReplaceAllString(string(out), "")
	if ours != theirs {
		t.Fatalf("sockit:\n%q\ncurl:\n%q", ours, theirs)
	}
}

// TestH2ClientUpload: a request body larger than every initial window
// goes out as the server's WINDOW_UPDATEs allow (x/net/http2's h2c server
// reads it and answers with its length and digest).
func TestH2ClientUpload(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close()
	srv := &http2.Server{MaxUploadBufferPerStream: 16 << 10, MaxUploadBufferPerConnection: 32 << 10}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Proto", r.Proto)
		io.WriteString(w, strconv.Itoa(len(b))+" "+strconv.Itoa(int(sum(b))))
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() { defer wg.Done(); srv.ServeConn(c, &http2.ServeConnOpts{Handler: handler}) }()
		}
	}()
	body := sockittest.RandomBytes(3<<20, 3)
	u, _ := httpraw.ParseURL("http://" + ln.Addr().String() + "/up")
	c := &httpraw.Client{HTTPVersion: httpraw.HTTP2PriorKnowledge}
	defer c.Close()
	for range 2 {
		var got bytes.Buffer
		ex, err := c.Do(t.Context(), &httpraw.Request{Method: "POST", URL: u, Body: body}, &got, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := ex.Response.Header.Get("x-proto"); p != "HTTP/2.0" || got.String() != strconv.Itoa(len(body))+" "+strconv.Itoa(int(sum(body))) {
			t.Fatalf("%s: %q", p, got.String())
		}
	}
}

func sum(b []byte) uint32 {
	var s uint32
	for _, c := range b {
		s = s*31 + uint32(c)
	}
	return s
}

// TestH2ClientUpgrade: --http2 in cleartext asks a new connection's first
// request to upgrade to h2c; a server that agrees (x/net's h2c handler)
// answers 101 and the response on stream 1, shown after the 101 as curl
// shows them, and the next request is stream 3 of the same connection; a
// server that does not (the responder) answers over HTTP/1.1.
func TestH2ClientUpgrade(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: h2c.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto+" "+r.URL.Path)
	}), &http2.Server{})}
	done := make(chan struct{})
	go func() { defer close(done); hs.Serve(ln) }()
	defer func() { hs.Close(); <-done }()

	var info []string
	c := &httpraw.Client{HTTPVersion: httpraw.HTTP2, OnInfo: func(s string) { info = append(info, s) }}
	defer c.Close()
	for i, path := range []string{"/one", "/two"} {
		ex, body, err := h2get(t, c, "GET", "http://"+ln.Addr().String()+path)
		if err != nil {
			t.Fatal(err)
		}
		r := ex.Response
		// The upgraded request came as HTTP/1.1; the next as HTTP/2.
		want := map[int]string{0: "HTTP/1.1 ", 1: "HTTP/2.0 "}[i] + path
		if r.Proto != "HTTP/2" || string(body) != want || ex.Timings.Reused != (i > 0) {
			t.Fatalf("%s: %s %d %q reused %v", path, r.Proto, r.Status, body, ex.Timings.Reused)
		}
		if i == 0 && (len(r.Interim) != 1 || r.Interim[0].Status != 101 || !strings.HasPrefix(string(r.Head), "HTTP/1.1 101 Switching Protocols\r\n") || !strings.Contains(string(r.Head), "\r\n\r\nHTTP/2 200 \r\n")) {
			t.Fatalf("upgraded head %q", r.Head)
		}
	}
	if all := strings.Join(info, "\n"); !strings.Contains(all, "upgraded to HTTP/2 (h2c)") || !strings.Contains(all, "[HTTP/2] [3] OPENED stream") {
		t.Errorf("info:\n%s", all)
	}

	addr := serveOn(t, "", &httpraw.Responder{})
	c2 := &httpraw.Client{HTTPVersion: httpraw.HTTP2}
	defer c2.Close()
	ex, body, err := h2get(t, c2, "GET", "http://"+addr+"/")
	if err != nil || ex.Response.Proto != "HTTP/1.1" || ex.Response.Status != 200 || !bytes.Equal(body, httpraw.Page()) {
		t.Fatalf("the responder, which does not upgrade: %v %+v", err, ex.Response)
	}
}
