package httpraw

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sockit/sockit"
)

// Request is what the client writes: the brief's request line and Host and
// Accept headers, any extra headers, and an optional body.
type Request struct {
	Method string
	URL    *url.URL
	// Header adds to or replaces the defaults (Host, User-Agent, Accept); a
	// field with an empty value removes a default, as curl's -H 'Name:'.
	Header Header
	Body   []byte
	// UserAgent is the User-Agent sent unless Header gives one; "" means
	// "sockit" (sockit get sends "sockit/VERSION", as curl sends
	// "curl/VERSION").
	UserAgent string
	// Proto is the version on the request line: "HTTP/1.1" (""), or
	// "HTTP/1.0" (curl's --http1.0).
	Proto string
}

// Write writes the request in HTTP/1.1 wire form (HTTP/1.0 if Proto says
// so), its target in origin form (/path?query).
func (req *Request) Write(w io.Writer) error {
	_, err := req.write(w, nil)
	return err
}

// write writes the request and returns its size; proxy, if set, gets the
// target in absolute form (RFC 9112 §3.2.2) and the proxy's credentials.
func (req *Request) write(w io.Writer, proxy *url.URL) (int64, error) {
	cw := &countWriter{w: w}
	bw := bufio.NewWriter(cw)
	target := escapeTarget(req.URL.RequestURI())
	if proxy != nil {
		u := *req.URL
		u.User, u.Fragment = nil, ""
		target = escapeTarget(u.String())
	}
	proto := req.Proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	fmt.Fprintf(bw, "%s %s %s\r\n", req.Method, target, proto)
	ua := req.UserAgent
	if ua == "" {
		ua = "sockit"
	}
	defaults := []Field{{"Host", req.URL.Host}, {"User-Agent", ua}, {"Accept", "*/*"}}
	for _, d := range defaults {
		if !req.Header.Has(d.Name) {
			fmt.Fprintf(bw, "%s: %s\r\n", d.Name, d.Value)
		}
	}
	for _, f := range req.Header {
		if f.Value != "" {
			fmt.Fprintf(bw, "%s: %s\r\n", f.Name, f.Value)
		}
	}
	if proxy != nil && proxy.User != nil && !req.Header.Has("Proxy-Authorization") {
		fmt.Fprintf(bw, "Proxy-Authorization: %s\r\n", BasicAuth(proxy.User))
	}
	if len(req.Body) > 0 && !req.Header.Has("Content-Length") {
		fmt.Fprintf(bw, "Content-Length: %d\r\n", len(req.Body))
	}
	bw.WriteString("\r\n")
	bw.Write(req.Body)
	err := bw.Flush()
	return cw.n, err
}

// BasicAuth is the Authorization (or Proxy-Authorization) value of RFC
// 7617's Basic scheme for u's user name and password.
func BasicAuth(u *url.Userinfo) string {
	pw, _ := u.Password()
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+pw))
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Timings are the phases of one exchange, as hey reports them; a phase
// that did not happen (a reused connection has no connect) is zero.
type Timings struct {
	Resolve, Connect, TLS, FirstByte, Total time.Duration
	Reused                                  bool
}

// Phase errors, matchable with errors.As, so the CLI can give curl's exit
// statuses.
type (
	// ResolveError: the host name did not resolve.
	ResolveError struct{ Err error }
	// ConnectError: no connection could be made.
	ConnectError struct{ Err error }
	// TLSError: the TLS handshake failed; Err holds an x509 or
	// tls.CertificateVerificationError when the peer was not trusted.
	TLSError struct{ Err error }
)

// ClosedError is a response the server cut short by closing the
// connection: in its body (curl's "transfer closed", 18), or before its
// first byte, Empty (curl's "Empty reply from server", 52). Err, a
// *MalformedError, says where.
type ClosedError struct {
	Empty bool
	Err   error
}

func (e *ClosedError) Error() string {
	if e.Empty {
		return "empty reply from server (connection closed before a response)"
	}
	return e.Err.Error()
}
func (e *ClosedError) Unwrap() error { return e.Err }

func (e *ResolveError) Error() string { return e.Err.Error() }
func (e *ResolveError) Unwrap() error { return e.Err }
func (e *ConnectError) Error() string { return e.Err.Error() }
func (e *ConnectError) Unwrap() error { return e.Err }
func (e *TLSError) Error() string     { return e.Err.Error() }
func (e *TLSError) Unwrap() error     { return e.Err }

