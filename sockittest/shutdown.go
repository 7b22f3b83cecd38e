package sockittest

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// HTTPResponse is one response as a test client reads it: deliberately a
// small reader of its own, not the framer under test.
type HTTPResponse struct {
	Status int
	Header map[string]string // lower-case names, last value wins
	Body   []byte
}

// ReadHTTPResponse reads one HTTP/1.1 response framed by Content-Length.
func ReadHTTPResponse(br *bufio.Reader) (HTTPResponse, error) {
	r := HTTPResponse{Header: map[string]string{}}
	line, err := br.ReadString('\n')
	if err != nil {
		return r, err
	}
	if _, err := fmt.Sscanf(line, "HTTP/1.1 %d", &r.Status); err != nil {
		return r, fmt.Errorf("status line %q: %v", line, err)
	}
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return r, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		k, v, _ := strings.Cut(line, ":")
		r.Header[strings.ToLower(k)] = strings.TrimSpace(v)
	}
	n, err := strconv.Atoi(r.Header["content-length"])
	if err != nil {
		return r, fmt.Errorf("content-length %q", r.Header["content-length"])
	}
	r.Body = make([]byte, n)
	_, err = io.ReadFull(br, r.Body)
	return r, err
}

// ExpectEOF reads c (through br) to its end within timeout: nil when the
// server closed it cleanly (FIN, not a reset) with nothing more to say.
func ExpectEOF(c net.Conn, br *bufio.Reader, timeout time.Duration) error {
	c.SetReadDeadline(time.Now().Add(timeout))
	rest, err := io.ReadAll(br)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return fmt.Errorf("%d bytes more before the close", len(rest))
	}
	return nil
}

// ShutdownScene is the load a graceful shutdown is tested under (see
// NewShutdownScene): keep-alive HTTP clients idle between requests, one
// large response in flight to a client that has stopped reading, and one
// request half sent. Its connections close when the test ends.
type ShutdownScene struct {
	Idle   []*bufio.Reader // each over its connection
	idle   []net.Conn
	slow   net.Conn
	slowBR *bufio.Reader
	half   net.Conn
}

// NewShutdownScene opens idle keep-alive connections to the HTTP server at
// addr (each has had one GET / answered), then asks for path, a large file,
// on a connection whose receive buffer is a few KiB and reads only the
// status line (so most of the response waits in the server), then sends
// all of a GET / but its final empty line.
func NewShutdownScene(t testing.TB, addr string, idle int, path string) *ShutdownScene {
	t.Helper()
	sc := &ShutdownScene{}
	dial := func(d net.Dialer) net.Conn {
		c, err := d.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	for i := range idle {
		c := dial(net.Dialer{})
		br := bufio.NewReader(c)
		c.Write([]byte("GET / HTTP/1.1\r\nHost: test\r\n\r\n"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		r, err := ReadHTTPResponse(br)
		if err != nil || r.Status != 200 || r.Header["connection"] != "keep-alive" {
			t.Fatalf("idle client %d, first request: %d %+v, %v", i, r.Status, r.Header, err)
		}
		sc.idle = append(sc.idle, c)
		sc.Idle = append(sc.Idle, br)
	}
	sc.slow = dial(net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) { unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF, 4096) })
	}})
	sc.slow.Write([]byte("GET " + path + " HTTP/1.1\r\nHost: test\r\n\r\n"))
	sc.slowBR = bufio.NewReaderSize(sc.slow, 16)
	sc.slow.SetReadDeadline(time.Now().Add(10 * time.Second))
	if status, err := sc.slowBR.ReadString('\n'); err != nil || !strings.HasPrefix(status, "HTTP/1.1 200") {
		t.Fatalf("large response: %q, %v", status, err)
	}
	sc.half = dial(net.Dialer{})
	sc.half.Write([]byte("GET / HTTP/1.1\r\nHost: test\r\n"))
	return sc
}

// IdleClosed checks that every idle connection is closed by the server
// (EOF) within timeout.
func (sc *ShutdownScene) IdleClosed(timeout time.Duration) error {
	for i, c := range sc.idle {
		if err := ExpectEOF(c, sc.Idle[i], timeout); err != nil {
			return fmt.Errorf("idle client %d: %v, want EOF", i, err)
		}
	}
	return nil
}

// FinishHalf sends the half request's last line and checks its answer: the
// page served as page, with Connection: close, then EOF.
func (sc *ShutdownScene) FinishHalf(page []byte) error {
	sc.half.Write([]byte("\r\n"))
	br := bufio.NewReader(sc.half)
	sc.half.SetReadDeadline(time.Now().Add(10 * time.Second))
	r, err := ReadHTTPResponse(br)
	if err != nil || r.Status != 200 || r.Header["connection"] != "close" || !bytes.Equal(r.Body, page) {
		return fmt.Errorf("request completed during shutdown: status %d, %+v, %d bytes, %v; want 200, Connection: close, the page",
			r.Status, r.Header, len(r.Body), err)
	}
	if err := ExpectEOF(sc.half, br, 10*time.Second); err != nil {
		return fmt.Errorf("after the last response: %v, want EOF", err)
	}
	return nil
}

// ReadLarge reads the rest of the large response and checks it is want,
// byte for byte, followed by EOF.
func (sc *ShutdownScene) ReadLarge(want []byte) error {
	sc.slow.SetReadDeadline(time.Now().Add(60 * time.Second))
	r, err := ReadHTTPResponse(bufio.NewReader(io.MultiReader(strings.NewReader("HTTP/1.1 200\r\n"), sc.slowBR)))
	if err != nil {
		return fmt.Errorf("large response: %v", err)
	}
	if !bytes.Equal(r.Body, want) {
		return fmt.Errorf("large response: %d bytes, not the %d of the file", len(r.Body), len(want))
	}
	if err := ExpectEOF(sc.slow, sc.slowBR, 10*time.Second); err != nil {
		return fmt.Errorf("after the large response: %v, want EOF", err)
	}
	return nil
}
