package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/net/http2/hpack"

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
	local   net.Addr // -B, or nil
	// HTTP/2: the request's header fields, pseudo-headers first, for
	// hpack (the loop's encoder per connection).
	h2fields []hpack.HeaderField
}

// newHTTPTarget builds the request of a validated cfg.
func newHTTPTarget(cfg *Config, u *url.URL) *httpTarget {
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
	if cfg.LocalAddr != "" {
		h.local = &net.TCPAddr{IP: net.ParseIP(strings.Trim(cfg.LocalAddr, "[]"))}
	}
	target := u.RequestURI()
	if cfg.Proxy != "" {
		// ab -X: every request goes to the proxy, naming the full URL.
		h.addr, target = cfg.Proxy, u.String()
	}
	if u.Scheme == "https" {
		h.tls = clientTLS(cfg, u.Hostname())
	}
	h.req = request(cfg, u.Host, target)
	if cfg.HTTP2 {
		h.h2fields = h2Fields(cfg, u)
	}
	return h
}

// h2Fields are an HTTP/2 request's header fields: the pseudo-headers, then
// the fields request writes for HTTP/1.1 (a -H Host becomes :authority),
// names in lower case, without the fields HTTP/2 forbids (RFC 9113
// 8.2.2: Connection and those it names).
func h2Fields(cfg *Config, u *url.URL) []hpack.HeaderField {
	authority := u.Host
	var rest []hpack.HeaderField
	for _, h := range cfg.Headers {
		name, value, _ := strings.Cut(h, ":")
		name, value = strings.ToLower(strings.TrimSpace(name)), strings.TrimSpace(value)
		switch name {
		case "host":
			authority = value
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		default:
			rest = append(rest, hpack.HeaderField{Name: name, Value: value})
		}
	}
	f := []hpack.HeaderField{{Name: ":method", Value: cfg.Method}, {Name: ":scheme", Value: u.Scheme},
		{Name: ":authority", Value: authority}, {Name: ":path", Value: u.RequestURI()}}
	for _, d := range []hpack.HeaderField{{Name: "user-agent", Value: cfg.UserAgent}, {Name: "accept", Value: "*/*"}} {
		if !slices.ContainsFunc(rest, func(h hpack.HeaderField) bool { return h.Name == d.Name }) {
			f = append(f, d)
		}
	}
	f = append(f, rest...)
	for _, c := range cfg.Cookies {
		f = append(f, hpack.HeaderField{Name: "cookie", Value: c})
	}
	for _, a := range []struct{ field, creds string }{{"authorization", cfg.Auth}, {"proxy-authorization", cfg.ProxyAuth}} {
		if a.creds != "" {
			f = append(f, hpack.HeaderField{Name: a.field, Value: "Basic " + base64.StdEncoding.EncodeToString([]byte(a.creds))})
		}
	}
	if cfg.Body != nil {
		ct := cfg.ContentType
		if ct == "" {
			ct = "text/plain"
		}
		f = append(f, hpack.HeaderField{Name: "content-type", Value: ct}, hpack.HeaderField{Name: "content-length", Value: fmt.Sprint(len(cfg.Body))})
	}
	return f
}

