package httpraw

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// Event is what one call of Framer.Next found.
type Event uint8

// The events of a message, in order: StartLine, FieldLine..., HeadEnd, BodyData...,
// FieldLine... (trailers), MessageEnd. Failed ends the connection.
const (
	// NeedMore: p holds no complete element. Keep p's unconsumed bytes, add
	// what arrives next after them, and call Next again.
	NeedMore Event = iota
	// StartLine: a status line (Status, Reason, Version) or a request line
	// (Method, Target, Version).
	StartLine
	// FieldLine: a header field, or a trailer field when InTrailer; Name and
	// Value. Continued marks an obs-fold line continuing the previous
	// field's value (join them with one SP).
	FieldLine
	// HeadEnd: the blank line ending the header section; Framing,
	// KeepAlive and ContentLength are decided.
	HeadEnd
	// BodyData: decoded body bytes (chunk framing removed) in Data.
	BodyData
	// MessageEnd: the message is complete; the next byte begins the next one.
	MessageEnd
	// Failed: the input breaks HTTP/1.1's framing; Err says how. The framer
	// stays in this state: the connection cannot be resynchronized.
	Failed
)

var eventNames = [...]string{"need-more", "start", "field", "head-end", "body", "end", "error"}

func (e Event) String() string {
	if int(e) < len(eventNames) {
		return eventNames[e]
	}
	return "event(" + strconv.Itoa(int(e)) + ")"
}

// Framing says how a message body is delimited (RFC 9112 §6.3).
type Framing uint8

const (
	FramingNone    Framing = iota // no body
	FramingLength                 // Content-Length bytes
	FramingChunked                // chunked transfer coding
	FramingClose                  // until the connection closes (responses only)
)

func (f Framing) String() string {
	switch f {
	case FramingLength:
		return "content-length"
	case FramingChunked:
		return "chunked"
	case FramingClose:
		return "close"
	}
	return "none"
}

// maxChunkLine bounds a chunk-size line, extensions included.
const maxChunkLine = 4096

// Framer states.
const (
	stLine = iota
	stField
	stEnd // HeadEnd was reported and the message has no body: MessageEnd is next
	stLength
	stClose
	stChunkSize
	stChunkData
	stChunkEnd
	stTrailer
	stError
)

// Framer is HTTP/1.1 message framing (RFC 9112) as an incremental,
// allocation-free state machine, shared by every reader of HTTP in sockit:
// the client's Reader, both bench engines and the responder. The caller owns
// the bytes: it calls Next with everything received and not yet consumed,
// drops the n bytes Next consumed, and on NeedMore appends what arrives next.
// Slices the accessors return point into p and are valid until the caller
// reuses those bytes.
//
// Its zero value reads responses with a 64 KiB header section. It frames a
// response body in RFC 9112 §6.3 order:
//
//  1. a response to HEAD (AnswersHEAD), and any 1xx, 204 or 304 response,
//     has no body, whatever its fields say; a 1xx other than 101 is interim
//     and the final response follows it;
//  2. a Transfer-Encoding field beside a Content-Length field is refused in
//     any message, whatever its value (empty, repeated, a list, an unknown
//     coding): request smuggling, §6.1 and §6.3 rule 3;
//  3. Transfer-Encoding ending in chunked is read chunk by chunk, chunk
//     extensions ignored, trailers reported; any other Transfer-Encoding is
//     read until the connection closes;
//  4. a valid Content-Length (one value, or a list of identical ones) is
//     read exactly; any other Content-Length is an error;
//  5. otherwise a response's body runs until the connection closes, and a
//     request has none.
//
// A request is framed strictly, since a server that reads a request's
// framing unlike the proxy in front of it is how requests are smuggled; the
// request-side corpus (sockittest.HTTPRequestVectors) holds each rule
// against nginx. Where a response is read tolerantly, as RFC 9112 permits,
// a request is refused with 400 (the MalformedError's Status) and the
// connection must close:
//
//   - Transfer-Encoding must be one field line whose value is the single
//     coding "chunked" (any case, spaces around it); a repeated field, an
//     HTTP/1.0 request with one (§6.1), and a list whose last coding is
//     not chunked (§6.3 rule 4) are 400; a list ending in chunked after
//     another coding (gzip, chunked), or with a tab or an empty element
//     about it, is 501, codings this framer does not implement (§6.1);
//   - Content-Length must be one field line holding one number: a repeated
//     field or a list, even of identical values, is 400 (RFC 9110 §8.6
//     allows either);
//   - a bare CR or a NUL anywhere in a field line, header or trailer, is
//     400 (RFC 9112 §2.2, RFC 9110 §5.5), where a response has them
//     replaced by SP;
//   - a control byte in the request target is 400 (§3.2), and a request
//     line longer than the header section's bound is 414.
//
// Lines may end in a bare LF (§2.2). A bare CR (one not followed by LF) is
// handled per element, as §2.2 allows: in a start line or a chunk line,
// which decide framing, it is an error; in a response's field line it is
// replaced by SP, in place in p, before the field is reported, and so is a
// NUL (RFC 9110 §5.5). Every error is a *MalformedError naming the fault and
// its byte offset.
type Framer struct {
	// Request makes the framer read requests instead of responses.
	Request bool
	// AnswersHEAD marks the responses read as answers to HEAD: bodiless.
	AnswersHEAD bool
	// MaxHeaderBytes bounds a header (or trailer) section, start line and
	// blank line included; zero means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// MaxFields bounds the fields of a section; zero means no bound
	// beyond MaxHeaderBytes. More is an error with Status 431.
	MaxFields int

	state   uint8
	scan    int   // bytes of the pending line already searched for LF
	budget  int   // bytes of the current section so far
	fields  int   // fields of the current section so far
	off     int64 // bytes consumed since Reset
	began   bool  // a byte of the current message was consumed
	interim bool  // an interim response came before this one

	// The current message.
	major, minor      int8 // HTTP/major.minor
	status            int
	start1, start2    []byte // reason, or method and target
	name, value, data []byte
	continued         bool
	inTrailer         bool
	contentLength     int64 // -1 when absent
	te, chunked       bool  // Transfer-Encoding present; chunked is its last coding
	teRefused         int16 // a request's Transfer-Encoding is refused with this status (400 or 501)
	connClose         bool
	connKeep          bool
	lastFraming       bool // the previous field was Content-Length or Transfer-Encoding
	framing           Framing
	keep              bool
	left              int64 // body or chunk bytes still to come
	err               *MalformedError
}

