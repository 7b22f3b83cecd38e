package httpraw_test

import (
	"bytes"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
)

// lineLog collects access log lines as the responder writes them.
type lineLog struct {
	mu    sync.Mutex
	lines []string
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, string(p))
	return len(p), nil
}

func (l *lineLog) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// TestAccessLogCombined sends requests over real sockets, some as raw bytes
// an attacker would choose, and checks each access log line byte for byte
// (the time aside): nginx's combined format, one line per response, every
// quote, backslash, control and non-ASCII byte written \xHH so that no
// request can end a field or a line early.
func TestAccessLogCombined(t *testing.T) {
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) { testAccessLogCombined(t, engine) })
	}
}

func testAccessLogCombined(t *testing.T, engine string) {
	lg := &lineLog{}
	addr := serveOn(t, engine, &httpraw.Responder{AccessLog: lg})
	page := strconv.Itoa(len(httpraw.Page()))
	for _, tc := range []struct {
		name, req, want string
	}{
		{"GET with referer and agent", "GET / HTTP/1.1\r\nHost: x\r\nReferer: http://a.example/p?q=1\r\nUser-Agent: curl/8.5.0\r\nConnection: close\r\n\r\n",
			`"GET / HTTP/1.1" 200 ` + page + ` "http://a.example/p?q=1" "curl/8.5.0"`},
		{"HEAD", "HEAD /index.html HTTP/1.0\r\n\r\n", `"HEAD /index.html HTTP/1.0" 200 0 "-" "-"`},
		{"not found", "GET /nope HTTP/1.0\r\n\r\n", `"GET /nope HTTP/1.0" 404 10 "-" "-"`},
		{"quote, backslash and high bytes in the path", "GET /a\"b\\c\xff HTTP/1.0\r\n\r\n",
			`"GET /a\x22b\x5Cc\xFF HTTP/1.0" 404 10 "-" "-"`},
		{"control bytes in the path", "GET /a\x01\x7f HTTP/1.0\r\n\r\n", `"GET /a\x01\x7F HTTP/1.0" 400 12 "-" "-"`},
		{"bare CR in the request line", "GET /x\ry HTTP/1.1\r\nHost: x\r\n\r\n", `"GET /x\x0Dy HTTP/1.1" 400 12 "-" "-"`},
		{"a forged line in the user agent", "GET / HTTP/1.0\r\nUser-Agent: a\" 200 1 \"-\" \"-\"\x0b1.2.3.4 - - [x] \"GET /admin HTTP/1.0\r\n\r\n",
			`"GET / HTTP/1.0" 200 ` + page + ` "-" "a\x22 200 1 \x22-\x22 \x22-\x22\x0B1.2.3.4 - - [x] \x22GET /admin HTTP/1.0"`},
		{"a bare CR in the user agent is refused", "GET / HTTP/1.0\r\nUser-Agent: a\" 200 1 \"-\" \"-\"\r1.2.3.4 - - [x] \"GET /admin HTTP/1.0\r\n\r\n",
			`"GET / HTTP/1.0" 400 12 "-" "-"`},
		{"CR before the request line", "\r\n\rGET / HTTP/1.1\r\nHost: x\r\n\r\n", `"\x0DGET / HTTP/1.1" 400 12 "-" "-"`},
		{"LF ends the request line", "GET /x\n1.2.3.4 - - HTTP/1.0\r\n\r\n", `"GET /x" 400 12 "-" "-"`},
		{"HTTP/2.0 as text", "GET / HTTP/2.0\r\n\r\n", `"GET / HTTP/2.0" 505 27 "-" "-"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(lg.all())
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			io.WriteString(c, tc.req)
			io.Copy(io.Discard, c) // every case ends with the server's close
			got := lg.all()[before:]
			want := regexp.MustCompile(`^127\.0\.0\.1 - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4}\] ` + regexp.QuoteMeta(tc.want) + "\n$")
			t.Logf("%q", got)
			if len(got) != 1 || !want.MatchString(got[0]) {
				t.Errorf("access log %q\nwant one line ending %s", got, tc.want)
			}
		})
	}
}

// TestAccessLogFiles: the body bytes of a file sent by sendfile and of a
// range, and a 304, as nginx counts them.
func TestAccessLogFiles(t *testing.T) {
	_, root, big := filesRoot(t)
	lg := &lineLog{}
	addr := serveHTTP(t, &httpraw.Responder{Root: root, AccessLog: lg})
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET /big.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=10-19\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(c)
	if !bytes.Contains(b, big) {
		t.Fatal("the file did not arrive whole")
	}
	got := strings.Join(lg.all(), "")
	for _, w := range []string{`"GET /big.bin HTTP/1.1" 200 8388608 "-" "-"` + "\n", `"GET /big.bin HTTP/1.1" 206 10 "-" "-"` + "\n"} {
		if !strings.Contains(got, w) {
			t.Errorf("access log %q lacks %q", got, w)
		}
	}
}