// Client sends requests over one connection at a time, kept alive between
// requests to the same origin where the server allows it.
type Client struct {
	// Family narrows name resolution: 4, 6, or 0 for both.
	Family int
	// ConnectTimeout bounds resolving and connecting (and the TLS
	// handshake); zero means no bound beyond the context's.
	ConnectTimeout time.Duration
	// Timeout bounds each wait for the server once connected — the TLS
	// handshake, the first byte of a response and each later read, and
	// each write — by sockit's client rule (sockit.TimeoutConn): a server
	// that stays silent, stalls or trickles ends the exchange within it.
	// Zero means no bound (curl's default).
	Timeout time.Duration
	// TLS is the configuration for https; nil means the system roots. Its
	// ServerName is set from each URL.
	TLS *tls.Config
	// UnixSocket, if set, is the path every request connects to; the URL
	// still gives the Host header and the scheme.
	UnixSocket string
	// MaxHeaderBytes bounds the response header section; zero means 64 KiB.
	MaxHeaderBytes int
	// OnHead, if set, is called with each response once its head is read,
	// before its body.
	OnHead func(*Response)
	// OnSend, if set, is called before each request is written, with the
	// bytes about to be sent, the peer's address and whether the
	// connection was kept from before.
	OnSend func(req *Request, wire []byte, addr net.Addr, reused bool)
	// OnDone, if set, is called with each exchange (each redirect
	// followed, too) once its body is read.
	OnDone func(*Exchange)
	// CheckRedirect, if set, makes Do follow redirects under this policy
	// (FollowRedirects is curl -L's); nil returns them as they are.
	CheckRedirect CheckRedirect
	// Resolve maps "host:port" to the address to connect to instead of
	// resolving host, as curl's --resolve (the URL still gives Host and
	// the TLS server name).
	Resolve map[string]string
	// HTTPVersion is the protocol spoken: by default, as curl, what ALPN
	// picks over TLS (h2 or http/1.1) and HTTP/1.1 in cleartext.
	HTTPVersion HTTPVersion
	// OnInfo, if set, is told what curl -v tells with "* ": the ALPN
	// offered and accepted, the protocol used, each HTTP/2 stream opened
	// with its fields.
	OnInfo func(string)
	// Proxy, if set, is an HTTP proxy (http://[user:password@]host[:port],
	// port 1080 by default, as curl's -x) every request goes through: an
	// http URL is asked of it in absolute form, an https one through a
	// CONNECT tunnel; its user and password go as Proxy-Authorization.
	// UnixSocket, if set too, is where the proxy is.
	Proxy *url.URL

	conn net.Conn
	rd   *Reader
	h2   *h2Client // when the connection speaks HTTP/2
	key  string
}

// Close closes the kept-alive connection, if any.
func (c *Client) Close() error {
	if c.conn == nil {
		return nil
	}
	var err error
	if c.h2 != nil {
		err = c.h2.close()
	} else {
		err = c.conn.Close()
	}
	c.conn, c.rd, c.h2 = nil, nil, nil
	return err
}

// Exchange is one request and its response.
type Exchange struct {
	// Request is the request answered: after redirects, the last one.
	Request  *Request
	Response *Response
	// Redirects is how many redirects were followed to get here.
	Redirects int
	// Addr is the peer's address.
	Addr     net.Addr
	Timings  Timings
	BodySize int64
	// RequestSize is the bytes of the request written, head and body.
	RequestSize int64
}

// Do sends req and reads the response: its head into the result, its body
// to body (at most maxBody bytes; <= 0 means no bound), and every byte as
// received to raw if raw is not nil. Canceling ctx, or its deadline,
// closes the connection and ends the exchange.
// With CheckRedirect set, redirects are followed and a followed
// redirect's body is read but not written to body.
func (c *Client) Do(ctx context.Context, req *Request, body, raw io.Writer, maxBody int64) (*Exchange, error) {
	return c.follow(func(req *Request, body func(*Response) io.Writer) (*Exchange, error) {
		ex, err := c.do(ctx, req, body, raw, maxBody)
		if err != nil && errors.Is(err, errStale) && idempotent(req.Method) {
			// The server closed a kept-alive connection just as we reused it.
			ex, err = c.do(ctx, req, body, raw, maxBody)
		}
		return ex, err
	}, req, body)
}

var errStale = errors.New("httpraw: kept-alive connection closed by the server")

func idempotent(m string) bool {
	switch m {
	case "GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE":
		return true
	}
	return false
}

// originKey is what a kept-alive connection is good for: the origin, and
// the socket or proxy it was reached through.
func (c *Client) originKey(u *url.URL) string {
	key := u.Scheme + "://" + u.Host + " " + c.UnixSocket
	if c.Proxy != nil {
		key += " " + c.Proxy.String()
	}
	return key
}

// urlPort is u's port, or its scheme's default when none is written.
func urlPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

