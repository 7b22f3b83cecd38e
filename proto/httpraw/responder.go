package httpraw

import (
	"bytes"
	"crypto/tls"
	_ "embed"
	"errors"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/server"
)

//go:embed index.html
var page []byte

// css is the stylesheet the brief's page links (format.css).
//
//go:embed format.css
var css []byte

// pageModTime is the brief's Last-Modified for its page.
var pageModTime = time.Date(2022, 1, 23, 10, 39, 25, 0, time.UTC)

// Page returns the embedded document the responder serves at "/": the
// brief's "My html page".
func Page() []byte { return bytes.Clone(page) }

// Responder is the built-in HTTP/1.1 server: the brief's page at "/",
// files under Root if set, HEAD and GET only, keep-alive for HTTP/1.1 and
// for HTTP/1.0 clients that ask (as ab -k does). It is a server.Session
// state machine: the runtime feeds it bytes, it answers every complete
// request in them, pipelined ones included.
type Responder struct {
	// Root, if set, serves files under it ("/" is its index.html, or the
	// embedded page when it has none). Paths cannot escape it.
	Root *os.Root
	// MaxRequestBytes bounds a request's header section; zero means 8 KiB.
	// More is answered 431 and the connection closed.
	MaxRequestBytes int
	// MaxHeaders bounds the header fields of a request; zero means 100.
	MaxHeaders int
	// MaxFileBytes, if positive, refuses (403) files under Root larger than
	// this; zero means no bound. Large files are not read into memory: the
	// runtime sends them with sendfile(2) (see files.go).
	MaxFileBytes int64
	// CacheFileBytes is the largest file kept in memory; zero means 1 MiB,
	// negative caches nothing. Larger files are sent from their descriptor.
	CacheFileBytes int64
	// CacheBytes bounds the memory the cached files take in all; zero
	// means 64 MiB.
	CacheBytes int64
	// Now is the clock for Date; nil means time.Now.
	Now func() time.Time
	// Statuses, if set, is told the status code of every response, error
	// responses included (serve --metrics:
	// sockit_http_responses_total{service,code}).
	Statuses server.StatusCounter
	// AccessLog, if set, is written one line per response in nginx's
	// "combined" format (see accesslog.go), each line one Write call. It
	// must not keep the slice, and should not block: serve's is a bounded
	// buffer a goroutine of its own writes out.
	AccessLog io.Writer

	date      atomic.Pointer[dateCache]
	localTime atomic.Pointer[dateCache] // the access log's $time_local
	cache     fileCache
	// watch, if set, is told of every request a session framed: when it
	// is answered (whole false, its body not read yet) and again when its
	// body has been read (whole). The request-side corpus compares it with
	// what nginx forwards (export_test.go sets it).
	watch func(peer netip.AddrPort, method, target string, status int, body []byte, whole bool)
}

type dateCache struct {
	sec int64
	val []byte
	str string // val as a string, for HTTP/2's HPACK
}

// Service returns the responder as a server.Service (streams only).
func Service(r *Responder) server.Service {
	return server.Service{Name: "http", Stream: r}
}

func (r *Responder) dateHeader() []byte { return r.dateNow().val }