// request writes the request every connection sends. ab sends HTTP/1.0;
// with -k it asks for keep-alive. sockit uses HTTP/1.1 for -k, where
// keep-alive is the default and chunked bodies are framed properly. As in
// ab, a -H header named Host, User-Agent or Accept replaces the default.
func request(cfg *Config, host, target string) []byte {
	var b bytes.Buffer
	proto := "HTTP/1.0"
	if cfg.KeepAlive {
		proto = "HTTP/1.1"
	}
	fmt.Fprintf(&b, "%s %s %s\r\n", cfg.Method, target, proto)
	for _, d := range []struct{ name, value string }{{"Host", host}, {"User-Agent", cfg.UserAgent}, {"Accept", "*/*"}} {
		if !slices.ContainsFunc(cfg.Headers, func(h string) bool {
			name, _, _ := strings.Cut(h, ":")
			return strings.EqualFold(strings.TrimSpace(name), d.name)
		}) {
			b.WriteString(d.name + ": " + d.value + "\r\n")
		}
	}
	if !cfg.KeepAlive {
		b.WriteString("Connection: close\r\n")
	}
	for _, hd := range cfg.Headers {
		b.WriteString(hd + "\r\n")
	}
	for _, c := range cfg.Cookies {
		b.WriteString("Cookie: " + c + "\r\n")
	}
	for _, a := range []struct{ field, creds string }{{"Authorization", cfg.Auth}, {"Proxy-Authorization", cfg.ProxyAuth}} {
		if a.creds != "" {
			b.WriteString(a.field + ": Basic " + base64.StdEncoding.EncodeToString([]byte(a.creds)) + "\r\n")
		}
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
	return b.Bytes()
}

type httpWorker struct {
	t        *httpTarget
	reply    replyStart // the connection, as the decoder reads it
	deadline time.Time  // when the connection's deadline was last moved
	server   bool       // the Server header was captured already
	conn     net.Conn
	unwatch  func() bool // stops cancelOnDone for conn
	dec      *httpraw.Decoder
	d        net.Dialer
}

func (h *httpTarget) worker(int) worker {
	w := &httpWorker{t: h}
	w.d.LocalAddr = h.local
	w.reply.req = h.req
	return w
}

func (w *httpWorker) close() {
	if w.conn != nil {
		w.unwatch()
		w.conn.Close()
		w.conn = nil
	}
}

func (w *httpWorker) dial(ctx context.Context, s *sample) error {
	c, err := w.d.DialContext(ctx, w.t.network, w.t.addr)
	if err != nil {
		return err
	}
	if w.t.tls != nil {
		tc := tls.Client(c, w.t.tls)
		t0 := time.Now()
		tc.SetDeadline(t0.Add(w.t.cfg.Timeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			c.Close()
			return err
		}
		st := tc.ConnectionState()
		s.handshook(time.Since(t0), &st)
		c = tc
	}
	w.conn, w.reply.Conn = c, c
	if w.dec == nil {
		w.dec = httpraw.NewDecoder(&w.reply, 16<<10)
		w.dec.Framer.AnswersHEAD = w.t.head
	} else {
		w.dec.Reset(&w.reply)
	}
	return nil
}

func (w *httpWorker) do(ctx context.Context, s *sample) string {
	reused := w.conn != nil
	if !reused {
		t0 := time.Now()
		dctx, cancel := context.WithTimeout(ctx, w.t.cfg.Timeout)
		err := w.dial(dctx, s)
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
	w.reply.reset()
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
			if ev != httpraw.Failed {
				return ""
			}
			if w.reply.notHTTP() {
				off = f.Offset() // the reply is counted whole below
				return w.notHTTP(s)
			}
			s.err = w.dec.Err()
			return failKind(w.dec.Err(), w.dec.EOF(), s.inBody)
		}
	}
}

// notHTTP finishes a reply that is not an HTTP response (see
// replyStart): it ends when the server closes, or once the whole request
// came back (an echo server); it counts, as ab does, as a complete
// non-2xx response without a body.
func (w *httpWorker) notHTTP(s *sample) string {
	var buf [4096]byte
	for !w.reply.echoed() && !w.dec.EOF() {
		_, err := w.reply.Read(buf[:])
		if err == io.EOF {
			break
		}
		if err != nil {
			s.err = err
			return classify(err, FailRead)
		}
	}
	s.received += w.reply.n
	w.reply.done(s)
	w.close()
	return ""
}

// replyStart is the connection as the goroutine engine's decoder reads it,
// noting how each reply begins (replyNote).
type replyStart struct {
	net.Conn
	replyNote
}

func (r *replyStart) Read(p []byte) (int, error) {
	n, err := r.Conn.Read(p)
	r.note(p[:n])
	return n, err
}

// replyNote keeps how the reply to the last request began, for both
// engines, so that a reply that is not an HTTP response (it does not begin
// with "HTTP/") can be told apart from a broken one, and whether it is the
// request itself, sent back. Past the first bytes that tell, it costs a
// compare per read.
type replyNote struct {
	req  []byte
	n    int64 // bytes of this reply so far
	head [16]byte
	echo int // bytes of req the reply has matched so far; -1 once one did not
	// Of a reply that is not HTTP: where its "body" begins, as ab reads
	// one (after the first blank line, CRLF CRLF or LF LF), -1 until seen;
	// win holds the last bytes scanned.
	bodyAt int64
	win    uint32
}

func (r *replyNote) reset() { r.n, r.echo, r.bodyAt, r.win = 0, 0, -1, 0 }

// note adds b, the next bytes of the reply.
func (r *replyNote) note(b []byte) {
	if r.n < int64(len(r.head)) {
		copy(r.head[r.n:], b)
	}
	r.n += int64(len(b))
	if r.bodyAt < 0 && r.notHTTP() {
		for i, c := range b {
			r.win = r.win<<8 | uint32(c)
			if r.win == 0x0d0a0d0a || r.win&0xffff == 0x0a0a {
				r.bodyAt = r.n - int64(len(b)) + int64(i) + 1
				break
			}
		}
	}
	if r.echo >= 0 && len(b) > 0 {
		if k := min(len(b), len(r.req)-r.echo); k == len(b) && bytes.Equal(b, r.req[r.echo:r.echo+k]) {
			r.echo += k
		} else {
			r.echo = -1
		}
	}
}

// notHTTP reports whether the reply so far cannot be an HTTP response.
func (r *replyNote) notHTTP() bool { return isNotHTTP(r.head[:min(r.n, int64(len(r.head)))]) }

// echoed reports whether the reply is the whole request, sent back.
func (r *replyNote) echoed() bool { return r.echo == len(r.req) && r.n == int64(len(r.req)) }

// done marks s as a reply that was not an HTTP response: as ab counts it,
// a complete non-2xx response whose body is what followed its first blank
// line, if any.
func (r *replyNote) done(s *sample) {
	s.notHTTP, s.echoed, s.status, s.non2xx, s.body = true, r.echoed(), 0, true, 0
	if r.bodyAt >= 0 {
		s.body = r.n - r.bodyAt
	}
	s.begin = string(r.head[:min(r.n, int64(len(r.head)))])
}

// isNotHTTP reports whether a reply beginning with got is not an HTTP
// response: its first bytes are not "HTTP/" (nor the start of it).
func isNotHTTP(got []byte) bool {
	const h = "HTTP/"
	k := min(len(got), len(h))
	return k > 0 && string(got[:k]) != h[:k]
}

// failKind classifies a response that failed: cut short by the close
// inside its body (length, as ab counts a body of another length), a
// timeout, or anything else (read).
func failKind(err error, eof, inBody bool) string {
	if eof && inBody {
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
	case httpraw.HeadEnd:
		s.inBody = !f.Interim()
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
