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
	r        *Responder
	pending  []byte // a request begun but not yet complete
	skip     int64  // request body bytes still to discard
	draining bool   // the server is shutting down: the next response is the last
}

func (s *session) Greet(buf []byte) ([]byte, bool) { return nil, false }

var _ server.Idler = (*session)(nil)

// Idle implements server.Idler: between requests (every one answered, none
// begun), a keep-alive connection can be closed on shutdown at once.
func (s *session) Idle() bool { return len(s.pending) == 0 && s.skip == 0 }

// Drain implements server.Idler: the request in progress is answered with
// Connection: close, and the connection ends there (as net/http does once
// Shutdown has begun).
func (s *session) Drain() { s.draining = true }

// Receive answers every complete request in the bytes so far.
func (s *session) Receive(in, out []byte) ([]byte, bool) {
	data := in
	if len(s.pending) > 0 {
		s.pending = append(s.pending, in...)
		data = s.pending
	}
	for {
		if s.skip > 0 {
			n := min(s.skip, int64(len(data)))
			data, s.skip = data[n:], s.skip-n
		}
		// RFC 9112 §2.2: ignore empty lines before a request line.
		for len(data) > 0 && (data[0] == '\r' || data[0] == '\n') {
			data = data[1:]
		}
		if len(data) == 0 {
			s.pending = nil
			return out, false
		}
		end := headerEnd(data)
		if end < 0 {
			if len(data) > s.r.maxRequest() {
				return s.r.errorPage(out, 431, false), true
			}
			s.pending = append(s.pending[:0:0], data...)
			return out, false
		}
		if end > s.r.maxRequest() {
			return s.r.errorPage(out, 431, false), true
		}
		var closeAfter bool
		out, closeAfter = s.handle(out, data[:end])
		data = data[end:]
		if closeAfter {
			s.pending = nil
			return out, true
		}
	}
}

func (r *Responder) maxRequest() int {
	if r.MaxRequestBytes > 0 {
		return r.MaxRequestBytes
	}
	return 8 << 10
}

// headerEnd returns the offset just past the blank line ending a header
// section (CRLF CRLF, or bare LFs), or -1.
func headerEnd(b []byte) int {
	i := 0
	for {
		j := bytes.IndexByte(b[i:], '\n')
		if j < 0 {
			return -1
		}
		i += j + 1
		if i < len(b) && b[i] == '\n' {
			return i + 1
		}
		if i+1 < len(b) && b[i] == '\r' && b[i+1] == '\n' {
			return i + 2
		}
	}
}

type request struct {
	method, target []byte // valid while the head is
	minor          int    // HTTP/1.minor
	keepAlive      bool
	host           bool
	ifNoneMatch    []byte
	contentLength  int64
	chunked        bool
}

// parse reads a request head without allocating; a non-zero status means a
// malformed one.
func (r *Responder) parse(head []byte) (req request, status int) {
	nl := bytes.IndexByte(head, '\n')
	if nl < 0 {
		return req, 400
	}
	rl := bytes.TrimSuffix(head[:nl], []byte("\r"))
	sp1 := bytes.IndexByte(rl, ' ')
	sp2 := bytes.LastIndexByte(rl, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 {
		return req, 400
	}
	method, target, proto := rl[:sp1], rl[sp1+1:sp2], rl[sp2+1:]
	if !isToken(method) || len(proto) != 8 || !bytes.HasPrefix(proto, []byte("HTTP/1.")) || proto[7] < '0' || proto[7] > '9' ||
		bytes.IndexByte(target, ' ') >= 0 {
		return req, 400
	}
	req.method, req.target, req.minor = method, target, int(proto[7]-'0')
	req.keepAlive = req.minor >= 1
	maxH := r.MaxHeaders
	if maxH <= 0 {
		maxH = 100
	}
	headers := 0
	for rest := head[nl+1:]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			i = len(rest)
		}
		l := bytes.TrimSuffix(rest[:i], []byte("\r"))
		rest = rest[min(i+1, len(rest)):]
		if len(l) == 0 {
			break
		}
		if headers++; headers > maxH {
			return req, 431
		}
		colon := bytes.IndexByte(l, ':')
		if colon <= 0 || !isToken(l[:colon]) {
			return req, 400
		}
		name, v := l[:colon], bytes.Trim(l[colon+1:], " \t")
		switch {
		case equalFoldASCII(name, "host"):
			if req.host {
				return req, 400 // RFC 9112 §3.2: more than one Host
			}
			req.host = true
		case equalFoldASCII(name, "connection"):
			for len(v) > 0 {
				tok := v
				if j := bytes.IndexByte(v, ','); j >= 0 {
					tok, v = v[:j], v[j+1:]
				} else {
					v = nil
				}
				tok = bytes.TrimSpace(tok)
				switch {
				case equalFoldASCII(tok, "close"):
					req.keepAlive = false
				case equalFoldASCII(tok, "keep-alive"):
					req.keepAlive = true
				}
			}
		case equalFoldASCII(name, "content-length"):
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 || (req.contentLength > 0 && n != req.contentLength) {
				return req, 400
			}
			req.contentLength = n
		case equalFoldASCII(name, "transfer-encoding"):
			req.chunked = true
		case equalFoldASCII(name, "if-none-match"):
			req.ifNoneMatch = v
		}
	}
	if req.minor >= 1 && !req.host {
		return req, 400
	}
	if req.chunked && req.contentLength > 0 {
		return req, 400
	}
	return req, 0
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

func (s *session) handle(out, head []byte) ([]byte, bool) {
	r := s.r
	req, status := r.parse(head)
	if status != 0 {
		return r.errorPage(out, status, false), true
	}
	if s.draining {
		req.keepAlive = false
	}
	if req.chunked {
		// Request bodies are not for a GET/HEAD server; without decoding
		// the chunks the connection cannot be framed, so it ends here.
		return r.errorPage(out, 501, false), true
	}
	s.skip = req.contentLength
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
