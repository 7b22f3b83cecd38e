package httpraw

import (
	"bytes"
	_ "embed"
	"errors"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/url"
	"os"
	"path"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/server"
)

//go:embed index.html
var page []byte

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
	// MaxFileBytes bounds a file served from Root; zero means 16 MiB.
	MaxFileBytes int64
	// Now is the clock for Date; nil means time.Now.
	Now func() time.Time

	date atomic.Pointer[dateCache]
}

type dateCache struct {
	sec int64
	val []byte
}

// Service returns the responder as a server.Service (streams only).
func Service(r *Responder) server.Service {
	return server.Service{Name: "http", Stream: r}
}

func (r *Responder) dateHeader() []byte {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	t := now()
	if c := r.date.Load(); c != nil && c.sec == t.Unix() {
		return c.val
	}
	c := &dateCache{sec: t.Unix(), val: []byte(t.UTC().Format(http1123))}
	r.date.Store(c)
	return c.val
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

// Open implements server.StreamHandler.
func (r *Responder) Open(net.Addr) server.Session { return &session{r: r} }

type session struct {
	r       *Responder
	f       Framer
	pending []byte // bytes received that the framer has not consumed yet
	// The request being read: its start line and the fields the responder
	// uses, copied out of the input (their capacity is reused).
	method, target, ifNoneMatch []byte
	host                        int  // Host fields seen
	draining                    bool // the server is shutting down: the next response is the last
}

func (s *session) Greet(buf []byte) ([]byte, bool) { return nil, false }

var _ server.Idler = (*session)(nil)

// Idle implements server.Idler: between requests (every one answered, none
// begun), a keep-alive connection can be closed on shutdown at once.
func (s *session) Idle() bool { return len(s.pending) == 0 && s.f.Idle() }

// Drain implements server.Idler: the request in progress is answered with
// Connection: close, and the connection ends there (as net/http does once
// Shutdown has begun).
func (s *session) Drain() { s.draining = true }

// Receive answers every complete request in the bytes so far. Requests are
// framed by the package's Framer in request mode; a request body (only a
// Content-Length one: a GET/HEAD server decodes no chunks) is read and
// dropped.
func (s *session) Receive(in, out []byte) ([]byte, bool) {
	if s.f.MaxHeaderBytes == 0 {
		s.f = Framer{Request: true, MaxHeaderBytes: s.r.maxRequest(), MaxFields: s.r.maxHeaders()}
	}
	data := in
	if len(s.pending) > 0 {
		s.pending = append(s.pending, in...)
		data = s.pending
	}
	for {
		ev, n := s.f.Next(data)
		data = data[n:]
		switch ev {
		case NeedMore:
			if len(data) == 0 {
				s.pending = nil
			} else {
				s.pending = append(s.pending[:0:0], data...)
			}
			return out, false
		case StartLine:
			s.method = append(s.method[:0], s.f.Method()...)
			s.target = append(s.target[:0], s.f.Target()...)
			s.ifNoneMatch, s.host = s.ifNoneMatch[:0], 0
		case FieldLine:
			switch name := s.f.Name(); {
			case equalFoldASCII(name, "host"):
				s.host++
			case equalFoldASCII(name, "if-none-match"):
				s.ifNoneMatch = append(s.ifNoneMatch[:0], s.f.Value()...)
			}
		case HeadEnd:
			var closeAfter bool
			out, closeAfter = s.handle(out)
			if closeAfter {
				s.pending = nil
				return out, true
			}
		case Failed:
			status := 400
			var me *MalformedError
			if errors.As(s.f.Err(), &me) && me.Status != 0 {
				status = me.Status
			}
			s.pending = nil
			return s.r.errorPage(out, status, false), true
		}
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

func equalFoldASCII(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// validators returns a document's ETag (nginx's form: hex mtime-size) and
// its Last-Modified and ETag header lines.
func validators(mod time.Time, size int) (etag, lines string) {
	etag = `"` + strconv.FormatInt(mod.Unix(), 16) + "-" + strconv.FormatInt(int64(size), 16) + `"`
	return etag, "Last-Modified: " + mod.UTC().Format(http1123) + "\r\nETag: " + etag + "\r\n"
}

// notModified reports whether If-None-Match names etag (or is "*").
func notModified(ifNoneMatch []byte, etag string) bool {
	return len(ifNoneMatch) > 0 && (string(ifNoneMatch) == "*" || bytes.Contains(ifNoneMatch, []byte(etag)))
}

// The embedded page's header lines, computed once.
var (
	pageETag, pageValidators = validators(pageModTime, len(page))
	pageHeaders              = "Content-Type: text/html\r\nContent-Length: " + strconv.Itoa(len(page)) + "\r\n" + pageValidators
)

// request is what handle needs of a request.
type request struct {
	method, target []byte
	keepAlive      bool
	ifNoneMatch    []byte
}

// handle answers the request whose header section just ended.
func (s *session) handle(out []byte) ([]byte, bool) {
	r := s.r
	_, minor := s.f.Version()
	if s.host > 1 || minor >= 1 && s.host == 0 {
		return r.errorPage(out, 400, false), true // RFC 9112 §3.2: exactly one Host
	}
	if s.f.Framing() == FramingChunked {
		// Request bodies are not for a GET/HEAD server; it decodes no
		// chunks, so it answers 501 and ends the connection.
		return r.errorPage(out, 501, false), true
	}
	req := request{method: s.method, target: s.target, keepAlive: s.f.KeepAlive() && !s.draining, ifNoneMatch: s.ifNoneMatch}
	isGet, isHead := string(req.method) == "GET", string(req.method) == "HEAD"
	if !isGet && !isHead {
		out = r.appendHead(out, 405, "Method Not Allowed", "text/plain; charset=utf-8", 19, req.keepAlive, "Allow: GET, HEAD\r\n")
		return append(out, "method not allowed\n"...), !req.keepAlive
	}
	// The brief's page, served from memory without allocating.
	if r.Root == nil && (string(req.target) == "/" || string(req.target) == "/index.html") {
		if notModified(req.ifNoneMatch, pageETag) {
			return r.appendHeadNoLength(out, 304, "Not Modified", req.keepAlive, pageValidators), !req.keepAlive
		}
		out = r.appendHeadNoLength(out, 200, "OK", req.keepAlive, pageHeaders)
		if isGet {
			out = append(out, page...)
		}
		return out, !req.keepAlive
	}
	body, modTime, ctype, status := r.lookup(string(req.target))
	if status != 200 {
		if isHead {
			return r.appendHead(out, status, statusText(status), "text/plain; charset=utf-8", len(statusText(status))+1, req.keepAlive, ""), !req.keepAlive
		}
		return r.errorPage(out, status, req.keepAlive), !req.keepAlive
	}
	etag, extra := validators(modTime, len(body))
	if notModified(req.ifNoneMatch, etag) {
		out = r.appendHeadNoLength(out, 304, "Not Modified", req.keepAlive, extra)
		return out, !req.keepAlive
	}
	out = r.appendHead(out, 200, "OK", ctype, len(body), req.keepAlive, extra)
	if isGet {
		out = append(out, body...)
	}
	return out, !req.keepAlive
}

func (r *Responder) appendHeadNoLength(out []byte, status int, reason string, keep bool, extra string) []byte {
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
	return append(out, "\r\n"...)
}

func (r *Responder) appendHead(out []byte, status int, reason, ctype string, length int, keep bool, extra string) []byte {
	extra = "Content-Type: " + ctype + "\r\nContent-Length: " + strconv.Itoa(length) + "\r\n" + extra
	return r.appendHeadNoLength(out, status, reason, keep, extra)
}

func (r *Responder) errorPage(out []byte, status int, keep bool) []byte {
	text := statusText(status) + "\n"
	out = r.appendHead(out, status, statusText(status), "text/plain; charset=utf-8", len(text), keep, "")
	return append(out, text...)
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
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	}
	return "Error"
}

// lookup finds the document for a request target.
func (r *Responder) lookup(target string) (body []byte, mod time.Time, ctype string, status int) {
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		// absolute-form (RFC 9112 §3.2.2): the path is what counts.
		if u, err := url.Parse(target); err == nil {
			target = u.RequestURI()
		}
	}
	p, _, _ := strings.Cut(target, "?")
	if !strings.HasPrefix(p, "/") {
		return nil, mod, "", 400
	}
	p, err := url.PathUnescape(p)
	if err != nil || strings.ContainsRune(p, 0) {
		return nil, mod, "", 400
	}
	p = path.Clean(p)
	if r.Root == nil {
		if p == "/" || p == "/index.html" {
			return page, pageModTime, "text/html", 200
		}
		return nil, mod, "", 404
	}
	rel := strings.TrimPrefix(p, "/")
	if rel == "" {
		rel = "."
	}
	f, err := r.Root.Open(rel)
	if err != nil {
		if p == "/" {
			return page, pageModTime, "text/html", 200
		}
		return nil, mod, "", fileStatus(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, mod, "", 500
	}
	if fi.IsDir() {
		f.Close()
		rel = path.Join(rel, "index.html")
		if f, err = r.Root.Open(rel); err != nil {
			if p == "/" {
				return page, pageModTime, "text/html", 200
			}
			return nil, mod, "", fileStatus(err)
		}
		if fi, err = f.Stat(); err != nil || fi.IsDir() {
			return nil, mod, "", 404
		}
	}
	maxFile := r.MaxFileBytes
	if maxFile <= 0 {
		maxFile = 16 << 20
	}
	if fi.Size() > maxFile {
		return nil, mod, "", 500
	}
	body, err = io.ReadAll(io.LimitReader(f, maxFile))
	if err != nil {
		return nil, mod, "", 500
	}
	ctype = mime.TypeByExtension(path.Ext(rel))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	return body, fi.ModTime(), ctype, 200
}

func fileStatus(err error) int {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 404
	case errors.Is(err, fs.ErrPermission):
		return 403
	}
	// os.Root refuses paths that escape it.
	return 404
}
