package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/sockit/sockit/proto/httpraw"
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
	target := u.RequestURI()
	if cfg.Proxy != "" {
		// ab -X: every request goes to the proxy, naming the full URL.
		if u.Scheme == "https" {
			return nil, fmt.Errorf("-X: a proxy for https (CONNECT) is not supported")
		}
		h.addr, target = cfg.Proxy, u.String()
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
	fmt.Fprintf(&b, "%s %s %s\r\nHost: %s\r\nUser-Agent: sockit-bench\r\nAccept: */*\r\n", cfg.Method, target, proto, u.Host)
	if !cfg.KeepAlive {
		b.WriteString("Connection: close\r\n")
	}
	for _, hd := range cfg.Headers {
		if !strings.Contains(hd, ":") || strings.ContainsAny(hd, "\r\n") {
			return nil, fmt.Errorf("header %q is not 'Name: value'", hd)
		}
		b.WriteString(hd + "\r\n")
	}
	if cfg.Body != nil {
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
	unwatch  func() bool // stops cancelOnDone for conn
	dec      *httpraw.Decoder
	d        net.Dialer
}

func (h *httpTarget) worker(int) worker { return &httpWorker{t: h} }

func (w *httpWorker) close() {
	if w.conn != nil {
		w.unwatch()
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
	if w.dec == nil {
		w.dec = httpraw.NewDecoder(c, 16<<10)
		w.dec.Framer.AnswersHEAD = w.t.head
	} else {
		w.dec.Reset(c)
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
			return s.fail(err, FailConnect)
		}
		w.unwatch = cancelOnDone(ctx, w.conn)
	}
	t1 := time.Now()
	// Moving the deadline costs a timer update per request; move it only
	// when a sixteenth of the timeout has passed since the last move.
	if to := w.t.cfg.Timeout; !reused || t1.Sub(w.deadline) > to/16 {
		setDeadline(ctx, w.conn, t1.Add(to))
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
		return s.fail(err, FailWrite)
	}
	if err := w.dec.Fill(); err != nil {
		w.close()
		if reused && w.dec.EOF() {
			return w.do(ctx, s)
		}
		return s.fail(err, FailRead)
	}
	s.wait = time.Since(t1)
	kind := w.readResponse(s)
	// ab's Keep-Alive requests: complete responses after which the
	// connection stays open for the next request.
	s.keptAlive = kind == "" && w.dec.Framer.KeepAlive() && w.t.cfg.KeepAlive
	if !s.keptAlive {
		w.close()
	}
	return kind
}

// readResponse reads one response through the shared framer, without
// allocating: the status, the Server field once, the body counted and
// dropped. It returns the failure kind, "" for a complete response.
func (w *httpWorker) readResponse(s *sample) string {
	f := &w.dec.Framer
	off := f.Offset()
	defer func() { s.received += f.Offset() - off }()
	for {
		if ev := w.dec.Next(); s.response(ev, f, &w.server) {
			if ev == httpraw.Failed {
				s.err = w.dec.Err()
				return failKind(w.dec.Err(), w.dec.EOF(), f)
			}
			return ""
		}
	}
}

// failKind classifies a response that failed: cut short inside its body
// (length), a timeout, or anything else (read).
func failKind(err error, eof bool, f *httpraw.Framer) string {
	if eof && f.InBody() {
		return FailLength
	}
	return classify(err, FailRead)
}

// response applies one framer event of a response to s, for both engines:
// the Server field (copied once per worker or loop: *server says it was),
// the body bytes, the status. It reports whether the response is over,
// complete (a final MessageEnd) or Failed.
func (s *sample) response(ev httpraw.Event, f *httpraw.Framer, server *bool) bool {
	switch ev {
	case httpraw.FieldLine:
		if !*server && f.NameIs("server") {
			// ab's Server Software is the field's first word.
			v := f.Value()
			if i := bytes.IndexFunc(v, func(r rune) bool { return r <= ' ' }); i >= 0 {
				v = v[:i]
			}
			s.server, *server = string(v), true
		}
	case httpraw.BodyData:
		s.body += int64(len(f.Data()))
	case httpraw.MessageEnd:
		if !f.Interim() {
			s.setStatus(f.Status())
			return true
		}
	case httpraw.Failed:
		s.status = f.Status()
		return true
	}
	return false
}

// setStatus records the status of a complete response: as in ab, a
// complete response is a success whatever its status, counted apart as
// Non-2xx when it is not 2xx.
func (s *sample) setStatus(status int) {
	s.status = status
	s.non2xx = status < 200 || status > 299
}