// Reset readies f for a new connection, keeping its configuration.
func (f *Framer) Reset() {
	*f = Framer{Request: f.Request, AnswersHEAD: f.AnswersHEAD, MaxHeaderBytes: f.MaxHeaderBytes, MaxFields: f.MaxFields}
}

// Status is the status code (StartLine onwards; responses).
func (f *Framer) Status() int { return f.status }

// Reason is the reason phrase (StartLine event only; responses).
func (f *Framer) Reason() []byte { return f.start1 }

// Method is the request method (StartLine event only; requests).
func (f *Framer) Method() []byte { return f.start1 }

// Target is the request target (StartLine event only; requests).
func (f *Framer) Target() []byte { return f.start2 }

// Version is the message's HTTP version (StartLine onwards).
func (f *Framer) Version() (major, minor int) { return int(f.major), int(f.minor) }

// Name is the field's name (Field event only).
func (f *Framer) Name() []byte { return f.name }

// NameIs reports whether the field's name is lower, ignoring ASCII case
// (lower must be lower case), without allocating.
func (f *Framer) NameIs(lower string) bool { return equalFoldASCII(f.name, lower) }

// Value is the field's value, bare CRs replaced by SP (Field event only).
func (f *Framer) Value() []byte { return f.value }

// Continued reports an obs-fold line continuing the previous field.
func (f *Framer) Continued() bool { return f.continued }

// InTrailer reports a Field from the trailer section.
func (f *Framer) InTrailer() bool { return f.inTrailer }

// Data is the body bytes of a BodyData event.
func (f *Framer) Data() []byte { return f.data }

// Framing is how the body is delimited (HeadEnd onwards).
func (f *Framer) Framing() Framing { return f.framing }

// ContentLength is the Content-Length, or -1 when there is none.
func (f *Framer) ContentLength() int64 { return f.contentLength }

// KeepAlive reports whether the connection can carry another message
// after this one (HeadEnd onwards).
func (f *Framer) KeepAlive() bool { return f.keep }

// InBody reports that the framer is inside a message body that has a
// length or chunks: a connection closing now cut the body short.
func (f *Framer) InBody() bool {
	switch f.state {
	case stLength, stChunkSize, stChunkData, stChunkEnd, stTrailer:
		return true
	}
	return false
}

// Interim reports a 1xx response that the final response follows.
func (f *Framer) Interim() bool { return f.status >= 100 && f.status < 200 && f.status != 101 }

