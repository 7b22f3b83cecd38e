package httpraw_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// clock is a settable clock for the responder's cache.
type clock struct{ ns atomic.Int64 }

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

// filesRoot makes a document root: a small file, a directory with an
// index, and an 8 MiB file (above the cache's per-file bound).
func filesRoot(t *testing.T) (dir string, root *os.Root, big []byte) {
	t.Helper()
	dir = t.TempDir()
	big = sockittest.RandomBytes(8<<20, 7)
	for name, data := range map[string][]byte{
		"a.txt":          []byte("0123456789"),
		"sub/index.html": []byte("<p>sub</p>"),
		"big.bin":        big,
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return dir, root, big
}

// serveOn runs r on 127.0.0.1:0 over one engine.
func serveOn(t *testing.T, engine string, r *httpraw.Responder) string {
	t.Helper()
	srv := server.New(server.Config{Engine: engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return sockittest.Serve(t, srv, "tcp", httpraw.Service(r)).String()
}

// rawResponse is one response as read off the wire by the package reader.
type rawResponse struct {
	status int
	header map[string]string
	body   []byte
}

// roundTrips sends each request on one kept-alive connection and reads
// each answer (HEAD for requests starting "HEAD").
func roundTrips(t *testing.T, addr string, reqs ...string) []rawResponse {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(20 * time.Second))
	rd := httpraw.NewReader(c)
	var out []rawResponse
	for _, req := range reqs {
		if _, err := io.WriteString(c, req); err != nil {
			t.Fatal(err)
		}
		method, _, _ := strings.Cut(req, " ")
		resp, err := rd.ReadResponse(method)
		if err != nil {
			t.Fatalf("%q: %v", strings.SplitN(req, "\r\n", 2)[0], err)
		}
		var b bytes.Buffer
		if _, err := rd.Body(resp, &b, 0); err != nil {
			t.Fatal(err)
		}
		h := map[string]string{}
		for _, name := range []string{"Content-Length", "Content-Range", "Content-Type", "Location", "Accept-Ranges", "ETag", "Last-Modified"} {
			if v, ok := resp.Header.Get(name); ok {
				h[name] = v
			}
		}
		out = append(out, rawResponse{resp.Status, h, b.Bytes()})
	}
	return out
}

func getReq(path string, fields ...string) string {
	return "GET " + path + " HTTP/1.1\r\nHost: a\r\n" + strings.Join(fields, "") + "\r\n"
}

// TestResponderFiles: files from memory and from sendfile(2), ranges,
// conditional requests and nginx's redirect for a directory, on every
// engine.
func TestResponderFiles(t *testing.T) {
	_, root, big := filesRoot(t)
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr := serveOn(t, engine, &httpraw.Responder{Root: root})
			r := roundTrips(t, addr, getReq("/a.txt"), getReq("/big.bin"), getReq("/sub"), getReq("/sub/"), getReq("/a.txt/"))
			if r[0].status != 200 || string(r[0].body) != "0123456789" || r[0].header["Accept-Ranges"] != "bytes" {
				t.Errorf("/a.txt: %d %q %v", r[0].status, r[0].body, r[0].header)
			}
			if r[1].status != 200 || !bytes.Equal(r[1].body, big) {
				t.Errorf("/big.bin: %d, %d bytes, equal %v", r[1].status, len(r[1].body), bytes.Equal(r[1].body, big))
			}
			if r[2].status != 301 || r[2].header["Location"] != "http://a/sub/" {
				t.Errorf("/sub: %d Location %q, want 301 http://a/sub/ (nginx's absolute_redirect)", r[2].status, r[2].header["Location"])
			}
			if r[3].status != 200 || string(r[3].body) != "<p>sub</p>" {
				t.Errorf("/sub/: %d %q", r[3].status, r[3].body)
			}
			if r[4].status != 404 {
				t.Errorf("/a.txt/: %d, want 404 (a file is no directory)", r[4].status)
			}
			lastMod := r[0].header["Last-Modified"]
			etag := r[0].header["ETag"]
			earlier := time.Now().Add(-48 * time.Hour).UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")

			tests := []struct {
				name, req   string
				status      int
				body        []byte
				contentRage string
			}{
				{"small range", getReq("/a.txt", "Range: bytes=2-4\r\n"), 206, []byte("234"), "bytes 2-4/10"},
				{"suffix range", getReq("/a.txt", "Range: bytes=-3\r\n"), 206, []byte("789"), "bytes 7-9/10"},
				{"open range", getReq("/a.txt", "Range: bytes=8-\r\n"), 206, []byte("89"), "bytes 8-9/10"},
				{"range past the end is cut", getReq("/a.txt", "Range: bytes=8-100\r\n"), 206, []byte("89"), "bytes 8-9/10"},
				{"unsatisfiable", getReq("/a.txt", "Range: bytes=10-\r\n"), 416, []byte("Range Not Satisfiable\n"), "bytes */10"},
				{"several ranges: whole", getReq("/a.txt", "Range: bytes=0-1,4-5\r\n"), 200, []byte("0123456789"), ""},
				{"malformed range: whole", getReq("/a.txt", "Range: bytes=5-2\r\n"), 200, []byte("0123456789"), ""},
				{"other unit: whole", getReq("/a.txt", "Range: lines=1-2\r\n"), 200, []byte("0123456789"), ""},
				{"If-Range with the ETag", getReq("/a.txt", "Range: bytes=0-0\r\nIf-Range: "+etag+"\r\n"), 206, []byte("0"), "bytes 0-0/10"},
				{"If-Range stale: whole", getReq("/a.txt", "Range: bytes=0-0\r\nIf-Range: \"1-2\"\r\n"), 200, []byte("0123456789"), ""},
				{"large range by sendfile", getReq("/big.bin", "Range: bytes=1000000-2999999\r\n"), 206, big[1000000:3000000], "bytes 1000000-2999999/8388608"},
				{"If-Modified-Since equal", getReq("/a.txt", "If-Modified-Since: "+lastMod+"\r\n"), 304, nil, ""},
				{"If-Modified-Since earlier", getReq("/a.txt", "If-Modified-Since: "+earlier+"\r\n"), 200, []byte("0123456789"), ""},
				{"If-None-Match decides over If-Modified-Since", getReq("/a.txt", "If-None-Match: \"x\"\r\nIf-Modified-Since: "+lastMod+"\r\n"), 200, []byte("0123456789"), ""},
				{"If-Modified-Since on a large file", getReq("/big.bin", "If-Modified-Since: "+lastMod+"\r\n"), 304, nil, ""},
			}
			for _, tt := range tests {
				resp := roundTrips(t, addr, tt.req)[0]
				if resp.status != tt.status || !bytes.Equal(resp.body, tt.body) || resp.header["Content-Range"] != tt.contentRage {
					t.Errorf("%s: %d %q (%d bytes) Content-Range %q; want %d, %d bytes, %q", tt.name, resp.status, truncate(resp.body), len(resp.body), resp.header["Content-Range"], tt.status, len(tt.body), tt.contentRage)
				}
			}
			// HEAD ignores Range (RFC 9110 §14.2) and sends no body, not
			// even for a large file.
			head := roundTrips(t, addr, "HEAD /big.bin HTTP/1.1\r\nHost: a\r\nRange: bytes=0-0\r\n\r\n", getReq("/a.txt"))
			if head[0].status != 200 || head[0].header["Content-Length"] != strconv.Itoa(len(big)) || string(head[1].body) != "0123456789" {
				t.Errorf("HEAD /big.bin then GET: %+v / %q", head[0].header, head[1].body)
			}
		})
	}
}

