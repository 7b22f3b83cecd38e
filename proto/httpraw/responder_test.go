package httpraw_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/httpraw"
)

// serveHTTP runs the responder on 127.0.0.1:0 and returns its address.
func serveHTTP(t *testing.T, r *httpraw.Responder) string {
	t.Helper()
	return serveOn(t, "", r)
}

// exchange writes raw request bytes and reads n responses with the
// package's own reader.
func exchange(t *testing.T, addr, req string, n int, method string) ([]*httpraw.Response, []string, bool) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	rd := httpraw.NewReader(c)
	var resps []*httpraw.Response
	var bodies []string
	for range n {
		resp, err := rd.ReadResponse(method)
		if err != nil {
			t.Fatalf("response %d: %v", len(resps)+1, err)
		}
		var b strings.Builder
		if _, err := rd.Body(resp, &b, 0); err != nil {
			t.Fatal(err)
		}
		resps, bodies = append(resps, resp), append(bodies, b.String())
	}
	// Is the connection closed now? (A kept-alive one stays silent.)
	c.SetDeadline(time.Now().Add(300 * time.Millisecond))
	_, err = bufio.NewReader(c).ReadByte()
	return resps, bodies, err == io.EOF
}

func TestResponder(t *testing.T) {
	addr := serveHTTP(t, &httpraw.Responder{})
	page := string(httpraw.Page())
	tests := []struct {
		name, req, method string
		n                 int
		status            []int
		closed            bool
	}{
		{"brief's HEAD", "HEAD / HTTP/1.1\r\nHost: webcode.me\r\nAccept: text/html\r\n\r\n", "HEAD", 1, []int{200}, false},
		{"brief's GET with close", "GET / HTTP/1.1\r\nHost: webcode.me\r\nAccept: text/html\r\nConnection: close\r\n\r\n", "GET", 1, []int{200}, true},
		{"pipelined keep-alive", "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /index.html HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "GET", 3, []int{200, 200, 404}, true},
		{"HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n", "GET", 1, []int{200}, true},
		{"HTTP/1.0 keep-alive (ab -k)", "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\nGET / HTTP/1.0\r\n\r\n", "GET", 2, []int{200, 200}, true},
		{"POST is 405", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "GET", 2, []int{405, 200}, true},
		{"no Host is 400", "GET / HTTP/1.1\r\n\r\n", "GET", 1, []int{400}, true},
		{"garbage is 400", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", "GET", 1, []int{400}, true},
		{"bare LF request", "GET / HTTP/1.1\nHost: a\nConnection: close\n\n", "GET", 1, []int{200}, true},
		{"leading CRLF ignored", "\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "GET", 1, []int{200}, true},
		{"chunked request body read and dropped", "GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", "GET", 2, []int{200, 404}, true},
		{"request TE with CL is 400", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\nTransfer-Encoding:\r\n\r\n", "GET", 1, []int{400}, true},
		{"huge head is 431", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n", "GET", 1, []int{431}, true},
		{"too many headers is 431", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n", "GET", 1, []int{431}, true},
		{"traversal is 400", "GET /../../etc/passwd HTTP/1.1\r\nHost: a\r\n\r\n", "GET", 1, []int{400}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resps, bodies, closed := exchange(t, addr, tt.req, tt.n, tt.method)
			for i, r := range resps {
				if r.Status != tt.status[i] {
					t.Errorf("response %d: status %d, want %d", i+1, r.Status, tt.status[i])
				}
				for _, h := range []string{"Date", "Content-Length", "Server"} {
					if _, ok := r.Header.Get(h); !ok {
						t.Errorf("response %d lacks %s", i+1, h)
					}
				}
				if r.Status == 200 {
					if ct, _ := r.Header.Get("Content-Type"); ct != "text/html" {
						t.Errorf("Content-Type %q", ct)
					}
					if _, ok := r.Header.Get("ETag"); !ok {
						t.Error("no ETag")
					}
					if _, ok := r.Header.Get("Last-Modified"); !ok {
						t.Error("no Last-Modified")
					}
					if tt.method == "GET" && bodies[i] != page {
						t.Errorf("body is not the brief's page: %q", bodies[i])
					}
				}
			}
			if closed != tt.closed {
				t.Errorf("connection closed = %v, want %v", closed, tt.closed)
			}
		})
	}
}

func TestResponderConditionalAndRoot(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("file a\n"), 0o644)
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "index.html"), []byte("<p>sub</p>"), 0o644)
	outside := filepath.Join(filepath.Dir(dir), "outside-secret")
	os.WriteFile(outside, []byte("secret"), 0o644)
	defer os.Remove(outside)
	os.Symlink(outside, filepath.Join(dir, "link"))
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	addr := serveHTTP(t, &httpraw.Responder{Root: root})

	resps, bodies, _ := exchange(t, addr, "GET /a.txt HTTP/1.1\r\nHost: a\r\n\r\nGET /sub/ HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nGET /link HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", 4, "GET")
	if resps[0].Status != 200 || bodies[0] != "file a\n" {
		t.Errorf("/a.txt: %d %q", resps[0].Status, bodies[0])
	}
	if ct, _ := resps[0].Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Errorf("/a.txt Content-Type %q", ct)
	}
	if bodies[1] != "<p>sub</p>" {
		t.Errorf("/sub/: %q", bodies[1])
	}
	if bodies[2] != string(httpraw.Page()) {
		t.Errorf("/ without index.html should be the brief's page")
	}
	if resps[3].Status != 404 || strings.Contains(bodies[3], "secret") {
		t.Errorf("a symlink out of the root was followed: %d %q", resps[3].Status, bodies[3])
	}
	etag, _ := resps[0].Header.Get("ETag")
	resps, bodies, _ = exchange(t, addr, "GET /a.txt HTTP/1.1\r\nHost: a\r\nIf-None-Match: "+etag+"\r\nConnection: close\r\n\r\n", 1, "GET")
	if resps[0].Status != 304 || bodies[0] != "" {
		t.Errorf("If-None-Match: %d %q", resps[0].Status, bodies[0])
	}
}

// TestClientKeepAliveAgainstResponder: the client reuses one connection
// for several requests.
func TestClientKeepAliveAgainstResponder(t *testing.T) {
	addr := serveHTTP(t, &httpraw.Responder{})
	c := &httpraw.Client{}
	defer c.Close()
	for i := range 5 {
		u, _ := httpraw.ParseURL("http://" + addr + "/")
		ex, err := c.Do(context.Background(), &httpraw.Request{Method: "GET", URL: u}, io.Discard, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Timings.Reused != (i > 0) {
			t.Errorf("request %d: reused = %v", i, ex.Timings.Reused)
		}
	}
}