// Idle reports that no byte of a message has been consumed since the last
// MessageEnd (or Reset): a connection closing now closed between messages.
func (f *Framer) Idle() bool { return !f.began && f.scan == 0 }

// Offset is the bytes consumed since Reset.
func (f *Framer) Offset() int64 { return f.off }

// Err is the error of a Failed event.
func (f *Framer) Err() error {
	if f.err == nil {
		return nil
	}
	return f.err
}

func (f *Framer) maxHeader() int {
	if f.MaxHeaderBytes > 0 {
		return f.MaxHeaderBytes
	}
	return DefaultMaxHeaderBytes
}

// fail puts f in its error state; at is the offset of the fault.
func (f *Framer) fail(at int64, status int, format string, a ...any) (Event, int) {
	f.err = &MalformedError{Offset: at, Msg: fmt.Sprintf(format, a...), Status: status}
	f.state = stError
	return Failed, 0
}

// line finds the next line in p. It returns the line without its end and
// the bytes it took, or n == 0 when p holds no whole line yet. limit bounds
// the line; over it, ok is false.
func (f *Framer) line(p []byte, limit int) (line []byte, n int, ok bool) {
	i := bytes.IndexByte(p[f.scan:], '\n')
	if i < 0 {
		f.scan = len(p)
		return nil, 0, len(p) <= limit
	}
	n = f.scan + i + 1
	f.scan = 0
	if n > limit {
		return nil, 0, false
	}
	line = p[:n-1]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, n, true
}

// consume accounts for n bytes taken from p.
func (f *Framer) consume(n int) {
	f.off += int64(n)
	if n > 0 {
		f.began = true
	}
}

// Next reads the next element from p, the unconsumed bytes received so far,
// and returns what it found and how many bytes of p it consumed.
func (f *Framer) Next(p []byte) (Event, int) {
	switch f.state {
	case stLine:
		return f.startLine(p)
	case stField, stTrailer:
		return f.field(p)
	case stEnd:
		return f.end()
	case stLength, stChunkData:
		if f.left == 0 {
			if f.state == stLength {
				return f.end()
			}
			f.state = stChunkEnd
			return f.Next(p)
		}
		if len(p) == 0 {
			return NeedMore, 0
		}
		n := int(min(int64(len(p)), f.left))
		f.left -= int64(n)
		f.data = p[:n]
		f.consume(n)
		return BodyData, n
	case stClose:
		if len(p) == 0 {
			return NeedMore, 0
		}
		f.data = p
		f.consume(len(p))
		return BodyData, len(p)
	case stChunkSize:
		return f.chunkSize(p)
	case stChunkEnd:
		// The CRLF (or bare LF) after chunk data.
		if len(p) == 0 || p[0] == '\r' && len(p) == 1 {
			return NeedMore, 0
		}
		n := 1
		if p[0] == '\r' {
			n = 2
		}
		if p[n-1] != '\n' {
			return f.fail(f.off, 400, "chunk data not followed by CRLF")
		}
		f.consume(n)
		f.state = stChunkSize
		ev, m := f.Next(p[n:])
		return ev, n + m
	}
	return Failed, 0
}

func (f *Framer) end() (Event, int) {
	f.state = stLine
	// After an interim response the final one follows: the exchange has
	// begun, and a close now is not between messages.
	f.interim = !f.Request && f.Interim()
	f.began = f.interim
	return MessageEnd, 0
}

func (f *Framer) startLine(p []byte) (Event, int) {
	skipped := 0
	for {
		start := f.off
		l, n, ok := f.line(p, f.maxHeader())
		if !ok {
			if f.Request {
				// The request line alone is over the bound: its target is
				// too long (RFC 9110 §15.5.15), as nginx answers.
				return f.fail(start, 414, "request line longer than %d bytes", f.maxHeader())
			}
			return f.fail(start, 431, "header section longer than %d bytes", f.maxHeader())
		}
		if n == 0 {
			return NeedMore, skipped
		}
		if f.Request && len(l) == 0 {
			// RFC 9112 §2.2: empty lines before a request line are ignored.
			f.off += int64(n)
			p, skipped = p[n:], skipped+n
			continue
		}
		// A new message: clear what the last one left.
		f.budget, f.fields = n, 0
		f.status, f.start1, f.start2 = 0, nil, nil
		f.contentLength, f.te, f.chunked, f.teRefused, f.connClose, f.connKeep = -1, false, false, 0, false, false
		f.inTrailer, f.lastFraming, f.framing = false, false, FramingNone
		// Bare CR in a start line: the element is invalid (§2.2), since it
		// decides how everything after it is read.
		if bytes.IndexByte(l, '\r') >= 0 {
			if f.Request {
				return f.fail(start, 400, "bare CR in the request line")
			}
			return f.fail(start, 400, "bare CR in the status line")
		}
		var ev Event
		if f.Request {
			ev = f.requestLine(l, start)
		} else {
			ev = f.statusLine(l, start)
		}
		if ev == Failed {
			return ev, 0
		}
		f.consume(n)
		f.state = stField
		return StartLine, skipped + n
	}
}