func truncate(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// TestResponderPipelinedBehindFile: requests pipelined behind a file sent
// by sendfile(2) are answered after it, in order, byte for byte.
func TestResponderPipelinedBehindFile(t *testing.T) {
	_, root, big := filesRoot(t)
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr := serveOn(t, engine, &httpraw.Responder{Root: root})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(20 * time.Second))
			io.WriteString(c, getReq("/big.bin")+getReq("/a.txt")+getReq("/big.bin", "Range: bytes=-5\r\n")+getReq("/a.txt", "Connection: close\r\n"))
			rd := httpraw.NewReader(c)
			want := [][]byte{big, []byte("0123456789"), big[len(big)-5:], []byte("0123456789")}
			for i, w := range want {
				resp, err := rd.ReadResponse("GET")
				if err != nil {
					t.Fatalf("response %d: %v", i+1, err)
				}
				var b bytes.Buffer
				rd.Body(resp, &b, 0)
				if !bytes.Equal(b.Bytes(), w) {
					t.Fatalf("response %d: %d bytes, want %d", i+1, b.Len(), len(w))
				}
			}
		})
	}
}

// openFDs counts this process's descriptors.
func openFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// TestResponderClosesWhatItOpens: 10,000 directory requests and 2,000
// large-file requests, with the garbage collector off (so nothing is
// closed by a finalizer), leave the descriptor count where it was; and so
// do clients that hang up in the middle of a large file.
func TestResponderClosesWhatItOpens(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	_, root, _ := filesRoot(t)
	var clk clock
	clk.ns.Store(time.Now().UnixNano())
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			// Every request a cache miss: the clock moves past the cache's
			// validity before each, so each opens the directory, then its
			// index.html.
			addr := serveOn(t, engine, &httpraw.Responder{Root: root, Now: clk.now})
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(60 * time.Second))
			br := bufio.NewReader(c)
			// warm up: the connection and the server's own descriptors exist
			io.WriteString(c, getReq("/sub/"))
			if _, err := sockittest.ReadHTTPResponse(br); err != nil {
				t.Fatal(err)
			}
			before := openFDs(t)
			for i := range 10000 {
				clk.advance(2 * time.Second)
				path := "/sub/"
				if i%5 == 4 {
					path = "/big.bin"
				}
				req := getReq(path)
				if path == "/big.bin" {
					req = getReq(path, "Range: bytes=0-99\r\n")
				}
				io.WriteString(c, req)
				resp, err := sockittest.ReadHTTPResponse(br)
				if err != nil || resp.Status/100 != 2 {
					t.Fatalf("request %d (%s): %v %d", i, path, err, resp.Status)
				}
			}
			// Clients that leave in the middle of an 8 MiB body.
			for range 50 {
				cc, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(cc, getReq("/big.bin"))
				cc.SetReadDeadline(time.Now().Add(10 * time.Second))
				io.ReadFull(cc, make([]byte, 4096))
				cc.(*net.TCPConn).SetLinger(0)
				cc.Close()
			}
			sockittest.Eventually(t, 10*time.Second, fmt.Sprintf("descriptors back to %d", before), func() bool {
				return openFDs(t) <= before
			})
		})
	}
}

