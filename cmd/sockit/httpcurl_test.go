package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
	for _, args := range [][]string{{"head", "-v"}, {"get", "-v", "--raw"}, {"get", "-v", "-o", "-"}} {
		r := sockitRun(t, "", append(args, base+"/")...)
		if n := strings.Count(r.stdout+r.stderr, "HTTP/1.1 200 OK"); n != 1 || r.code != 0 {
			t.Errorf("%v: exit %d, the status line %d times: %q %q", args, r.code, n, r.stdout, r.stderr)
		}
	}
	if want := "* Connected to 127.0.0.1 (127.0.0.1) port " + srv[strings.LastIndex(srv, ":")+1:]; !strings.Contains(r.stderr, want) {
		t.Errorf("-v: no %q in %q", want, r.stderr)
	}
	// -v's last line (issue 22 point 13): curl's cumulative times, named
	// as -w names them, so each is at least the one before.
	var dns, conn, app, first, total float64
	var size int
	i := strings.Index(r.stderr, "* time_namelookup ")
	if i < 0 {
		t.Errorf("-v: no times in %q", r.stderr)
	} else if n, err := fmt.Sscanf(r.stderr[i:], "* time_namelookup %f time_connect %f time_appconnect %f time_starttransfer %f time_total %f, %d body bytes",
		&dns, &conn, &app, &first, &total, &size); n != 6 || !(dns <= conn && app == 0 && conn <= first && first <= total) || size != 5 {
		t.Errorf("-v: times %q (%v)", r.stderr[i:], err)
	}

	// -w @FILE; a --compressed body that is not gzip is curl's 61, in curl's words.
	wf := filepath.Join(t.TempDir(), "w")
	os.WriteFile(wf, []byte(`%{http_code} %{size_download} %{method}\n`), 0o644)
	if r := sockitRun(t, "", "get", "-s", "-o", "/dev/null", "-w", "@"+wf, base+"/"); r.code != 0 || r.stdout != "200 5 GET\n" {
		t.Errorf("-w @FILE: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	notGzip, _ := sockittest.ScriptedHTTP(t, nil, func(*sockittest.HTTPRequest) string {
		return "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello"
	})
	// curl 7.88 against the same server: "curl: (61) Error while
	// processing content unencoding: incorrect header check".
	if r := sockitRun(t, "", "get", "--compressed", "-o", "-", "http://"+notGzip+"/"); r.code != exitBadEncoding ||
		!strings.HasSuffix(r.stderr, ": error while processing content unencoding: incorrect header check\n") {
		t.Errorf("--compressed, not gzip: exit %d %q", r.code, r.stderr)
	}
	if q := reqs(); len(q) > 0 {
		if _, has := q[len(q)-1].Get("Accept-Encoding"); has {
			t.Errorf("Accept-Encoding sent without --compressed")
		}
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

// TestGetAgainstNginxTimingsRetry: -w's phase times are ordered; --retry
// retries a 503 (Retry-After honoured) and nothing else; -s/-S; -w after
// a failure prints what curl prints.
func TestGetAgainstNginxTimingsRetry(t *testing.T) {
	curl := sockittest.RequireTool(t, "curl")
	plain, tlsPort, sock, cert := startNginx(t)
	base := "http://127.0.0.1:" + strconv.Itoa(plain)
	tlsBase := "https://localhost:" + strconv.Itoa(tlsPort)
	times := "%{time_namelookup} %{time_connect} %{time_appconnect} %{time_starttransfer} %{time_total}"
	for _, url := range []string{base + "/big.bin", tlsBase + "/big.bin"} {
		r := sockitRun(t, "", "get", "-s", "-o", "/dev/null", "--cacert", cert, "-w", times, url)
		var dns, conn, app, first, total float64
		if n, err := fmt.Sscanf(r.stdout, "%f %f %f %f %f", &dns, &conn, &app, &first, &total); r.code != 0 || n != 5 {
			t.Fatalf("%s: exit %d %q: %v", url, r.code, r.stdout, err)
		}
		tls := strings.HasPrefix(url, "https")
		if !(0 <= dns && dns <= conn && conn > 0 && first > conn && first <= total) || tls != (app > conn) || !tls && app != 0 || tls && app >= first {
			t.Errorf("%s: times out of order: %s", url, r.stdout)
		}
	}

	accessLog := filepath.Join(filepath.Dir(sock), "access.log")
	busyHits := func() int {
		b, _ := os.ReadFile(accessLog)
		return strings.Count(string(b), "GET /busy ")
	}
	r := sockitRun(t, "", "get", "--retry", "2", base+"/busy")
	if r.code != 0 || !strings.Contains(r.stdout, "503 Service Temporarily Unavailable") || strings.Count(r.stderr, "will retry in 0s") != 2 {
		t.Errorf("--retry 2 on 503: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	sockittest.Eventually(t, 5*time.Second, "3 requests for /busy in nginx's log", func() bool { return busyHits() == 3 })
	if r := sockitRun(t, "", "get", "-f", "--retry", "1", base+"/busy"); r.code != exitHTTPFail || r.stdout != "" {
		t.Errorf("-f --retry 1 on 503: exit %d %q", r.code, r.stdout)
	}
	sockittest.Eventually(t, 5*time.Second, "2 more requests for /busy", func() bool { return busyHits() == 5 })
	if r := sockitRun(t, "", "get", "--retry", "3", base+"/nope"); r.code != 0 || strings.Contains(r.stderr, "retry") {
		t.Errorf("--retry on a 404: exit %d %q", r.code, r.stderr)
	}

	refused := "http://127.0.0.1:" + strconv.Itoa(sockittest.FreePort(t)) + "/"
	if r := sockitRun(t, "", "get", "-s", refused); r.code != exitConnect || r.stderr != "" {
		t.Errorf("-s: exit %d %q", r.code, r.stderr)
	}
	if r := sockitRun(t, "", "get", "-sS", refused); r.code != exitConnect || !strings.Contains(r.stderr, "connection refused") {
		t.Errorf("-sS: exit %d %q", r.code, r.stderr)
	}
	r = sockitRun(t, "", "get", "-s", "-w", writeOutVars, refused)
	want, _ := exec.Command(curl, "-s", "-w", writeOutVars, refused).Output()
	if r.stdout != string(want) {
		t.Errorf("-w after a refused connection: sockit %q, curl %q", r.stdout, want)
	}
}

// TestGetRefusesBinaryOnTerminal runs sockit with a pseudo-terminal as
// stdout: a body with a NUL is refused (23) unless -o - asks for it.
func TestGetRefusesBinaryOnTerminal(t *testing.T) {
	ptmx, tty := openPTY(t)
	go io.Copy(io.Discard, ptmx) // the terminal's reader; ends when ptmx closes
	srv, _ := sockittest.ScriptedHTTP(t, nil, func(r *sockittest.HTTPRequest) string {
		if r.Target == "/text" {
			return "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\x00\x01\x02\x03"
	})
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"get", "http://" + srv + "/bin"}, exitWrite},
		{[]string{"get", "-o", "-", "http://" + srv + "/bin"}, 0},
		{[]string{"get", "http://" + srv + "/text"}, 0},
	} {
		cmd := exec.Command(os.Args[0], tc.args...)
		cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
		cmd.Stdout = tty
		var stderr strings.Builder
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.code || (code == exitWrite) != strings.Contains(stderr.String(), "binary output can mess up your terminal") {
			t.Errorf("%v on a terminal: exit %d %q", tc.args, code, stderr.String())
		}
	}
}