// version parses "HTTP/d.d".
func version(b []byte) (major, minor int8, ok bool) {
	if len(b) != 8 || string(b[:5]) != "HTTP/" || b[5] < '0' || b[5] > '9' || b[6] != '.' || b[7] < '0' || b[7] > '9' {
		return 0, 0, false
	}
	return int8(b[5] - '0'), int8(b[7] - '0'), true
}

func (f *Framer) statusLine(l []byte, start int64) Event {
	proto, rest, _ := bytes.Cut(l, []byte(" "))
	major, minor, ok := version(proto)
	if !ok {
		f.fail(start, 400, "malformed status line %q", truncate(l))
		return Failed
	}
	code, reason, _ := bytes.Cut(rest, []byte(" "))
	n := 0
	for _, c := range code {
		if c < '0' || c > '9' {
			n = -1
			break
		}
		n = n*10 + int(c-'0')
	}
	if len(code) != 3 || n < 100 {
		f.fail(start+9, 400, "malformed status code %q", truncate(code))
		return Failed
	}
	f.major, f.minor, f.status, f.start1 = major, minor, n, reason
	return StartLine
}

func (f *Framer) requestLine(l []byte, start int64) Event {
	sp1 := bytes.IndexByte(l, ' ')
	sp2 := bytes.LastIndexByte(l, ' ')
	if sp1 <= 0 || sp2 <= sp1+1 {
		f.fail(start, 400, "malformed request line %q", truncate(l))
		return Failed
	}
	method, target, proto := l[:sp1], l[sp1+1:sp2], l[sp2+1:]
	major, minor, ok := version(proto)
	if !isToken(method) || !ok || hasCTLOrSP(target) {
		// A target is visible characters (obs-text tolerated, as nginx
		// does): a space, tab, NUL or other control byte makes the
		// request line invalid (RFC 9112 §3.2).
		f.fail(start, 400, "malformed request line %q", truncate(l))
		return Failed
	}
	if major != 1 {
		// A well-formed version this framer does not speak (HTTP/2.0 as
		// text, HTTP/0.x): 505, as nginx answers (RFC 9110 §15.6.6).
		f.fail(start, 505, "unsupported HTTP version %q", truncate(proto))
		return Failed
	}
	f.major, f.minor, f.start1, f.start2 = major, minor, method, target
	return StartLine
}

func (f *Framer) field(p []byte) (Event, int) {
	start := f.off
	l, n, ok := f.line(p, f.maxHeader()-f.budget)
	section := "header section"
	if f.state == stTrailer {
		section = "trailer section"
	}
	if !ok {
		return f.fail(start, 431, "%s longer than %d bytes", section, f.maxHeader())
	}
	if n == 0 {
		return NeedMore, 0
	}
	f.budget += n
	f.continued = false
	if len(l) == 0 {
		f.consume(n)
		if f.state == stTrailer {
			ev, _ := f.end()
			return ev, n
		}
		if ev := f.decide(); ev == Failed {
			return ev, 0
		}
		return HeadEnd, n
	}
	if f.fields++; f.MaxFields > 0 && f.fields > f.MaxFields {
		return f.fail(start, 431, "more than %d fields", f.MaxFields)
	}
	// A bare CR or a NUL in a field line (§2.2, RFC 9110 §5.5). In a
	// request it is refused: a CR can hide a field that frames the
	// message (x:\rTransfer-Encoding: chunked) from one reader and not
	// another, and nginx refuses both. In a response it is replaced by SP
	// before the field is used; a CR in a name still fails below, as a
	// name must be a token.
	for i := bytes.IndexAny(l, "\r\x00"); i >= 0; i = bytes.IndexAny(l, "\r\x00") {
		if f.Request {
			what := "CR"
			if l[i] == 0 {
				what = "NUL"
			}
			return f.fail(start+int64(i), 400, "bare %s in a %s line", what, strings.TrimSuffix(section, " section"))
		}
		l[i] = ' '
	}
	if l[0] == ' ' || l[0] == '\t' {
		// obs-fold (§5.2): a recipient of a response may replace it with
		// SP; a server may refuse it, and does. A fold of a field that
		// frames the message is refused either way.
		if f.fields == 1 || f.Request || f.lastFraming {
			return f.fail(start, 400, "obsolete line folding in the %s", section)
		}
		f.fields--
		f.name, f.value, f.continued = nil, trimOWS(l), true
		f.consume(n)
		return FieldLine, n
	}
	colon := bytes.IndexByte(l, ':')
	if colon <= 0 || !isToken(l[:colon]) {
		what := "header"
		if f.state == stTrailer {
			what = "trailer"
		}
		return f.fail(start, 400, "malformed %s line %q", what, truncate(l))
	}
	f.name, f.value = l[:colon], trimOWS(l[colon+1:])
	f.lastFraming = false
	if f.state == stField {
		if ev := f.framingField(start, l[colon+1:]); ev == Failed {
			return ev, 0
		}
	}
	f.inTrailer = f.state == stTrailer
	f.consume(n)
	return FieldLine, n
}

