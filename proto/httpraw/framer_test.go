package httpraw_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sockit/sockit/proto/httpraw"
)

// trace feeds in to a fresh framer step bytes at a time, as a connection
// delivering them would, and writes down every event; consecutive body
// bytes are joined, so any split gives the same trace.
func trace(in []byte, step int, cfg httpraw.Framer) string {
	f := cfg
	f.Reset()
	var b strings.Builder
	var pending []byte
	in = append([]byte(nil), in...) // the framer may rewrite bare CRs in place
	inBody := false
	for fed := 0; ; {
		ev, n := f.Next(pending)
		if ev != httpraw.BodyData && ev != httpraw.NeedMore && inBody {
			b.WriteString("|")
			inBody = false
		}
		switch ev {
		case httpraw.NeedMore:
			pending = pending[n:]
			if fed == len(in) {
				if inBody {
					b.WriteString("|")
				}
				ev = f.EOF()
				if ev == httpraw.MessageEnd {
					b.WriteString("end(eof)|")
					if len(pending) != 0 {
						b.WriteString("leftover|")
					}
				} else {
					fmt.Fprintf(&b, "error %v idle=%v|", f.Err(), f.Idle())
				}
				return b.String()
			}
			k := min(step, len(in)-fed)
			if step <= 0 {
				k = len(in)
			}
			pending = append(pending, in[fed:fed+k]...)
			fed += k
			continue
		case httpraw.StartLine:
			if cfg.Request {
				fmt.Fprintf(&b, "request %s %s|", f.Method(), f.Target())
			} else {
				fmt.Fprintf(&b, "status %d %s|", f.Status(), f.Reason())
			}
		case httpraw.FieldLine:
			fmt.Fprintf(&b, "field %q=%q cont=%v trailer=%v|", f.Name(), f.Value(), f.Continued(), f.InTrailer())
		case httpraw.HeadEnd:
			fmt.Fprintf(&b, "head-end %s keep=%v|", f.Framing(), f.KeepAlive())
		case httpraw.BodyData:
			if !inBody {
				b.WriteString("body ")
				inBody = true
			}
			b.Write(f.Data())
		case httpraw.MessageEnd:
			b.WriteString("end|")
		case httpraw.Failed:
			fmt.Fprintf(&b, "error %v|", f.Err())
			return b.String()
		}
		pending = pending[n:]
	}
}