func (c *Client) do(ctx context.Context, req *Request, pick func(*Response) io.Writer, raw io.Writer, maxBody int64) (*Exchange, error) {
	start := time.Now()
	ex := &Exchange{Request: req}
	if c.conn != nil && (c.key != c.originKey(req.URL) || c.h2 != nil && !c.h2.usable()) {
		c.Close()
	}
	if c.conn == nil {
		if err := c.dial(ctx, req.URL, &ex.Timings); err != nil {
			return ex, err
		}
	} else {
		ex.Timings.Reused = true
	}
	conn := c.conn
	ex.Addr = conn.RemoteAddr()
	if c.h2 != nil {
		return c.doH2(ctx, ex, req, pick, raw, maxBody, start)
	}
	// --http2 in cleartext: a new connection's first request asks for h2c.
	upgrade := c.HTTPVersion == HTTP2 && req.URL.Scheme == "http" && !ex.Timings.Reused && len(req.Body) == 0
	if upgrade {
		req = upgradeRequest(req)
	}
	var proxy *url.URL
	if c.Proxy != nil && req.URL.Scheme == "http" {
		proxy = c.Proxy
	}
	var wire bytes.Buffer
	ex.RequestSize, _ = req.write(&wire, proxy)
	if c.OnSend != nil {
		c.OnSend(req, wire.Bytes(), ex.Addr, ex.Timings.Reused)
	}
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()

	sent := time.Now()
	if _, err := conn.Write(wire.Bytes()); err != nil {
		c.Close()
		if ex.Timings.Reused {
			return ex, errStale
		}
		return ex, c.ctxErr(ctx, err)
	}
	c.rd.Raw = raw
	if err := c.rd.fill(); err != nil {
		c.Close()
		if ex.Timings.Reused && (err == io.EOF || errors.Is(err, net.ErrClosed) || isReset(err)) {
			return ex, errStale
		}
		if err == io.EOF {
			return ex, &ClosedError{Empty: true, Err: &MalformedError{Msg: "empty reply from server: connection closed before a response"}}
		}
		return ex, c.ctxErr(ctx, err)
	}
	ex.Timings.FirstByte = time.Since(sent)
	resp, err := c.rd.ReadResponse(req.Method)
	if err != nil {
		c.Close()
		return ex, c.ctxErr(ctx, err)
	}
	if upgrade && resp.Status == 101 {
		return c.switchH2(ctx, ex, ex.Request, resp, pick, raw, maxBody, sent, start)
	}
	ex.Response = resp
	if c.OnHead != nil {
		c.OnHead(resp)
	}
	body := pick(resp)
	if body == nil {
		body = io.Discard
	}
	ex.BodySize, err = c.rd.Body(resp, body, maxBody)
	if me := (*MalformedError)(nil); c.rd.d.eof && errors.As(err, &me) {
		err = &ClosedError{Err: err}
	}
	c.rd.Raw = nil
	ex.Timings.Total = time.Since(start)
	if c.OnDone != nil {
		c.OnDone(ex)
	}
	if err != nil || !resp.KeepAlive {
		c.Close()
	}
	if err != nil {
		return ex, c.ctxErr(ctx, err)
	}
	return ex, nil
}

func isReset(err error) bool { return errors.Is(err, syscall.ECONNRESET) }

// ctxErr reports the context's error (a timeout) in place of the I/O error
// it caused.
func (c *Client) ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return err
}

