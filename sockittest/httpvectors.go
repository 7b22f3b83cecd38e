package sockittest

import "strings"

// HTTPResponseVector is a crafted response and what every reader of HTTP
// must make of it: sockit's client and both bench engines are tested over
// the same table, so they cannot drift apart.
type HTTPResponseVector struct {
	Name     string
	Method   string // the request's method; "" means GET
	Response string
	// Err, when set, says the response must fail, and is part of the
	// client's error message.
	Err string
	// For a response read whole: its status (zero means 200), decoded
	// body, framing ("none", "content-length", "chunked" or "close"), and
	// where set one trailer and one header field as "Name=Value".
	Status  int
	Body    string
	Framing string
	Trailer string
	Header  string
}

// WantStatus is the final status a reader must report.
func (v HTTPResponseVector) WantStatus() int {
	if v.Status == 0 {
		return 200
	}
	return v.Status
}

// HTTPResponseVectors is the framing table: RFC 9112 §6.3's rules, bare LF
// and bare CR (§2.2), and malformed and truncated responses.
var HTTPResponseVectors = []HTTPResponseVector{
	{Name: "content-length", Response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", Body: "hello", Framing: "content-length"},
	{Name: "identical content-lengths", Response: "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", Body: "hello", Framing: "content-length"},
	{Name: "conflicting content-lengths", Response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", Err: "conflicting Content-Length"},
	{Name: "invalid content-length", Response: "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", Err: `invalid Content-Length "-5" at byte`},
	{Name: "short body", Response: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", Err: "closed after 5 of 10 body bytes"},
	{Name: "chunked with extensions and trailers", Response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n",
		Body: "hello world", Framing: "chunked", Trailer: "X-Sum=42"},
	{Name: "chunked upper-case hex", Response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", Body: "0123456789", Framing: "chunked"},
	{Name: "chunked with bare LFs", Response: "HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n3\nabc\n0\n\n", Body: "abc", Framing: "chunked"},
	{Name: "malformed chunk size", Response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", Err: `malformed chunk size "zz" at byte 47`},
	{Name: "signed chunk size", Response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\nhello\r\n0\r\n\r\n", Err: `malformed chunk size "-5"`},
	{Name: "chunk without CRLF", Response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n", Err: "not followed by CRLF"},
	{Name: "chunked cut short", Response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", Err: "closed inside a chunk"},
	{Name: "chunked without the last chunk", Response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n", Err: "closed before the last chunk"},
	{Name: "TE and CL is smuggling", Response: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", Err: "smuggling"},
	{Name: "CL and TE is smuggling", Response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\nhello", Err: "smuggling"},
	{Name: "empty TE beside CL is smuggling", Response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding:\r\n\r\nhello", Err: "smuggling"},
	{Name: "empty TEs and CL is smuggling", Response: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nTransfer-Encoding:\r\nTransfer-Encoding:\r\n\r\n2\r\nAA\r\n0\r\n\r\n", Err: "smuggling"},
	{Name: "gzip TE beside CL is smuggling", Response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\nxyz", Err: "smuggling"},
	{Name: "odd-case TE beside CL is smuggling", Response: "HTTP/1.1 200 OK\r\ntransfer-encoding: CHUNKED\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", Err: "smuggling"},
	{Name: "other transfer coding runs to close", Response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nxyz", Body: "xyz", Framing: "close"},
	{Name: "close-delimited", Response: "HTTP/1.1 200 OK\r\n\r\nuntil the end", Body: "until the end", Framing: "close"},
	{Name: "HTTP/1.0 close-delimited", Response: "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nold body", Body: "old body", Framing: "close"},
	{Name: "HEAD has no body", Method: "HEAD", Response: "HTTP/1.1 200 OK\r\nContent-Length: 394\r\n\r\n", Framing: "none"},
	{Name: "204 has no body", Response: "HTTP/1.1 204 No Content\r\nContent-Length: 12\r\n\r\n", Status: 204, Framing: "none"},
	{Name: "304 has no body", Response: "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", Status: 304, Framing: "none"},
	{Name: "interim 100 and 103", Response: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", Body: "ok", Framing: "content-length"},
	{Name: "closed after interim", Response: "HTTP/1.1 100 Continue\r\n\r\n", Err: "closed after an interim response"},
	{Name: "bare LF line ends", Response: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", Body: "ok", Framing: "content-length"},
	{Name: "bare CR in a field value is SP", Response: "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\nok", Body: "ok", Header: "X-A=a b"},
	{Name: "NUL in a field value is SP", Response: "HTTP/1.1 200 OK\r\nX-A: a\x00b\r\nContent-Length: 2\r\n\r\nok", Body: "ok", Header: "X-A=a b"},
	{Name: "bare CR in the status line", Response: "HTTP/1.1 200\rOK\r\nContent-Length: 2\r\n\r\nok", Err: "bare CR in the status line"},
	{Name: "bare CR in a chunk line", Response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\r\nok\r\n0\r\n\r\n", Err: "bare CR in a chunk size line"},
	{Name: "obs-fold joined", Response: "HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 0\r\n\r\n", Framing: "content-length", Header: "X-Long=a b"},
	{Name: "folded Content-Length", Response: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n 2\r\n\r\nok", Err: "obsolete line folding"},
	{Name: "bad status line", Response: "HTTP/1.1 2xx OK\r\n\r\n", Err: `malformed status code "2xx" at byte 9`},
	{Name: "not HTTP", Response: "SSH-2.0-OpenSSH\r\n\r\n", Err: "malformed status line"},
	{Name: "bad header line", Response: "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", Err: "malformed header line"},
	{Name: "space before colon", Response: "HTTP/1.1 200 OK\r\nContent-Length : 2\r\n\r\nok", Err: "malformed header line"},
	{Name: "head cut short", Response: "HTTP/1.1 200 OK\r\nContent-Le", Err: "closed in the middle of the header section"},
	{Name: "empty reply", Response: "", Err: "closed before a response"},
	{Name: "huge header section", Response: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 70000) + "\r\n\r\n", Err: "longer than 65536 bytes"},
	{Name: "large header section within bounds", Response: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 60000) + "\r\nContent-Length: 1\r\n\r\n!", Body: "!", Framing: "content-length"},
}