func TestFramerEvents(t *testing.T) {
	tests := []struct {
		name string
		req  bool
		head bool
		in   string
		want string
	}{
		{name: "content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
			want: `status 200 OK|field "Content-Length"="5" cont=false trailer=false|head-end content-length keep=true|body hello|end|error connection closed before a response at byte 43 idle=true|`},
		{name: "chunked with trailer", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX: 1\r\n\r\n",
			want: `status 200 OK|field "Transfer-Encoding"="chunked" cont=false trailer=false|head-end chunked keep=true|body hello|field "X"="1" cont=false trailer=true|end|error connection closed before a response at byte 72 idle=true|`},
		{name: "close-delimited", in: "HTTP/1.0 200 OK\n\nall of it",
			want: `status 200 OK|head-end close keep=false|body all of it|end(eof)|`},
		{name: "bare CR in a field value becomes SP", in: "HTTP/1.1 204 No Content\r\nX: a\rb\r\n\r\n",
			want: `status 204 No Content|field "X"="a b" cont=false trailer=false|head-end none keep=true|end|error connection closed before a response at byte 35 idle=true|`},
		{name: "bare CR in the status line is refused", in: "HTTP/1.1 200 O\rK\r\n\r\n",
			want: `error bare CR in the status line at byte 0|`},
		{name: "bare CR in a chunk line is refused", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r;x\r\nhello\r\n0\r\n\r\n",
			want: `status 200 OK|field "Transfer-Encoding"="chunked" cont=false trailer=false|head-end chunked keep=true|error bare CR in a chunk size line at byte 47|`},
		{name: "TE and CL refused", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
			want: `status 200 OK|field "Transfer-Encoding"="chunked" cont=false trailer=false|field "Content-Length"="1" cont=false trailer=false|error message has both Transfer-Encoding and Content-Length (request smuggling) at byte 66|`},
		{name: "HEAD answer", head: true, in: "HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
			want: `status 200 OK|field "Content-Length"="9" cont=false trailer=false|head-end none keep=true|end|status 200 OK|field "Content-Length"="9" cont=false trailer=false|head-end none keep=true|end|error connection closed before a response at byte 76 idle=true|`},
		{name: "interim then final", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
			want: `status 100 Continue|head-end none keep=true|end|status 200 OK|field "Content-Length"="0" cont=false trailer=false|head-end content-length keep=true|end|error connection closed before a response at byte 63 idle=true|`},
		{name: "closed after interim", in: "HTTP/1.1 103 Early Hints\r\n\r\n",
			want: `status 103 Early Hints|head-end none keep=true|end|error connection closed after an interim response at byte 28 idle=false|`},
		{name: "obs-fold", in: "HTTP/1.1 200 OK\r\nX: a\r\n b\r\nContent-Length: 0\r\n\r\n",
			want: `status 200 OK|field "X"="a" cont=false trailer=false|field ""="b" cont=true trailer=false|field "Content-Length"="0" cont=false trailer=false|head-end content-length keep=true|end|error connection closed before a response at byte 48 idle=true|`},
		{name: "folded Content-Length refused", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n 1\r\n\r\n",
			want: `status 200 OK|field "Content-Length"="1" cont=false trailer=false|error obsolete line folding in the header section at byte 36|`},
		{name: "request pipeline", req: true, in: "\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\nPOST /p HTTP/1.0\nContent-Length: 2\n\nokHEAD / HTTP/1.1\r\nConnection: close\r\n\r\n",
			want: `request GET /|field "Host"="a" cont=false trailer=false|head-end none keep=true|end|request POST /p|field "Content-Length"="2" cont=false trailer=false|head-end content-length keep=false|body ok|end|request HEAD /|field "Connection"="close" cont=false trailer=false|head-end none keep=false|end|error connection closed before a request at byte 105 idle=true|`},
		{name: "request chunked", req: true, in: "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
			want: `request PUT /|field "Transfer-Encoding"="chunked" cont=false trailer=false|head-end chunked keep=true|body ok|end|error connection closed before a request at byte 58 idle=true|`},
		{name: "request with a gzip coding refused", req: true, in: "PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
			want: `request PUT /|field "Transfer-Encoding"="gzip" cont=false trailer=false|error request Transfer-Encoding not ending in chunked once at byte 43|`},
		{name: "bare CR in a request line", req: true, in: "GET /\r HTTP/1.1\r\n\r\n",
			want: `error bare CR in the request line at byte 0|`},
		{name: "space in a request target", req: true, in: "GET /a b HTTP/1.1\r\n\r\n",
			want: `error malformed request line "GET /a b HTTP/1.1" at byte 0|`},
		{name: "request TE empty beside CL refused", req: true, in: "POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding:\r\n\r\nx",
			want: `request POST /|field "Content-Length"="1" cont=false trailer=false|field "Transfer-Encoding"="" cont=false trailer=false|error message has both Transfer-Encoding and Content-Length (request smuggling) at byte 58|`},
		{name: "request TE twice refused", req: true, in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
			want: `request POST /|field "Transfer-Encoding"="chunked" cont=false trailer=false|field "Transfer-Encoding"="chunked" cont=false trailer=false|error request Transfer-Encoding not ending in chunked once at byte 75|`},
		{name: "request TE gzip, chunked is 501", req: true, in: "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
			want: `request POST /|field "Transfer-Encoding"="gzip, chunked" cont=false trailer=false|error request Transfer-Encoding other than chunked alone at byte 53|`},
		{name: "request TE tab chunked is 501", req: true, in: "POST / HTTP/1.1\r\nTransfer-Encoding:\tchunked\r\n\r\n",
			want: `request POST /|field "Transfer-Encoding"="chunked" cont=false trailer=false|error request Transfer-Encoding other than chunked alone at byte 47|`},
		{name: "request TE odd case and spaces", req: true, in: "POST / HTTP/1.1\r\nTransfer-Encoding:  ChUnKeD \r\n\r\n0\r\n\r\n",
			want: `request POST /|field "Transfer-Encoding"="ChUnKeD" cont=false trailer=false|head-end chunked keep=true|end|error connection closed before a request at byte 54 idle=true|`},
		{name: "request TE in HTTP/1.0 refused", req: true, in: "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
			want: `request POST /|field "Transfer-Encoding"="chunked" cont=false trailer=false|error HTTP/1.0 request with Transfer-Encoding at byte 47|`},
		{name: "request CL list refused", req: true, in: "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\nx",
			want: `request POST /|error invalid Content-Length "1, 1" at byte 17|`},
		{name: "request CL twice refused", req: true, in: "POST / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
			want: `request POST /|field "Content-Length"="1" cont=false trailer=false|error repeated Content-Length at byte 36|`},
		{name: "request bare CR hiding TE refused", req: true, in: "POST / HTTP/1.1\r\nx:\rTransfer-Encoding: chunked\r\n\r\n",
			want: `request POST /|error bare CR in a header line at byte 19|`},
		{name: "request NUL in a value refused", req: true, in: "GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n",
			want: `request GET /|error bare NUL in a header line at byte 20|`},
		{name: "request bare CR in a trailer refused", req: true, in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX: a\rb\r\n\r\n",
			want: `request POST /|field "Transfer-Encoding"="chunked" cont=false trailer=false|head-end chunked keep=true|error bare CR in a trailer line at byte 54|`},
		{name: "request control byte in the target refused", req: true, in: "GET /\x7f HTTP/1.1\r\n\r\n",
			want: `error malformed request line "GET /\x7f HTTP/1.1" at byte 0|`},
		{name: "request chunk size with leading zeros", req: true, in: "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n00000000000000001\r\nx\r\n0\r\n\r\n",
			want: `request POST /|field "Transfer-Encoding"="chunked" cont=false trailer=false|head-end chunked keep=true|body x|end|error connection closed before a request at byte 74 idle=true|`},
		{name: "response NUL in a value becomes SP", in: "HTTP/1.1 204 No Content\r\nX: a\x00b\r\n\r\n",
			want: `status 204 No Content|field "X"="a b" cont=false trailer=false|head-end none keep=true|end|error connection closed before a response at byte 35 idle=true|`},
		{name: "response empty TE beside CL refused", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding:\r\nContent-Length: 1\r\n\r\n",
			want: `status 200 OK|field "Transfer-Encoding"="" cont=false trailer=false|field "Content-Length"="1" cont=false trailer=false|error message has both Transfer-Encoding and Content-Length (request smuggling) at byte 58|`},
		{name: "response CL list kept", in: "HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\nContent-Length: 1\r\n\r\nx",
			want: `status 200 OK|field "Content-Length"="1, 1" cont=false trailer=false|field "Content-Length"="1" cont=false trailer=false|head-end content-length keep=true|body x|end|error connection closed before a response at byte 61 idle=true|`},
		{name: "request obs-fold refused", req: true, in: "GET / HTTP/1.1\r\nHost: a\r\n b\r\n\r\n",
			want: `request GET /|field "Host"="a" cont=false trailer=false|error obsolete line folding in the header section at byte 25|`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := httpraw.Framer{Request: tt.req, AnswersHEAD: tt.head}
			for _, step := range []int{0, 1, 2, 7} {
				if got := trace([]byte(tt.in), step, cfg); got != tt.want {
					t.Errorf("fed %d at a time:\n got %s\nwant %s", step, got, tt.want)
				}
			}
		})
	}
}

