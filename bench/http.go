package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"
)

// httpTarget holds what every HTTP worker shares: the request bytes, written
// once, and where to connect.
type httpTarget struct {
	cfg     *Config
	network string
	addr    string
	port    string
	tls     *tls.Config
	req     []byte
	head    bool
}

func newHTTPTarget(cfg *Config, u *url.URL) (*httpTarget, error) {
	h := &httpTarget{cfg: cfg, network: "tcp", port: u.Port(), head: cfg.Method == "HEAD"}
	if h.port == "" {
		h.port = "80"
		if u.Scheme == "https" {
			h.port = "443"
		}
	}
	h.addr = net.JoinHostPort(u.Hostname(), h.port)
	if cfg.UnixSocket != "" {
		h.network, h.addr = "unix", cfg.UnixSocket
	}
	if u.Scheme == "https" {
		h.tls = &tls.Config{ServerName: u.Hostname(), InsecureSkipVerify: cfg.Insecure}
	}
	// ab sends HTTP/1.0; with -k it asks for keep-alive. sockit uses
	// HTTP/1.1 for -k, where keep-alive is the default and chunked bodies
	// are framed properly.
	var b bytes.Buffer
	proto := "HTTP/1.0"
	if cfg.KeepAlive {
		proto = "HTTP/1.1"
	}
	fmt.Fprintf(&b, "%s %s %s\r\nHost: %s\r\nUser-Agent: sockit-bench\r\nAccept: */*\r\n", cfg.Method, u.RequestURI(), proto, u.Host)
	if !cfg.KeepAlive {
		b.WriteString("Connection: close\r\n")
	}
	for _, hd := range cfg.Headers {
		if !strings.Contains(hd, ":") || strings.ContainsAny(hd, "\r\n") {
			return nil, fmt.Errorf("header %q is not 'Name: value'", hd)
		}
		b.WriteString(hd + "\r\n")
	}
	if len(cfg.Body) > 0 {
		ct := cfg.ContentType
		if ct == "" {
			ct = "text/plain"
		}
		fmt.Fprintf(&b, "Content-Type: %s\r\nContent-Length: %d\r\n", ct, len(cfg.Body))
	}
	b.WriteString("\r\n")
	b.Write(cfg.Body)
	h.req = b.Bytes()
	return h, nil
}

type httpWorker struct {
	t        *httpTarget
	deadline time.Time // when the connection's deadline was last moved
	server   bool      // the Server header was captured already
	conn     net.Conn
	br       *bufio.Reader
	d        net.Dialer
}

func (h *httpTarget) worker(int) worker { return &httpWorker{t: h} }

func (w *httpWorker) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