// TestResponderClosesFileOfLostReply: a client that sends a request for a
// file and resets its connection at once makes the response head's write
// fail before the file body is taken; the session's file is closed all the
// same (the garbage collector is off, so no finalizer closes it).
func TestResponderClosesFileOfLostReply(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	_, root, _ := filesRoot(t)
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr := serveOn(t, engine, &httpraw.Responder{Root: root})
			roundTrips(t, addr, getReq("/big.bin", "Range: bytes=0-99\r\n")) // the server's own descriptors exist
			before := openFDs(t)
			for range 100 {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				io.WriteString(c, getReq("/big.bin"))
				c.(*net.TCPConn).SetLinger(0)
				c.Close()
			}
			sockittest.Eventually(t, 10*time.Second, fmt.Sprintf("descriptors back to %d", before), func() bool {
				return openFDs(t) <= before
			})
		})
	}
}

// TestResponderCacheSeesChanges: a file changed on disk is served new once
// the cache's second of trust has passed.
func TestResponderCacheSeesChanges(t *testing.T) {
	dir, root, _ := filesRoot(t)
	var clk clock
	clk.ns.Store(time.Now().UnixNano())
	addr := serveOn(t, "", &httpraw.Responder{Root: root, Now: clk.now})
	if b := roundTrips(t, addr, getReq("/a.txt"))[0].body; string(b) != "0123456789" {
		t.Fatalf("first: %q", b)
	}
	p := filepath.Join(dir, "a.txt")
	os.WriteFile(p, []byte("changed"), 0o644)
	os.Chtimes(p, time.Now(), time.Now().Add(time.Hour))
	clk.advance(2 * time.Second)
	r := roundTrips(t, addr, getReq("/a.txt"))[0]
	if string(r.body) != "changed" || r.header["Content-Length"] != "7" {
		t.Fatalf("after the change: %q (Content-Length %s)", r.body, r.header["Content-Length"])
	}
}

// TestResponderEmbedded: the brief's page links format.css, which is
// there; HTTP/2.0 on a text request line is 505.
func TestResponderEmbedded(t *testing.T) {
	addr := serveOn(t, "", &httpraw.Responder{})
	r := roundTrips(t, addr, getReq("/format.css"), getReq("/"))
	if r[0].status != 200 || !strings.HasPrefix(r[0].header["Content-Type"], "text/css") || len(r[0].body) == 0 {
		t.Errorf("/format.css: %d %q", r[0].status, r[0].header["Content-Type"])
	}
	if !bytes.Contains(r[1].body, []byte(`href="format.css"`)) {
		t.Errorf("the page no longer links format.css")
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(c, "GET / HTTP/2.0\r\nHost: a\r\n\r\n")
	resp, err := sockittest.ReadHTTPResponse(bufio.NewReader(c))
	if err != nil || resp.Status != 505 {
		t.Fatalf("GET / HTTP/2.0: %v %d, want 505", err, resp.Status)
	}
}