// TestFramerBounds: the header section, the field count and a chunk line
// are bounded, split or not, and the fault says so with a 431 or 400.
func TestFramerBounds(t *testing.T) {
	long := "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 200) + "\r\n\r\n"
	for _, step := range []int{0, 1, 13} {
		got := trace([]byte(long), step, httpraw.Framer{MaxHeaderBytes: 100})
		if !strings.Contains(got, "header section longer than 100 bytes at byte 17") {
			t.Errorf("step %d: %s", step, got)
		}
		got = trace([]byte("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n"), step, httpraw.Framer{Request: true, MaxFields: 2})
		if !strings.Contains(got, "more than 2 fields at byte 28") {
			t.Errorf("step %d: %s", step, got)
		}
		got = trace([]byte("GET /"+strings.Repeat("a", 200)+" HTTP/1.1\r\n\r\n"), step, httpraw.Framer{Request: true, MaxHeaderBytes: 100})
		if !strings.Contains(got, "request line longer than 100 bytes at byte 0") {
			t.Errorf("step %d: %s", step, got)
		}
		got = trace([]byte("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;"+strings.Repeat("x", 5000)+"\r\n"), step, httpraw.Framer{})
		if !strings.Contains(got, "chunk size line longer than 4096 bytes") {
			t.Errorf("step %d: %s", step, got)
		}
	}
	var f httpraw.Framer
	f.MaxHeaderBytes = 10
	if ev, _ := f.Next([]byte("HTTP/1.1 200 OK")); ev != httpraw.Failed {
		t.Fatalf("event %v", ev)
	}
	var me *httpraw.MalformedError
	if !asMalformed(f.Err(), &me) || me.Status != 431 {
		t.Errorf("err %#v, want a 431", f.Err())
	}
}