func (w *httpWorker) dial(ctx context.Context) error {
	c, err := w.d.DialContext(ctx, w.t.network, w.t.addr)
	if err != nil {
		return err
	}
	if w.t.tls != nil {
		tc := tls.Client(c, w.t.tls)
		tc.SetDeadline(time.Now().Add(w.t.cfg.Timeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return err
		}
		c = tc
	}
	w.conn = c
	if w.br == nil {
		w.br = bufio.NewReaderSize(c, 16<<10)
	} else {
		w.br.Reset(c)
	}
	return nil
}

func (w *httpWorker) do(ctx context.Context, s *sample) string {
	reused := w.conn != nil
	if !reused {
		t0 := time.Now()
		dctx, cancel := context.WithTimeout(ctx, w.t.cfg.Timeout)
		err := w.dial(dctx)
		cancel()
		s.connect = time.Since(t0)
		if err != nil {
			return classify(err, FailConnect)
		}
	}
	s.keptAlive = reused
	t1 := time.Now()
	// Moving the deadline costs a timer update per request; move it only
	// when a sixteenth of the timeout has passed since the last move.
	if to := w.t.cfg.Timeout; !reused || t1.Sub(w.deadline) > to/16 {
		w.conn.SetDeadline(t1.Add(to))
		w.deadline = t1
	}
	n, err := w.conn.Write(w.t.req)
	s.sent = int64(n)
	if err != nil {
		w.close()
		if reused {
			// The server closed the kept-alive connection: retry once on a
			// fresh one, as ab and wrk do.
			return w.do(ctx, s)
		}
		return classify(err, FailWrite)
	}
	if _, err := w.br.Peek(1); err != nil {
		w.close()
		if reused && err == io.EOF {
			return w.do(ctx, s)
		}
		return classify(err, FailRead)
	}
	s.wait = time.Since(t1)
	status, keep, err := w.readResponse(s)
	s.status = status
	if err != nil || !keep || !w.t.cfg.KeepAlive {
		w.close()
	}
	if err != nil {
		if errors.Is(err, errLength) {
			return FailLength
		}
		return classify(err, FailRead)
	}
	if status < 200 || status > 299 {
		s.non2xx = true
		return FailStatus
	}
	return ""
}

var errLength = errors.New("body shorter than announced")

// readResponse reads one response without allocating: status, the few
// headers that frame the body, and the body, counted and dropped.
func (w *httpWorker) readResponse(s *sample) (status int, keep bool, err error) {
	br := w.br
	line, err := br.ReadSlice('\n')
	s.received += int64(len(line))
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("malformed status line")
	}
	status = int(line[9]-'0')*100 + int(line[10]-'0')*10 + int(line[11]-'0')
	h := framing{cl: -1, keep: line[7] == '1'}
	for {
		line, err = br.ReadSlice('\n')
		s.received += int64(len(line))
		if err != nil {
			return status, false, err
		}
		if l := bytes.TrimRight(line, "\r\n"); len(l) == 0 {
			break
		} else if v := h.field(l, !w.server); v != nil {
			s.server, w.server = string(v), true
		}
	}
	cl, chunked, keep := h.cl, h.chunked, h.keep
	if w.t.head || status/100 == 1 || status == 204 || status == 304 {
		return status, keep, nil
	}
	switch {
	case chunked:
		err = w.chunked(s)
	case cl >= 0:
		var n int
		n, err = br.Discard(int(cl))
		s.received += int64(n)
		s.body += int64(n)
		if err == io.EOF {
			err = errLength
		}
	default:
		var n int64
		n, err = io.Copy(io.Discard, br)
		s.received += n
		s.body += n
		keep = false
	}
	return status, keep, err
}

func (w *httpWorker) chunked(s *sample) error {
	br := w.br
	for {
		line, err := br.ReadSlice('\n')
		s.received += int64(len(line))
		if err != nil {
			return err
		}
		n, ok := chunkSize(bytes.TrimRight(line, "\r\n"))
		if !ok {
			return fmt.Errorf("malformed chunk size")
		}
		if n == 0 {
			// Trailers, then the blank line.
			for {
				line, err := br.ReadSlice('\n')
				s.received += int64(len(line))
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(line, "\r\n")) == 0 {
					return nil
				}
			}
		}
		d, err := br.Discard(int(n))
		s.received += int64(d)
		s.body += int64(d)
		if err != nil {
			return errLength
		}
		line, err = br.ReadSlice('\n')
		s.received += int64(len(line))
		if err != nil {
			return err
		}
	}
}

// framing is what a response head says about its body and connection.
type framing struct {
	cl      int64 // Content-Length, -1 when absent or invalid
	chunked bool
	keep    bool
}

// field applies one header line; it returns the Server value when wantServer
// is set and the line is Server (nil otherwise), so the caller copies it once.
func (f *framing) field(line []byte, wantServer bool) []byte {
	colon := bytes.IndexByte(line, ':')
	if colon < 0 {
		return nil
	}
	name, val := line[:colon], bytes.TrimSpace(line[colon+1:])
	switch {
	case equalFold(name, "content-length"):
		f.cl = parseDigits(val)
	case equalFold(name, "transfer-encoding"):
		f.chunked = containsFold(val, "chunked")
	case equalFold(name, "connection"):
		if containsFold(val, "close") {
			f.keep = false
		} else if containsFold(val, "keep-alive") {
			f.keep = true
		}
	case wantServer && equalFold(name, "server"):
		return val
	}
	return nil
}

// parseDigits reads a non-negative decimal, or returns -1.
func parseDigits(b []byte) int64 {
	if len(b) == 0 || len(b) > 18 {
		return -1
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

func equalFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// containsFold reports whether b contains lower, ignoring ASCII case,
// without allocating.
func containsFold(b []byte, lower string) bool {
	for i := 0; i+len(lower) <= len(b); i++ {
		if equalFold(b[i:i+len(lower)], lower) {
			return true
		}
	}
	return false
}