// framingField notes the fields that decide framing and persistence; raw
// is the field's value untrimmed.
func (f *Framer) framingField(start int64, raw []byte) Event {
	switch {
	case equalFoldASCII(f.name, "content-length"):
		f.lastFraming = true
		if f.Request {
			// One field line, one number (Framer's doc).
			if f.contentLength >= 0 {
				f.fail(start, 400, "repeated Content-Length")
				return Failed
			}
			if bytes.IndexByte(f.value, ',') >= 0 {
				f.fail(start, 400, "invalid Content-Length %q", truncate(f.value))
				return Failed
			}
		}
		found := false
		for v := f.value; len(v) > 0 || !found; {
			var elem []byte
			elem, v, _ = bytes.Cut(v, []byte(","))
			elem = trimOWS(elem)
			if len(elem) == 0 {
				if len(v) == 0 && !found {
					f.fail(start, 400, "invalid Content-Length %q", truncate(f.value))
					return Failed
				}
				continue
			}
			found = true
			n := int64(0)
			for _, c := range elem {
				if c < '0' || c > '9' || len(elem) > 18 {
					f.fail(start, 400, "invalid Content-Length %q", truncate(f.value))
					return Failed
				}
				n = n*10 + int64(c-'0')
			}
			if f.contentLength >= 0 && n != f.contentLength {
				f.fail(start, 400, "conflicting Content-Length values %d and %d", f.contentLength, n)
				return Failed
			}
			f.contentLength = n
		}
	case equalFoldASCII(f.name, "transfer-encoding"):
		f.lastFraming = true
		if f.Request && f.te {
			f.teRefused = 400 // two field lines: readers disagree on which counts
		}
		f.te = true // present, whatever its value
		for v := f.value; len(v) > 0; {
			var elem []byte
			elem, v, _ = bytes.Cut(v, []byte(","))
			if elem = trimOWS(elem); len(elem) > 0 {
				f.chunked = equalFoldASCII(elem, "chunked")
			}
		}
		if f.Request && f.teRefused == 0 {
			switch {
			case !f.chunked:
				f.teRefused = 400 // §6.3 rule 4
			case !equalFoldASCII(bytes.Trim(raw, " "), "chunked"):
				f.teRefused = 501 // another coding, or a tab or list about chunked
			}
		}
	case equalFoldASCII(f.name, "connection"):
		for v := f.value; len(v) > 0; {
			var elem []byte
			elem, v, _ = bytes.Cut(v, []byte(","))
			switch elem = trimOWS(elem); {
			case equalFoldASCII(elem, "close"):
				f.connClose = true
			case equalFoldASCII(elem, "keep-alive"):
				f.connKeep = true
			}
		}
	}
	return StartLine
}