func (c *Client) dial(ctx context.Context, u *url.URL, t *Timings) error {
	if c.ConnectTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.ConnectTimeout)
		defer cancel()
	}
	host, port := u.Hostname(), urlPort(u)
	dhost, dport := host, port // where the connection goes: the origin, or the proxy
	if c.Proxy != nil {
		dhost, dport = c.Proxy.Hostname(), c.Proxy.Port()
		if dport == "" {
			dport = "1080" // curl's default proxy port
		}
	}
	var conn net.Conn
	var d net.Dialer
	if c.UnixSocket != "" {
		t0 := time.Now()
		cn, err := d.DialContext(ctx, "unix", c.UnixSocket)
		t.Connect = time.Since(t0)
		if err != nil {
			return &ConnectError{c.ctxErr(ctx, err)}
		}
		conn = cn
	} else {
		t0 := time.Now()
		addrs, err := c.resolve(ctx, dhost, dport)
		t.Resolve = time.Since(t0)
		if err != nil {
			return &ResolveError{c.ctxErr(ctx, err)}
		}
		t1 := time.Now()
		var lastErr error
		for _, a := range addrs {
			cn, err := d.DialContext(ctx, "tcp", net.JoinHostPort(a.String(), dport))
			if err == nil {
				conn = cn
				break
			}
			lastErr = err
			if ctx.Err() != nil {
				break
			}
		}
		t.Connect = time.Since(t1)
		if conn == nil {
			return &ConnectError{c.ctxErr(ctx, lastErr)}
		}
	}
	if c.Timeout > 0 {
		conn = sockit.NewTimeoutConn(conn, c.Timeout)
	}
	if c.Proxy != nil && u.Scheme == "https" {
		if err := c.tunnel(ctx, conn, net.JoinHostPort(host, port)); err != nil {
			conn.Close()
			return err
		}
	}
	if u.Scheme == "https" {
		cfg := &tls.Config{}
		if c.TLS != nil {
			cfg = c.TLS.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = host
		}
		if cfg.NextProtos == nil {
			cfg.NextProtos = c.HTTPVersion.alpn()
		}
		c.info("ALPN: offers " + strings.Join(cfg.NextProtos, ","))
		t2 := time.Now()
		tc := tls.Client(conn, cfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return &TLSError{c.ctxErr(ctx, fmt.Errorf("TLS handshake with %s: %w", host, err))}
		}
		t.TLS = time.Since(t2)
		conn = tc
	}
	c.conn, c.key = conn, c.originKey(u)
	if tc, ok := conn.(*tls.Conn); ok {
		p := tc.ConnectionState().NegotiatedProtocol
		if p != "" {
			c.info("ALPN: server accepted " + p)
		}
		if p == "h2" {
			return c.startH2()
		}
	} else if c.HTTPVersion == HTTP2PriorKnowledge {
		return c.startH2()
	}
	c.rd = NewReader(conn)
	c.rd.MaxHeaderBytes = c.MaxHeaderBytes
	return nil
}

// ProxyError is a proxy that would not open a tunnel (curl's 56):
// Status is its answer to CONNECT, or 0 when it gave none.
type ProxyError struct {
	Status int
	Err    error
}

func (e *ProxyError) Error() string {
	if e.Err != nil {
		return "proxy: " + e.Err.Error()
	}
	return fmt.Sprintf("proxy answered %d to CONNECT", e.Status)
}
func (e *ProxyError) Unwrap() error { return e.Err }

// tunnel asks the proxy on conn for a tunnel to hostPort (RFC 9110 §9.3.6)
// and returns once it is open: a 2xx answer, whose head alone is read.
func (c *Client) tunnel(ctx context.Context, conn net.Conn, hostPort string) error {
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	var b strings.Builder
	fmt.Fprintf(&b, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n", hostPort, hostPort)
	if c.Proxy.User != nil {
		fmt.Fprintf(&b, "Proxy-Authorization: %s\r\n", BasicAuth(c.Proxy.User))
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return &ProxyError{Err: c.ctxErr(ctx, err)}
	}
	rd := NewReader(conn)
	resp, err := rd.ReadResponse("CONNECT")
	if err != nil {
		return &ProxyError{Err: c.ctxErr(ctx, err)}
	}
	if resp.Status < 200 || resp.Status > 299 {
		return &ProxyError{Status: resp.Status}
	}
	if rd.d.Buffered() > 0 {
		// The server speaks first through no TLS tunnel: bytes past the
		// head are the proxy's, not the origin's.
		return &ProxyError{Err: errors.New("bytes after its answer to CONNECT")}
	}
	return nil
}

func (c *Client) resolve(ctx context.Context, host, port string) ([]netip.Addr, error) {
	if r, ok := c.Resolve[net.JoinHostPort(host, port)]; ok {
		host = strings.Trim(r, "[]")
	}
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	network := "ip"
	if c.Family == 4 {
		network = "ip4"
	} else if c.Family == 6 {
		network = "ip6"
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, err
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, nil
}

// ParseURL reads an http or https URL; a URL without a scheme is http, as
// curl takes it.
func ParseURL(s string) (*url.URL, error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%w %q (want http or https)", ErrUnsupportedScheme, u.Scheme)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("no host in %q", s)
	}
	u.RawQuery = escapeTarget(u.RawQuery)
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("port %q is not a number from 1 to 65535", p)
		}
	}
	return u, nil
}

// escapeTarget percent-encodes the bytes a request target may not hold
// (RFC 3986 §3.3-3.4, RFC 9112 §3.2): controls, SP, non-ASCII and
// "<>\^`{|}. Go's url keeps a query as typed, so 'q=a b&x=é' would put a
// space (a second request-line delimiter) and raw UTF-8 on the wire; curl
// sends them encoded. Existing %XX escapes are kept.
func escapeTarget(t string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(t); i++ {
		c := t[i]
		if c > ' ' && c < 0x7f && !strings.ContainsRune(`"<>\^`+"`"+`{|}`, rune(c)) {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(t)+16), t[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	if b == nil {
		return t
	}
	return string(b)
}
