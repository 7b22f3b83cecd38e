// Package httpraw is HTTP/1.1 written by hand over a socket, as the brief
// does it, but correct: a request writer, a response reader that frames
// bodies by RFC 9112 §6.3, a keep-alive client with per-phase timings, and
// the small responder that stands in for the brief's web server.
//
// The response reader frames a message body in RFC 9112 §6.3 order:
//
//  1. a response to HEAD, and any 1xx, 204 or 304 response, has no body,
//     whatever its headers say;
//  2. Transfer-Encoding and Content-Length together are refused (request
//     smuggling, §6.3 rule 3);
//  3. Transfer-Encoding ending in chunked is read chunk by chunk, chunk
//     extensions ignored, trailers kept; any other Transfer-Encoding is read
//     until the connection closes;
//  4. a valid Content-Length (one value, or a list of identical ones) is
//     read exactly; any other Content-Length is an error;
//  5. otherwise the body runs until the connection closes.
//
// Interim 1xx responses before the final one are read and kept. Lines may
// end in a bare LF. Every malformed input is a *MalformedError naming the
// fault and the byte offset where it was found.
package httpraw

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// DefaultMaxHeaderBytes bounds a response's header section, as curl does.
const DefaultMaxHeaderBytes = 64 << 10

// MalformedError reports a response that breaks HTTP/1.1's grammar.
type MalformedError struct {
	Offset int64 // bytes of the connection's input read before the fault
	Msg    string
}

func (e *MalformedError) Error() string { return fmt.Sprintf("%s at byte %d", e.Msg, e.Offset) }

// ErrBodyTooLarge is returned when a body exceeds the caller's limit.
var ErrBodyTooLarge = errors.New("body larger than --max-bytes")

// Field is one header line, name and value as received.
type Field struct{ Name, Value string }

// Header is a response's header fields in order.
type Header []Field