// TestFramerAllocs: reading a keep-alive response, whole or in pieces,
// allocates nothing.
func TestFramerAllocs(t *testing.T) {
	resp := []byte("HTTP/1.1 200 OK\r\nServer: x\r\nContent-Length: 5\r\n\r\nhelloHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;e\r\nhello\r\n0\r\nT: 1\r\n\r\n")
	var f httpraw.Framer
	allocs := testing.AllocsPerRun(100, func() {
		for p := resp; ; {
			ev, n := f.Next(p)
			p = p[n:]
			if ev == httpraw.NeedMore || ev == httpraw.Failed {
				if len(p) != 0 || ev == httpraw.Failed {
					t.Fatalf("stuck with %q: %v", p, f.Err())
				}
				return
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per run", allocs)
	}
}

func FuzzFramer(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: v\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\n\nbody",
		"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\nX: a\r\n  b\r\n\r\nx",
		"HTTP/1.1 200 OK\r\nX: a\rb\r\nContent-Length: 0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: a\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\n\r\nx",
		"\r\n\nPUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nContent-Length: 10\r\nTransfer-Encoding:\r\nTransfer-Encoding:\r\n\r\n2\r\nAA\r\n0\r\n\r\n",
		"POST / HTTP/1.1\r\nx:\rTransfer-Encoding: chunked\r\n\r\n2\r\nAA\r\n0\r\n\r\n",
	} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, mode uint8) {
		cfg := httpraw.Framer{Request: mode&1 != 0, AnswersHEAD: mode&2 != 0, MaxHeaderBytes: 1 << 10, MaxFields: 20}
		whole := trace(in, 0, cfg)
		if bytewise := trace(in, 1, cfg); bytewise != whole {
			t.Fatalf("whole and byte-at-a-time differ:\n%s\n%s", whole, bytewise)
		}
		if odd := trace(in, 5, cfg); odd != whole {
			t.Fatalf("whole and 5-at-a-time differ:\n%s\n%s", whole, odd)
		}
	})
}

func asMalformed(err error, me **httpraw.MalformedError) bool { return errors.As(err, me) }