// dateNow is the Date header's value this second.
func (r *Responder) dateNow() *dateCache {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	t := now()
	if c := r.date.Load(); c != nil && c.sec == t.Unix() {
		return c
	}
	str := t.UTC().Format(http1123)
	c := &dateCache{sec: t.Unix(), val: []byte(str), str: str}
	r.date.Store(c)
	return c
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

// ClientFirst implements server.ClientFirst: a client sends its request as
// soon as it connects, so the server may accept it once the request is
// there (nginx's listen ... deferred).
func (r *Responder) ClientFirst() {}

// Open implements server.StreamHandler.
func (r *Responder) Open(peer netip.AddrPort) server.Session { return &session{r: r, peer: peer} }

var _ server.TLSHandler = (*Responder)(nil)

// alpnProtos are the application protocols the responder offers over TLS
// (RFC 7301), most preferred first: HTTP/2, then HTTP/1.1 (nginx's order
// with http2 on).
var alpnProtos = []string{"h2", "http/1.1"}

// NextProtos implements server.TLSHandler: the protocols offered by ALPN.
func (r *Responder) NextProtos() []string { return alpnProtos }

// OpenTLS implements server.TLSHandler: a connection over TLS, its
// handshake done. Its requests are https ones: a redirect's Location says
// so. A client that chose "h2" by ALPN speaks HTTP/2 from its first byte
// (RFC 9113 §3.2): anything but the client preface closes the connection
// with nothing sent. A client that offered no ALPN gets HTTP/1.1, as one
// that chose "http/1.1" does (and may still send the h2 preface, as over
// cleartext).
func (r *Responder) OpenTLS(peer netip.AddrPort, state *tls.ConnectionState) server.Session {
	s := &session{r: r, peer: peer}
	s.https = true
	s.alpnH2 = state != nil && state.NegotiatedProtocol == "h2"
	return s
}

type session struct {
	r       *Responder
	f       Framer
	peer    netip.AddrPort // the client, for the access log
	pending []byte         // bytes received that the framer has not consumed yet
	// The request being read: its start line and the fields the responder
	// uses, copied out of the input (their capacity is reused).
	request
	referer, userAgent []byte // kept only for the access log
	host               int    // Host fields seen
	badHost            bool   // one of them is not a valid host[:port]
	draining           bool   // the server is shutting down: the next response is the last
	inHead             bool   // between a request line and its header section's end
	inBody             bool   // the request was answered; its body is being read
	headEnd, status    int    // the last response head written: where it ends in its buffer, its status code
	// A file body to send after the response head (see TakeFile).
	file            *os.File
	fileOff, fileN  int64
	fileTaken, hold bool    // the runtime has the file; input waits until it is sent
	watched         []byte  // with Responder.watch: the body of the request being read
	h2              *h2conn // the connection speaks HTTP/2 (see h2.go)
	alpnH2          bool    // the client chose h2 by ALPN: it must open with the preface
}

func (s *session) Greet(buf []byte) ([]byte, bool) { return nil, false }

var (
	_ server.Idler      = (*session)(nil)
	_ server.FileSender = (*session)(nil)
)

// Idle implements server.Idler: between requests (every one answered, none
// begun), a keep-alive connection can be closed on shutdown at once.
func (s *session) Idle() bool {
	if s.h2 != nil {
		return s.h2.idle()
	}
	return len(s.pending) == 0 && s.file == nil && s.f.Idle()
}

// Drain implements server.Idler: the request in progress is answered with
// Connection: close, and the connection ends there (as net/http does once
// Shutdown has begun).
func (s *session) Drain() {
	s.draining = true
	if s.h2 != nil {
		s.h2.draining = true
	}
}

// TakeFile implements server.FileSender: the file body of the response
// just returned, if it has one.
func (s *session) TakeFile() (*os.File, int64, int64) {
	if s.file == nil || s.fileTaken {
		return nil, 0, 0
	}
	s.fileTaken = true
	return s.file, s.fileOff, s.fileN
}

// Resume implements server.FileSender: the file is closed, and the
// requests that came in behind it are answered.
func (s *session) Resume(buf []byte, err error) ([]byte, bool) {
	if s.file != nil {
		s.file.Close()
		s.file, s.fileTaken = nil, false
	}
	s.hold = false
	if err != nil {
		return buf, false
	}
	// Even with nothing held back the framer moves past the request just
	// answered (its end of message), so the session reads as idle.
	data := s.pending
	s.pending = nil
	return s.process(data, buf)
}

// Receive answers every complete request in the bytes so far. Requests are
// framed by the package's Framer in request mode; a request body, by
// Content-Length or chunked, is read and dropped (a GET/HEAD server has no
// use for it, as nginx's static files).
func (s *session) Receive(in, out []byte) ([]byte, bool) {
	if s.alpnH2 && s.h2 == nil && len(in) > 0 && !h2Preface(s.pending, in) {
		return out, true
	}
	if s.h2 != nil || s.f.Offset() == 0 && h2Preface(s.pending, in) {
		return s.receiveH2(in, out)
	}
	data := in
	if len(s.pending) > 0 {
		s.pending = append(s.pending, in...)
		data = s.pending
	}
	if s.hold {
		// A file body is on its way: what follows waits for Resume. (The
		// runtime reads nothing meanwhile; this is for runtimes that do.)
		if len(s.pending) == 0 {
			s.pending = append(s.pending, in...)
		}
		return out, false
	}
	return s.process(data, out)
}

func (s *session) process(data, out []byte) ([]byte, bool) {
	if s.f.MaxHeaderBytes == 0 {
		s.f = Framer{Request: true, MaxHeaderBytes: s.r.maxRequest(), MaxFields: s.r.maxHeaders()}
	}
	for {
		ev, n := s.f.Next(data)
		data = data[n:]
		switch ev {
		case NeedMore:
			s.keep(data)
			return out, false
		case StartLine:
			s.method = append(s.method[:0], s.f.Method()...)
			s.target = append(s.target[:0], s.f.Target()...)
			s.ifNoneMatch, s.ifModifiedSince, s.rng, s.ifRange, s.host, s.badHost = s.ifNoneMatch[:0], s.ifModifiedSince[:0], s.rng[:0], s.ifRange[:0], 0, false
			s.referer, s.userAgent, s.inHead = s.referer[:0], s.userAgent[:0], true
		case FieldLine:
			switch {
			case s.r.AccessLog != nil && s.f.NameIs("referer"):
				s.referer = append(s.referer[:0], s.f.Value()...)
			case s.r.AccessLog != nil && s.f.NameIs("user-agent"):
				s.userAgent = append(s.userAgent[:0], s.f.Value()...)
			case s.f.NameIs("host"):
				s.host++
				s.badHost = s.badHost || !validHost(s.f.Value())
				s.hostValue = append(s.hostValue[:0], s.f.Value()...)
			case s.f.NameIs("if-none-match"):
				s.ifNoneMatch = append(s.ifNoneMatch[:0], s.f.Value()...)
			case s.f.NameIs("if-modified-since"):
				s.ifModifiedSince = append(s.ifModifiedSince[:0], s.f.Value()...)
			case s.f.NameIs("range"):
				s.rng = append(s.rng[:0], s.f.Value()...)
			case s.f.NameIs("if-range"):
				s.ifRange = append(s.ifRange[:0], s.f.Value()...)
			}
		case BodyData:
			if s.r.watch != nil {
				s.watched = append(s.watched, s.f.Data()...)
			}
		case MessageEnd:
			s.inBody = false
			if s.r.watch != nil {
				s.r.watch(s.peer, string(s.method), string(s.target), s.status, s.watched, true)
				s.watched = s.watched[:0]
			}
		case HeadEnd:
			var closeAfter bool
			mark := len(out)
			s.inHead = false
			out, closeAfter = s.handle(out)
			if s.r.AccessLog != nil {
				s.logAccess(out[mark:], s.headEnd-mark, nil)
			}
			if s.r.watch != nil {
				s.r.watch(s.peer, string(s.method), string(s.target), s.status, nil, false)
			}
			if closeAfter {
				if s.r.watch != nil && !s.f.InBody() {
					s.r.watch(s.peer, string(s.method), string(s.target), s.status, nil, true)
				}
				s.pending = nil
				return out, true
			}
			s.inBody = s.f.InBody()
			if s.file != nil {
				// The file goes next; later requests wait their turn.
				s.hold = true
				s.keep(data)
				return out, false
			}
		case Failed:
			if s.inBody {
				// The request was answered at its head, and its body (read
				// only to be dropped) is malformed: the connection ends with
				// no second response, which the client would take for the
				// answer to its next request (nginx does the same when it
				// discards a body).
				s.pending = nil
				return out, true
			}
			status := 400
			var me *MalformedError
			if errors.As(s.f.Err(), &me) && me.Status != 0 {
				status = me.Status
			}
			mark := len(out)
			out = s.errorPage(out, status, false)
			if s.r.AccessLog != nil {
				var line []byte // the request line the framer refused, as sent
				if !s.inHead {
					line = rawLine(data, s.r.maxRequest())
				}
				s.logAccess(out[mark:], s.headEnd-mark, line)
			}
			s.pending = nil
			return out, true
		}
	}
}

// keep holds data (which may alias the runtime's buffer) for the next call.
func (s *session) keep(data []byte) {
	if len(data) == 0 {
		s.pending = nil
	} else {
		s.pending = append(s.pending[:0:0], data...)
	}
}

func (r *Responder) maxRequest() int {
	if r.MaxRequestBytes > 0 {
		return r.MaxRequestBytes
	}
	return 8 << 10
}

func (r *Responder) maxHeaders() int {
	if r.MaxHeaders > 0 {
		return r.MaxHeaders
	}
	return 100
}

// nginxMethod reports a method of upper-case letters, '-' and '_', as
// nginx parses them. RFC 9110 §9.1 allows any token (get, m.x), which
// nginx refuses with 400; so does the responder, rather than answer a
// request nginx would not take as one.
func nginxMethod(m []byte) bool {
	for _, c := range m {
		if !('A' <= c && c <= 'Z' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// originOrAbsolute reports a target in origin-form (/path) or
// absolute-form (scheme:...), the forms a request to an origin server
// takes (RFC 9112 §3.2). The asterisk-form (OPTIONS *) and the
// authority-form (CONNECT host:port) are for proxies and server-wide
// OPTIONS, which the responder does not serve; nginx refuses them with
// 400, and so does it.
func originOrAbsolute(t []byte) bool {
	if len(t) > 0 && t[0] == '/' {
		return true
	}
	i := bytes.IndexByte(t, ':')
	return i > 0 && bytes.HasPrefix(t[i:], []byte("://")) && isToken(t[:i])
}

// validHost reports whether a Host value is host[:port] in RFC 3986's
// grammar (RFC 9112 §3.2 asks for 400 otherwise): a bracketed IP literal,
// or a name of unreserved, percent-encoded and sub-delimiter characters
// with no empty label (".."), then an optional port of digits. An empty
// host is refused too: an "http" URI must not have one (RFC 9110 §4.2.1),
// and nginx refuses both.
func validHost(v []byte) bool {
	if len(v) == 0 || bytes.Contains(v, []byte("..")) {
		return false
	}
	host, port := v, []byte(nil)
	if len(v) > 0 && v[0] == '[' {
		end := bytes.IndexByte(v, ']')
		if end < 0 {
			return false
		}
		for _, c := range v[1:end] {
			if !(c == ':' || c == '.' || '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f') {
				return false
			}
		}
		host, port = nil, v[end+1:]
		if len(port) > 0 {
			if port[0] != ':' {
				return false
			}
			port = port[1:]
		}
	} else if i := bytes.LastIndexByte(v, ':'); i >= 0 {
		host, port = v[:i], v[i+1:]
	}
	for _, c := range port {
		if c < '0' || c > '9' {
			return false
		}
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		switch {
		case 'a' <= c|0x20 && c|0x20 <= 'z', '0' <= c && c <= '9', strings.IndexByte("-._~!$&'()*+,;=", c) >= 0:
		case c == '%' && i+2 < len(host) && isHex(host[i+1]) && isHex(host[i+2]):
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c|0x20 && c|0x20 <= 'f' }

// validators returns a document's ETag (nginx's form: hex mtime-size) and
// its Last-Modified and ETag header lines.
func validators(mod time.Time, size int) (etag, lines string) {
	etag = `"` + strconv.FormatInt(mod.Unix(), 16) + "-" + strconv.FormatInt(int64(size), 16) + `"`
	return etag, "Last-Modified: " + mod.UTC().Format(http1123) + "\r\nETag: " + etag + "\r\n"
}

// notModified applies RFC 9110 §13.2.2's order for GET and HEAD: when
// If-None-Match is present it decides alone (a match, weak comparison, or
// "*"); otherwise If-Modified-Since holds when the document is no newer
// than the date (to the second, as Last-Modified is sent). An unparsable
// date is ignored.
func notModified(ifNoneMatch, ifModifiedSince []byte, etag string, mod time.Time) bool {
	if len(ifNoneMatch) > 0 {
		return string(ifNoneMatch) == "*" || bytes.Contains(ifNoneMatch, []byte(etag))
	}
	if len(ifModifiedSince) == 0 {
		return false
	}
	t, err := time.Parse(http1123, string(ifModifiedSince))
	return err == nil && !mod.Truncate(time.Second).After(t)
}

// docs served from memory, and their header lines, computed once.
var (
	pageDoc = memDoc(page, pageModTime, "text/html")
	cssDoc  = memDoc(css, pageModTime, "text/css")
)

func memDoc(b []byte, mod time.Time, ctype string) doc {
	d := doc{body: b, size: int64(len(b)), mod: mod, ctype: ctype, status: 200}
	d.etag, d.lines = validators(mod, len(b))
	d.head = headLines(ctype, d.size, d.lines)
	return d
}

// headLines are a whole document's header lines after the status line.
func headLines(ctype string, size int64, validators string) string {
	return "Content-Type: " + ctype + "\r\nContent-Length: " + strconv.FormatInt(size, 10) + "\r\n" + validators + "Accept-Ranges: bytes\r\n"
}

// byteRange parses a Range field for a document of size bytes (RFC 9110
// §14.1.2): one range in bytes (first-last, first-, or -suffix). ok is
// false when the field is to be ignored (malformed, another unit, or
// several ranges, which a server may answer in full); satisfiable is false
// when it names no byte of the document (416).
func byteRange(v []byte, size int64) (off, n int64, ok, satisfiable bool) {
	spec, found := bytes.CutPrefix(bytes.TrimSpace(v), []byte("bytes="))
	if !found || bytes.IndexByte(spec, ',') >= 0 {
		return 0, 0, false, false
	}
	a, b, found := bytes.Cut(bytes.TrimSpace(spec), []byte("-"))
	if !found {
		return 0, 0, false, false
	}
	first, errA := strconv.ParseInt(string(a), 10, 64)
	last, errB := strconv.ParseInt(string(b), 10, 64)
	switch {
	case len(a) == 0 && errB == nil && len(b) > 0 && b[0] != '+': // -suffix
		if last == 0 || size == 0 {
			return 0, 0, true, false
		}
		n = min(last, size)
		return size - n, n, true, true
	case errA != nil || a[0] == '+' || first < 0:
		return 0, 0, false, false
	case len(b) == 0: // first-
		last = size - 1
	case errB != nil || b[0] == '+' || last < first:
		return 0, 0, false, false
	}
	if first >= size {
		return 0, 0, true, false
	}
	last = min(last, size-1)
	return first, last - first + 1, true, true
}

// rangeApplies reports whether If-Range (if any) lets Range apply: it
// names the current ETag (strong comparison) or Last-Modified date.
func rangeApplies(ifRange []byte, d *doc) bool {
	if len(ifRange) == 0 {
		return true
	}
	if ifRange[0] == '"' || bytes.HasPrefix(ifRange, []byte("W/")) {
		return string(ifRange) == d.etag
	}
	t, err := time.Parse(http1123, string(ifRange))
	return err == nil && t.Equal(d.mod.Truncate(time.Second))
}

// handle answers the request whose header section just ended.
func (s *session) handle(out []byte) ([]byte, bool) {
	_, minor := s.f.Version()
	if s.host > 1 || minor >= 1 && s.host == 0 || s.badHost || !nginxMethod(s.method) || !originOrAbsolute(s.target) {
		// RFC 9112 §3.2: exactly one Host, a valid one. The method and the
		// target's form are held to what nginx takes (see nginxMethod and
		// originOrAbsolute): a request nginx refuses, the responder
		// refuses too, so the two never differ on what is a message.
		return s.errorPage(out, 400, false), true
	}
	keep := s.f.KeepAlive() && !s.draining
	a := s.r.answer(&s.request)
	if a.status == 400 {
		keep = false // a malformed target ends the connection, as every 400 does
	}
	out = s.appendHeadNoLength(out, a.status, a.reason, keep, a.lines)
	if a.file != nil {
		s.file, s.fileOff, s.fileN = a.file, a.off, a.n
		return out, !keep
	}
	out = append(out, a.body...)
	return append(out, a.text...), !keep
}

// request is what the responder answers, whichever protocol carried it:
// the method, the target, and the fields it acts on.
type request struct {
	method, target, ifNoneMatch, ifModifiedSince, rng, ifRange []byte
	// hostValue is the request's Host (HTTP/1.1; valid when answered),
	// empty when it sent none: a redirect is then relative.
	hostValue []byte
	https     bool // the connection is over TLS
}

// reply is the responder's answer to a request before either protocol
// writes it: the status, the header lines that follow Server and Date
// (each "Name: value\r\n", as HTTP/1.1 sends them; HTTP/2 lowers the
// names), and the body: bytes in memory (body, or a fixed text), or a
// range of a file, which the caller sends and then closes.
type reply struct {
	status int
	reason string
	lines  string
	body   []byte
	text   string
	file   *os.File
	off, n int64
}

// location is the Location of a redirect to path, absolute as nginx's
// default (absolute_redirect on) writes it: the request's scheme (https
// over TLS) and the Host it sent, port included, so a client behind a
// forwarded port comes back the way it came. Without a Host (HTTP/1.0)
// it stays relative. The Host was checked (validHost) before any answer:
// no CR, LF or path in it.
func (q *request) location(path string) string {
	if len(q.hostValue) == 0 || !strings.HasPrefix(path, "/") {
		return path
	}
	scheme := "http://"
	if q.https {
		scheme = "https://"
	}
	return scheme + string(q.hostValue) + path
}

// textLines are the header lines of a plain-text body of n bytes.
func textLines(n int) string {
	return "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " + strconv.Itoa(n) + "\r\n"
}

// errorReply is status's plain-text answer, its reason phrase as the body.
func errorReply(status int) reply {
	text := statusText(status) + "\n"
	return reply{status: status, reason: statusText(status), lines: textLines(len(text)), text: text}
}

const (
	methodNotAllowedText = "method not allowed\n"
	movedText            = "Moved Permanently\n"
)

// methodNotAllowedLines are the 405's header lines, computed once.
var methodNotAllowedLines = textLines(len(methodNotAllowedText)) + "Allow: GET, HEAD\r\n"

// answer decides the reply to q: the brief's page or a file under Root,
// with RFC 9110's conditional requests and single byte ranges, for GET and
// HEAD (a HEAD's reply has no body); 405 for other methods.
func (r *Responder) answer(q *request) reply {
	isGet, isHead := string(q.method) == "GET", string(q.method) == "HEAD"
	if !isGet && !isHead {
		return reply{status: 405, reason: "Method Not Allowed", lines: methodNotAllowedLines, text: methodNotAllowedText}
	}
	var d doc
	if r.Root == nil && (string(q.target) == "/" || string(q.target) == "/index.html") {
		d = pageDoc // the brief's page, without allocating
	} else {
		d = r.lookup(string(q.target))
	}
	switch d.status {
	case 200:
	case 301:
		a := reply{status: 301, reason: "Moved Permanently", lines: textLines(len(movedText)) + "Location: " + q.location(d.redirect) + "\r\n"}
		if isGet {
			a.text = movedText
		}
		return a
	default:
		a := errorReply(d.status)
		if isHead {
			a.text = ""
		}
		return a
	}
	if notModified(q.ifNoneMatch, q.ifModifiedSince, d.etag, d.mod) {
		if d.file != nil {
			d.file.Close()
		}
		return reply{status: 304, reason: "Not Modified", lines: d.lines}
	}
	off, n := int64(0), d.size
	status, reason, contentRange := 200, "OK", ""
	if isGet && len(q.rng) > 0 && rangeApplies(q.ifRange, &d) {
		if o, k, ok, satisfiable := byteRange(q.rng, d.size); ok && !satisfiable {
			if d.file != nil {
				d.file.Close()
			}
			a := errorReply(416)
			a.lines += "Content-Range: bytes */" + strconv.FormatInt(d.size, 10) + "\r\n"
			return a
		} else if ok {
			off, n, status, reason = o, k, 206, "Partial Content"
			contentRange = "Content-Range: bytes " + strconv.FormatInt(o, 10) + "-" + strconv.FormatInt(o+k-1, 10) + "/" + strconv.FormatInt(d.size, 10) + "\r\n"
		}
	}
	a := reply{status: status, reason: reason, lines: d.head} // a document in memory's 200, computed once
	if status != 200 || a.lines == "" {
		a.lines = headLines(d.ctype, n, d.lines) + contentRange
	}
	switch {
	case !isGet:
		if d.file != nil {
			d.file.Close()
		}
	case d.file != nil:
		a.file, a.off, a.n = d.file, off, n
	default:
		a.body = d.body[off : off+n]
	}
	return a
}

// appendHeadNoLength writes every response's head, so it is where each
// response is counted.
func (s *session) appendHeadNoLength(out []byte, status int, reason string, keep bool, extra string) []byte {
	r := s.r
	if r.Statuses != nil {
		r.Statuses.Responded(status)
	}
	out = append(out, "HTTP/1.1 "...)
	out = strconv.AppendInt(out, int64(status), 10)
	out = append(out, ' ')
	out = append(out, reason...)
	out = append(out, "\r\nServer: sockit\r\nDate: "...)
	out = append(out, r.dateHeader()...)
	out = append(out, "\r\n"...)
	out = append(out, extra...)
	if keep {
		out = append(out, "Connection: keep-alive\r\n"...)
	} else {
		out = append(out, "Connection: close\r\n"...)
	}
	out = append(out, "\r\n"...)
	s.headEnd, s.status = len(out), status
	return out
}

func (s *session) errorPage(out []byte, status int, keep bool) []byte {
	a := errorReply(status)
	out = s.appendHeadNoLength(out, a.status, a.reason, keep, a.lines)
	return append(out, a.text...)
}

func statusText(code int) string {
	switch code {
	case 200:
		return "OK"
	case 304:
		return "Not Modified"
	case 400:
		return "Bad Request"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 414:
		return "URI Too Long"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 416:
		return "Range Not Satisfiable"
	case 501:
		return "Not Implemented"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Error"
}
