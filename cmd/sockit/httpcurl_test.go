package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/sockit/sockit/sockittest"
)

func ok200(body string) func(*sockittest.HTTPRequest) string {
	return func(*sockittest.HTTPRequest) string {
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
}

func redirectTo(loc string) func(*sockittest.HTTPRequest) string {
	return func(r *sockittest.HTTPRequest) string {
		if strings.HasPrefix(r.Target, "/end") {
			return ok200("done")(r)
		}
		return "HTTP/1.1 302 Found\r\nLocation: " + loc + "\r\nContent-Length: 0\r\n\r\n"
	}
}

// TestGetRedirectCredentials: -L never hands credentials to another
// origin (another port on the same host here) unless --location-trusted.
func TestGetRedirectCredentials(t *testing.T) {
	other, otherReqs := sockittest.ScriptedHTTP(t, nil, ok200("other"))
	first, firstReqs := sockittest.ScriptedHTTP(t, nil, redirectTo("http://"+other+"/end"))
	creds := []string{"-H", "Authorization: Bearer x", "-H", "Cookie: a=b", "-H", "Proxy-Authorization: Basic eA=="}
	for _, tc := range []struct {
		flag    string
		url     string
		forward bool
	}{
		{"-L", "http://" + first + "/", false},
		{"-L", "http://u:pw@" + first + "/", false},
		{"--location-trusted", "http://" + first + "/", true},
	} {
		r := sockitRun(t, "", append(append([]string{"get", tc.flag}, creds...), tc.url)...)
		if r.code != 0 || !strings.HasSuffix(r.stdout, "other") {
			t.Fatalf("%s %s: exit %d %q %q", tc.flag, tc.url, r.code, r.stdout, r.stderr)
		}
		fr, or := firstReqs(), otherReqs()
		for _, h := range []string{"Authorization", "Cookie", "Proxy-Authorization"} {
			if _, has := fr[len(fr)-1].Get(h); !has {
				t.Errorf("%s: the first origin did not get %s", tc.flag, h)
			}
			if v, has := or[len(or)-1].Get(h); has != tc.forward {
				t.Errorf("%s %s: the other origin got %s=%q (has %v)", tc.flag, tc.url, h, v, has)
			}
		}
	}
	// The URL's user:password, -u and -H all stay on a same-origin redirect.
	same, sameReqs := sockittest.ScriptedHTTP(t, nil, redirectTo("/end"))
	if r := sockitRun(t, "", "get", "-L", "http://u:pw@"+same+"/"); r.code != 0 {
		t.Fatalf("same origin: %d %q", r.code, r.stderr)
	}
	for _, req := range sameReqs() {
		if v, _ := req.Get("Authorization"); v != "Basic dTpwdw==" {
			t.Errorf("same origin %s: Authorization %q", req.Target, v)
		}
	}
	// curl's --max-redirs default is 50; one more exits 47.
	loop, loopReqs := sockittest.ScriptedHTTP(t, nil, redirectTo("/again"))
	if r := sockitRun(t, "", "get", "-L", "http://"+loop+"/"); r.code != exitRedirects || len(loopReqs()) != 51 {
		t.Errorf("endless redirects: exit %d after %d requests: %q", r.code, len(loopReqs()), r.stderr)
	}
	if r := sockitRun(t, "", "get", "-L", "--max-redirs", "2", "http://"+loop+"/"); r.code != exitRedirects || !strings.Contains(r.stderr, "more than 2") {
		t.Errorf("--max-redirs 2: exit %d %q", r.code, r.stderr)
	}
}

// failingWriter is a stdout whose reader went away.
type failingWriter struct{}

func (failingWriter) Write(p []byte) (int, error) { return 0, errors.New("broken pipe") }

// TestGetCurlHabits: curl's exit statuses and defaults, one by one.
func TestGetCurlHabits(t *testing.T) {
	srv, reqs := sockittest.ScriptedHTTP(t, nil, func(r *sockittest.HTTPRequest) string {
		switch r.Target {
		case "/missing":
			return "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot here!"
		case "/binary":
			return "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\x00\x01\x02\x03"
		case "/chunked":
			return "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n5\r\nworld\r\n0\r\n\r\n"
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	})
	base := "http://" + srv
	last := func() *sockittest.HTTPRequest { rs := reqs(); return rs[len(rs)-1] }

	// Write error: 23.
	var o, e strings.Builder
	if code := run(t.Context(), []string{"get", base + "/"}, strings.NewReader(""), failingWriter{}, &e); code != exitWrite {
		t.Errorf("broken stdout: exit %d %q", code, e.String())
	}
	if code := run(t.Context(), []string{"head", base + "/"}, strings.NewReader(""), failingWriter{}, &o); code != exitWrite {
		t.Errorf("broken stdout, head: exit %d %q", code, o.String())
	}

	// -o - is stdout, the body alone.
	if r := sockitRun(t, "", "get", "-o", "-", base+"/"); r.code != 0 || r.stdout != "hello" {
		t.Errorf("-o -: %d %q", r.code, r.stdout)
	}
	if _, err := os.Stat("-"); err == nil {
		t.Errorf("-o - made a file named -")
	}

	// -d: POST, form-encoded; -X verbatim.
	if r := sockitRun(t, "", "get", "-d", "a=1", "-d", "b=2", base+"/"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if q := last(); q.Method != "POST" || string(q.Body) != "a=1&b=2" {
		t.Errorf("-d: %s %q", q.Method, q.Body)
	} else if ct, _ := q.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("-d: Content-Type %q", ct)
	}
	if sockitRun(t, "", "get", "-X", "post", base+"/"); last().Method != "post" {
		t.Errorf("-X post sent as %q", last().Method)
	}

	// -f: only the error line, exit 22.
	if r := sockitRun(t, "", "get", "-f", base+"/missing"); r.code != exitHTTPFail || r.stdout != "" ||
		!strings.Contains(r.stderr, "(22) The requested URL returned error: 404") {
		t.Errorf("-f: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}

	// user:pw in the URL is Basic authentication.
	if sockitRun(t, "", "get", "http://al%40ice:s%3Acret@"+srv+"/"); true {
		if v, _ := last().Get("Authorization"); v != "Basic "+"YWxAaWNlOnM6Y3JldA==" {
			t.Errorf("userinfo: Authorization %q", v)
		}
	}

	// Several URLs: a failure does not stop the rest; the last failure is the exit status.
	refused := "http://127.0.0.1:" + strconv.Itoa(sockittest.FreePort(t)) + "/"
	if r := sockitRun(t, "", "get", "-o", "-", refused, base+"/", base+"/missing"); r.code != exitConnect || r.stdout != "hellonot here!" {
		t.Errorf("refused, ok, 404: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if r := sockitRun(t, "", "get", "-f", "-o", "-", base+"/missing", refused, base+"/"); r.code != exitConnect || r.stdout != "hello" {
		t.Errorf("404 -f, refused, ok: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	// -v: the head once (on stderr), and where it connected.
	r := sockitRun(t, "", "get", "-v", base+"/")
	if n := strings.Count(r.stdout+r.stderr, "HTTP/1.1 200 OK"); n != 1 || r.stdout != "hello" {
		t.Errorf("-v: the status line %d times; stdout %q", n, r.stdout)
	}
	if want := "* Connected to 127.0.0.1 (127.0.0.1) port " + srv[strings.LastIndex(srv, ":")+1:]; !strings.Contains(r.stderr, want) {
		t.Errorf("-v: no %q in %q", want, r.stderr)
	}

	// head -o FILE writes the head there (as curl -I -o); a refused
	// --max-bytes leaves no file, whether told by Content-Length or found
	// in the middle of a chunked body.
	dir := t.TempDir()
	hf := filepath.Join(dir, "head")
	if r := sockitRun(t, "", "head", "-o", hf, base+"/"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if b, _ := os.ReadFile(hf); !strings.HasPrefix(string(b), "HTTP/1.1 200 OK\r\n") {
		t.Errorf("head -o: file holds %q", b)
	}
	for _, path := range []string{"/", "/chunked"} {
		mf := filepath.Join(dir, "max"+strings.TrimPrefix(path, "/"))
		if r := sockitRun(t, "", "get", "--max-bytes", "3", "-o", mf, base+path); r.code != exitTooLarge {
			t.Errorf("--max-bytes %s: exit %d %q", path, r.code, r.stderr)
		}
		if _, err := os.Stat(mf); err == nil {
			t.Errorf("--max-bytes %s left %s behind", path, mf)
		}
	}
	// An empty body still makes its (empty) file.
	ef := filepath.Join(dir, "empty")
	empty, _ := sockittest.ScriptedHTTP(t, nil, ok200(""))
	if r := sockitRun(t, "", "get", "-o", ef, "http://"+empty+"/"); r.code != 0 {
		t.Fatal(r.stderr)
	}
	if st, err := os.Stat(ef); err != nil || st.Size() != 0 {
		t.Errorf("empty body: %v", err)
	}
}

// TestGetTLSExitStatuses: an untrusted certificate is 60, a handshake
// with something that does not speak TLS 35.
func TestGetTLSExitStatuses(t *testing.T) {
	dir := t.TempDir()
	cert, key := sockittest.SelfSignedCert(t, dir)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sockittest.ScriptedHTTP(t, &tls.Config{Certificates: []tls.Certificate{pair}}, ok200("secure"))
	if r := sockitRun(t, "", "get", "https://"+srv+"/"); r.code != exitPeerCert {
		t.Errorf("unknown CA: exit %d %q", r.code, r.stderr)
	}
	if r := sockitRun(t, "", "get", "--cacert", cert, "-o", "-", "https://"+srv+"/"); r.code != 0 || r.stdout != "secure" {
		t.Errorf("--cacert: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o644)
	if r := sockitRun(t, "", "get", "--cacert", notPEM, "https://"+srv+"/"); r.code != exitCACert {
		t.Errorf("--cacert without certificates: exit %d %q", r.code, r.stderr)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var served atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			served.Add(1)
			c.Write([]byte("SSH-2.0-not-tls\r\n"))
			c.Close()
		}
	}()
	defer func() { ln.Close(); <-done }()
	if r := sockitRun(t, "", "get", "https://"+ln.Addr().String()+"/"); r.code != exitTLS || served.Load() == 0 {
		t.Errorf("not TLS: exit %d %q", r.code, r.stderr)
	}
}