// decide frames the body once the header section is complete (the rules
// in Framer's doc).
func (f *Framer) decide() Event {
	if f.te && f.contentLength >= 0 {
		f.fail(f.off, 400, "message has both Transfer-Encoding and Content-Length (request smuggling)")
		return Failed
	}
	if f.Request && f.te {
		switch {
		case f.minor == 0:
			f.fail(f.off, 400, "HTTP/1.0 request with Transfer-Encoding")
			return Failed
		case f.teRefused == 501:
			f.fail(f.off, 501, "request Transfer-Encoding other than chunked alone")
			return Failed
		case f.teRefused != 0:
			f.fail(f.off, 400, "request Transfer-Encoding not ending in chunked once")
			return Failed
		}
	}
	f.keep = f.major == 1 && (f.minor >= 1 && !f.connClose || f.minor == 0 && f.connKeep)
	f.state, f.left = stEnd, 0
	switch {
	case f.Request:
		switch {
		case f.te:
			f.framing, f.state = FramingChunked, stChunkSize
		case f.contentLength > 0:
			f.framing, f.state, f.left = FramingLength, stLength, f.contentLength
		case f.contentLength == 0:
			f.framing = FramingLength
		}
	case f.status == 101:
		f.keep = false // the connection now speaks another protocol
	case f.AnswersHEAD || f.status < 200 || f.status == 204 || f.status == 304:
	case f.te && f.chunked:
		f.framing, f.state = FramingChunked, stChunkSize
	case f.contentLength >= 0:
		f.framing, f.state, f.left = FramingLength, stLength, f.contentLength
	default:
		f.framing, f.state, f.keep = FramingClose, stClose, false
	}
	return HeadEnd
}

func (f *Framer) chunkSize(p []byte) (Event, int) {
	start := f.off
	l, n, ok := f.line(p, maxChunkLine)
	if !ok {
		return f.fail(start, 400, "chunk size line longer than %d bytes", maxChunkLine)
	}
	if n == 0 {
		return NeedMore, 0
	}
	size, ext, _ := bytes.Cut(l, []byte(";"))
	size = bytes.TrimRight(size, " \t")
	// Bare CR in a chunk line: invalid (§2.2), as it frames the body.
	if bytes.IndexByte(ext, '\r') >= 0 || bytes.IndexByte(size, '\r') >= 0 {
		return f.fail(start, 400, "bare CR in a chunk size line")
	}
	digits := size
	for len(digits) > 1 && digits[0] == '0' {
		digits = digits[1:] // leading zeros do not count towards the bound
	}
	if len(size) == 0 || len(digits) > 15 {
		return f.fail(start, 400, "malformed chunk size %q", truncate(size))
	}
	var v int64
	for _, c := range digits {
		switch {
		case '0' <= c && c <= '9':
			v = v<<4 | int64(c-'0')
		case 'a' <= c && c <= 'f':
			v = v<<4 | int64(c-'a'+10)
		case 'A' <= c && c <= 'F':
			v = v<<4 | int64(c-'A'+10)
		default:
			return f.fail(start, 400, "malformed chunk size %q", truncate(size))
		}
	}
	f.consume(n)
	if v == 0 {
		f.state, f.budget, f.fields = stTrailer, 0, 0
	} else {
		f.state, f.left = stChunkData, v
	}
	ev, m := f.Next(p[n:])
	return ev, n + m
}

// EOF reports the connection's end to the framer after Next returned
// NeedMore: MessageEnd when it completes a body read until close, otherwise Failed
// (see Err; Idle tells whether the connection closed between messages).
func (f *Framer) EOF() Event {
	msg := ""
	switch f.state {
	case stClose, stEnd:
		ev, _ := f.end()
		return ev
	case stError:
		return Failed
	case stLine:
		switch {
		case f.interim && f.scan == 0:
			msg = "connection closed after an interim response"
		case f.Idle():
			if f.Request {
				msg = "connection closed before a request"
			} else {
				msg = "connection closed before a response"
			}
		case f.Request:
			msg = "connection closed in the middle of the request line"
		default:
			msg = "connection closed in the middle of the status line"
		}
	case stField:
		msg = "connection closed in the middle of the header section"
	case stLength:
		f.fail(f.off, 400, "connection closed after %d of %d body bytes", f.contentLength-f.left, f.contentLength)
		return Failed
	case stChunkSize, stChunkEnd:
		msg = "connection closed before the last chunk"
	case stChunkData:
		msg = "connection closed inside a chunk"
	case stTrailer:
		msg = "connection closed in the trailer section"
	}
	f.fail(f.off, 400, "%s", msg)
	return Failed
}

// hasCTLOrSP reports a space or a control byte (DEL included) in b.
func hasCTLOrSP(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c == 0x7f {
			return true
		}
	}
	return false
}

func trimOWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// tchar marks the bytes of a token (RFC 9110 §5.6.2).
var tchar = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = !strings.ContainsRune(`"(),/:;<=>?@[\]{}`, c)
	}
	return t
}()

func isToken(b []byte) bool {
	for _, c := range b {
		if !tchar[c] {
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

// equalFoldASCII reports whether b is lower, ignoring ASCII case.
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
