package httpraw

import (
	"bytes"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// The access log is nginx's "combined" format, one line per response:
//
//	$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent"
//
// as nginx writes it: $remote_user is always "-" (the responder has no
// authentication), $time_local is the server's local time to the second,
// an empty field is "-", a unix peer's address is "unix:", and in the
// request line, the referer and the user agent every byte a client could
// use to forge a line or a field — '"', '\', control bytes (CR and LF
// among them) and bytes above 0x7e — is written \xHH. $request is the
// request line as received; for a request the framer refused at its
// request line (a 400 or 505), the bytes of that line. $body_bytes_sent
// is the body of the response as answered: a HEAD or 304 sends none, and
// a file body counts whole even when the client leaves before its end.

// logBufs are the buffers lines are built in: a line is formatted and
// written at once, so a buffer per session would only hold memory.
var logBufs = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// logAccess writes the access log line of the response resp: its head
// (headLen bytes, status s.status) and any body in memory; a file body is
// s.fileN bytes more. line is the raw request line of a refused request,
// nil for one the framer parsed.
func (s *session) logAccess(resp []byte, headLen int, line []byte) {
	e := accessEntry{peer: s.peer, raw: line, status: s.status, body: int64(len(resp) - headLen),
		referer: s.referer, userAgent: s.userAgent}
	if line == nil && len(s.method) > 0 {
		e.method, e.target = s.method, s.target
		e.major, e.minor = s.f.Version()
	}
	if s.file != nil && !s.fileTaken {
		e.body += s.fileN
	}
	s.r.logEntry(&e)
}

// accessEntry is what one access log line says, whichever protocol
// carried the exchange.
type accessEntry struct {
	peer           netip.AddrPort
	method, target []byte // nil: no request line ("-")
	major, minor   int    // the request's HTTP version
	raw            []byte // a refused request line, as sent, instead of method and target
	status         int
	body           int64 // body bytes of the response
	referer        []byte
	userAgent      []byte
}

// logEntry writes e's line to the access log in one Write.
func (r *Responder) logEntry(e *accessEntry) {
	bp := logBufs.Get().(*[]byte)
	b := (*bp)[:0]
	if e.peer.Addr().IsValid() {
		b = e.peer.Addr().AppendTo(b)
	} else {
		b = append(b, "unix:"...)
	}
	b = append(b, " - - ["...)
	b = append(b, r.timeLocal()...)
	b = append(b, `] "`...)
	switch {
	case e.raw != nil:
		b = appendEscaped(b, e.raw)
	case len(e.method) > 0:
		b = appendEscaped(b, e.method)
		b = append(b, ' ')
		b = appendEscaped(b, e.target)
		b = append(b, " HTTP/"...)
		b = strconv.AppendInt(b, int64(e.major), 10)
		b = append(b, '.')
		b = strconv.AppendInt(b, int64(e.minor), 10)
	default:
		b = append(b, '-')
	}
	b = append(b, `" `...)
	b = strconv.AppendInt(b, int64(e.status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, e.body, 10)
	b = append(b, ` "`...)
	b = appendField(b, e.referer)
	b = append(b, `" "`...)
	b = appendField(b, e.userAgent)
	b = append(b, "\"\n"...)
	r.AccessLog.Write(b)
	*bp = b
	logBufs.Put(bp)
}

// appendField appends v escaped, or "-" when it is empty.
func appendField(b, v []byte) []byte {
	if len(v) == 0 {
		return append(b, '-')
	}
	return appendEscaped(b, v)
}

// appendEscaped appends v with '"', '\', control bytes and bytes above
// 0x7e written \xHH, as nginx's log escaping does.
func appendEscaped(b, v []byte) []byte {
	const hex = "0123456789ABCDEF"
	for _, c := range v {
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			b = append(b, '\\', 'x', hex[c>>4], hex[c&0xf])
			continue
		}
		b = append(b, c)
	}
	return b
}

// rawLine is the request line at the start of data (after the empty lines
// a client may send first, which the framer skips), without its line end,
// at most max bytes. A CR outside an empty line stays: it may be what the
// framer refused.
func rawLine(data []byte, max int) []byte {
	for len(data) > 0 {
		if data[0] == '\n' {
			data = data[1:]
		} else if len(data) > 1 && data[0] == '\r' && data[1] == '\n' {
			data = data[2:]
		} else {
			break
		}
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	data = bytes.TrimSuffix(data, []byte("\r"))
	if len(data) > max {
		data = data[:max]
	}
	return data
}

// timeLocal is $time_local, "26/Nov/2026:01:58:00 +0000", formatted once a
// second. It is the second of the Date header just written (every
// response has one), so a response reads the clock once.
func (r *Responder) timeLocal() []byte {
	sec := int64(0)
	if d := r.date.Load(); d != nil {
		sec = d.sec
	} else {
		sec = time.Now().Unix()
	}
	if c := r.localTime.Load(); c != nil && c.sec == sec {
		return c.val
	}
	c := &dateCache{sec: sec, val: []byte(time.Unix(sec, 0).Format("02/Jan/2006:15:04:05 -0700"))}
	r.localTime.Store(c)
	return c.val
}