// Get returns the first value of name (case-insensitive) and whether any.
func (h Header) Get(name string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Values returns every value of name, comma lists split and trimmed.
func (h Header) Values(name string) []string {
	var out []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			for _, v := range strings.Split(f.Value, ",") {
				if v = strings.TrimSpace(v); v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// has reports whether the comma list of name contains token.
func (h Header) has(name, token string) bool {
	for _, v := range h.Values(name) {
		if strings.EqualFold(v, token) {
			return true
		}
	}
	return false
}

// Response is one final response, with the interim ones that came first.
type Response struct {
	Proto   string // "HTTP/1.1"
	Status  int
	Reason  string
	Header  Header
	Trailer Header
	// Head is the header section exactly as received (status line through
	// the blank line), interim responses included.
	Head []byte
	// Interim holds 1xx responses received before this one.
	Interim []*Response
	// Framing says how the body was delimited: "none", "chunked",
	// "content-length" or "close".
	Framing string
	// KeepAlive reports whether the connection can carry another request.
	KeepAlive bool
}

// Reader reads responses from a connection, counting every byte consumed
// so errors can say where they are.
type Reader struct {
	br  *bufio.Reader
	off int64
	// MaxHeaderBytes bounds each header section; zero means
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// Raw, if set, receives every byte consumed, exactly as it arrived.
	Raw io.Writer
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{br: bufio.NewReaderSize(r, 32<<10)} }

// Offset returns the bytes consumed so far.
func (r *Reader) Offset() int64 { return r.off }

func (r *Reader) bad(format string, a ...any) error {
	return r.badAt(r.off, format, a...)
}

// badAt reports a fault found in the line that began at off.
func (r *Reader) badAt(off int64, format string, a ...any) error {
	return &MalformedError{Offset: off, Msg: fmt.Sprintf(format, a...)}
}

func (r *Reader) consumed(p []byte) {
	r.off += int64(len(p))
	if r.Raw != nil {
		r.Raw.Write(p)
	}
}

// line reads one line (LF or CRLF ended) of at most *budget bytes, which it
// decrements; it returns the line without its end.
func (r *Reader) line(budget *int, what string) ([]byte, error) {
	var full []byte
	for {
		frag, err := r.br.ReadSlice('\n')
		if len(full)+len(frag) > *budget {
			return nil, r.bad("%s longer than %d bytes", what, r.maxHeader())
		}
		if err == bufio.ErrBufferFull {
			full = append(full, frag...)
			r.consumed(frag)
			continue
		}
		r.consumed(frag)
		if err != nil {
			if err == io.EOF {
				if len(full)+len(frag) == 0 {
					return nil, io.EOF
				}
				return nil, r.bad("connection closed in the middle of the %s", what)
			}
			return nil, err
		}
		if full != nil {
			frag = append(full, frag...)
		}
		*budget -= len(frag)
		frag = frag[:len(frag)-1]
		return bytes.TrimSuffix(frag, []byte("\r")), nil
	}
}

func (r *Reader) maxHeader() int {
	if r.MaxHeaderBytes > 0 {
		return r.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

// ReadResponse reads the next response to a request with method, through
// its header section; the body is read with Body. io.EOF means the
// connection closed cleanly before a response began.
func (r *Reader) ReadResponse(method string) (*Response, error) {
	var interim []*Response
	var head bytes.Buffer
	for {
		resp, err := r.readHead(&head)
		if err != nil {
			if err == io.EOF && len(interim) > 0 {
				return nil, r.bad("connection closed after an interim response")
			}
			return nil, err
		}
		if resp.Status >= 100 && resp.Status < 200 && resp.Status != 101 {
			interim = append(interim, resp)
			continue
		}
		resp.Interim = interim
		resp.Head = head.Bytes()
		if err := r.frame(resp, method); err != nil {
			return nil, err
		}
		return resp, nil
	}
}

// readHead reads one status line and header section.
func (r *Reader) readHead(raw *bytes.Buffer) (*Response, error) {
	budget := r.maxHeader()
	tee := r.Raw
	r.Raw = io.MultiWriter(raw, nonNil(tee))
	defer func() { r.Raw = tee }()
	start := r.off
	status, err := r.line(&budget, "status line")
	if err != nil {
		return nil, err
	}
	resp := &Response{}
	if err := r.parseStatus(resp, string(status), start); err != nil {
		return nil, err
	}
	for {
		start = r.off
		l, err := r.line(&budget, "header section")
		if err == io.EOF {
			return nil, r.bad("connection closed in the middle of the header section")
		}
		if err != nil {
			return nil, err
		}
		if len(l) == 0 {
			return resp, nil
		}
		if l[0] == ' ' || l[0] == '\t' {
			// obs-fold (RFC 9112 §5.2): a client may replace it with a space.
			if len(resp.Header) == 0 {
				return nil, r.bad("header section starts with a continuation line")
			}
			last := &resp.Header[len(resp.Header)-1]
			last.Value = strings.TrimSpace(last.Value + " " + strings.TrimSpace(string(l)))
			continue
		}
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok || len(name) == 0 || !isToken(name) {
			return nil, r.badAt(start, "malformed header line %q", truncate(l))
		}
		resp.Header = append(resp.Header, Field{string(name), string(bytes.Trim(value, " \t"))})
	}
}

type discardWriter struct{}

func (discardWriter) Write(p []byte) (int, error) { return len(p), nil }

func nonNil(w io.Writer) io.Writer {
	if w == nil {
		return discardWriter{}
	}
	return w
}

func (r *Reader) parseStatus(resp *Response, l string, start int64) error {
	proto, rest, _ := strings.Cut(l, " ")
	if len(proto) != 8 || !strings.HasPrefix(proto, "HTTP/") || proto[5] < '0' || proto[5] > '9' || proto[6] != '.' || proto[7] < '0' || proto[7] > '9' {
		return r.badAt(start, "malformed status line %q", truncate([]byte(l)))
	}
	code, reason, _ := strings.Cut(rest, " ")
	n, err := strconv.Atoi(code)
	if len(code) != 3 || err != nil || n < 100 {
		return r.badAt(start+9, "malformed status code %q", truncate([]byte(code)))
	}
	resp.Proto, resp.Status, resp.Reason = proto, n, reason
	return nil
}

func isToken(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func truncate(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// frame decides how the body is delimited (the package doc's rules).
func (r *Reader) frame(resp *Response, method string) error {
	keep := resp.Proto == "HTTP/1.1" && !resp.Header.has("Connection", "close") ||
		resp.Proto == "HTTP/1.0" && resp.Header.has("Connection", "keep-alive")
	resp.KeepAlive = keep
	switch {
	case method == "HEAD" || resp.Status/100 == 1 || resp.Status == 204 || resp.Status == 304:
		resp.Framing = "none"
		return nil
	}
	te := resp.Header.Values("Transfer-Encoding")
	_, hasCL := resp.Header.Get("Content-Length")
	if len(te) > 0 {
		if hasCL {
			return r.bad("response has both Transfer-Encoding and Content-Length (request smuggling)")
		}
		if strings.EqualFold(te[len(te)-1], "chunked") {
			resp.Framing = "chunked"
			return nil
		}
		resp.Framing, resp.KeepAlive = "close", false
		return nil
	}
	if hasCL {
		if _, err := r.contentLength(resp.Header); err != nil {
			return err
		}
		resp.Framing = "content-length"
		return nil
	}
	resp.Framing, resp.KeepAlive = "close", false
	return nil
}

func (r *Reader) contentLength(h Header) (int64, error) {
	n := int64(-1)
	for _, v := range h.Values("Content-Length") {
		if v == "" || len(v) > 18 || strings.Trim(v, "0123456789") != "" {
			return 0, r.bad("invalid Content-Length %q", truncate([]byte(v)))
		}
		m, _ := strconv.ParseInt(v, 10, 64)
		if n >= 0 && m != n {
			return 0, r.bad("conflicting Content-Length values %d and %d", n, m)
		}
		n = m
	}
	if n < 0 {
		return 0, r.bad("empty Content-Length")
	}
	return n, nil
}

// Body copies resp's decoded body to w, at most max bytes (max <= 0: no
// bound), and returns the bytes written. Trailers of a chunked body are
// stored in resp.Trailer.
func (r *Reader) Body(resp *Response, w io.Writer, max int64) (int64, error) {
	if max <= 0 {
		max = 1<<63 - 1
	}
	switch resp.Framing {
	case "none":
		return 0, nil
	case "content-length":
		n, _ := r.contentLength(resp.Header)
		if n > max {
			return 0, ErrBodyTooLarge
		}
		got, err := r.copyN(w, n)
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return got, r.bad("connection closed after %d of %d body bytes", got, n)
		}
		return got, err
	case "chunked":
		return r.chunked(resp, w, max)
	}
	// Close-delimited.
	got, err := r.copyN(w, max)
	if err == io.EOF {
		return got, nil
	}
	if err == nil {
		// max reached: is there more?
		if _, perr := r.br.Peek(1); perr == nil {
			return got, ErrBodyTooLarge
		}
	}
	return got, err
}

// copyN copies exactly n bytes, or until EOF (returned as io.EOF).
func (r *Reader) copyN(w io.Writer, n int64) (int64, error) {
	var got int64
	for got < n {
		buf, err := r.br.Peek(min(r.br.Buffered(), int(min(n-got, 1<<30))))
		if len(buf) == 0 {
			if _, err = r.br.Peek(1); err != nil {
				return got, err
			}
			continue
		}
		if _, werr := w.Write(buf); werr != nil {
			return got, werr
		}
		r.consumed(buf)
		r.br.Discard(len(buf))
		got += int64(len(buf))
		if err != nil {
			return got, err
		}
	}
	return got, nil
}

func (r *Reader) chunked(resp *Response, w io.Writer, max int64) (int64, error) {
	var total int64
	for {
		budget := 4096
		start := r.off
		l, err := r.line(&budget, "chunk size line")
		if err == io.EOF {
			return total, r.bad("connection closed before the last chunk")
		}
		if err != nil {
			return total, err
		}
		sizeStr, _, _ := bytes.Cut(l, []byte(";"))
		sizeStr = bytes.TrimRight(sizeStr, " \t")
		if len(sizeStr) == 0 || len(sizeStr) > 15 || len(bytes.Trim(sizeStr, "0123456789abcdefABCDEF")) > 0 {
			return total, r.badAt(start, "malformed chunk size %q", truncate(sizeStr))
		}
		size, _ := strconv.ParseInt(string(sizeStr), 16, 64)
		if size == 0 {
			break
		}
		if total+size > max {
			return total, ErrBodyTooLarge
		}
		got, err := r.copyN(w, size)
		total += got
		if err != nil {
			if err == io.EOF {
				return total, r.bad("connection closed inside a chunk")
			}
			return total, err
		}
		budget = 2
		end, err := r.line(&budget, "chunk end")
		if err != nil || len(end) != 0 {
			return total, r.bad("chunk data not followed by CRLF")
		}
	}
	budget := r.maxHeader()
	for {
		l, err := r.line(&budget, "trailer section")
		if err == io.EOF {
			return total, r.bad("connection closed in the trailer section")
		}
		if err != nil {
			return total, err
		}
		if len(l) == 0 {
			return total, nil
		}
		name, value, ok := bytes.Cut(l, []byte(":"))
		if !ok || !isToken(name) || len(name) == 0 {
			return total, r.bad("malformed trailer line %q", truncate(l))
		}
		resp.Trailer = append(resp.Trailer, Field{string(name), string(bytes.Trim(value, " \t"))})
	}
}
