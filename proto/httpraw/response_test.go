package httpraw_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/sockittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// rawServer answers each connection with a crafted response.
func rawServer(t *testing.T, response string, chunk int) string {
	return sockittest.CannedServer(t, []byte(response), chunk)
}

func TestFraming(t *testing.T) {
	tests := []struct {
		name, method, response string
		body, framing          string
		trailer                string
		wantErr                string // substring of the error, "" for success
	}{
		{name: "content-length", response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", body: "hello", framing: "content-length"},
		{name: "identical content-lengths", response: "HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", body: "hello", framing: "content-length"},
		{name: "conflicting content-lengths", response: "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!", wantErr: "conflicting Content-Length"},
		{name: "invalid content-length", response: "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n", wantErr: `invalid Content-Length "-5" at byte`},
		{name: "short body", response: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello", wantErr: "closed after 5 of 10 body bytes"},
		{name: "chunked with extensions and trailers", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Sum: 42\r\n\r\n",
			body: "hello world", framing: "chunked", trailer: "X-Sum=42"},
		{name: "chunked upper-case hex", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nA\r\n0123456789\r\n0\r\n\r\n", body: "0123456789", framing: "chunked"},
		{name: "malformed chunk size", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", wantErr: `malformed chunk size "zz" at byte 47`},
		{name: "chunk without CRLF", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhelloX\r\n0\r\n\r\n", wantErr: "not followed by CRLF"},
		{name: "chunked cut short", response: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel", wantErr: "closed inside a chunk"},
		{name: "TE and CL is smuggling", response: "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", wantErr: "smuggling"},
		{name: "close-delimited", response: "HTTP/1.1 200 OK\r\n\r\nuntil the end", body: "until the end", framing: "close"},
		{name: "HTTP/1.0 close-delimited", response: "HTTP/1.0 200 OK\r\nServer: old\r\n\r\nold body", body: "old body", framing: "close"},
		{name: "HEAD has no body", method: "HEAD", response: "HTTP/1.1 200 OK\r\nContent-Length: 394\r\n\r\n", framing: "none"},
		{name: "204 has no body", response: "HTTP/1.1 204 No Content\r\nContent-Length: 12\r\n\r\n", framing: "none"},
		{name: "304 has no body", response: "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n", framing: "none"},
		{name: "interim 100 and 103", response: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", body: "ok", framing: "content-length"},
		{name: "bare LF line ends", response: "HTTP/1.1 200 OK\nContent-Length: 2\n\nok", body: "ok", framing: "content-length"},
		{name: "obs-fold joined", response: "HTTP/1.1 200 OK\r\nX-Long: a\r\n  b\r\nContent-Length: 0\r\n\r\n", framing: "content-length"},
		{name: "bad status line", response: "HTTP/1.1 2xx OK\r\n\r\n", wantErr: `malformed status code "2xx" at byte 9`},
		{name: "not HTTP", response: "SSH-2.0-OpenSSH\r\n\r\n", wantErr: "malformed status line"},
		{name: "bad header line", response: "HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", wantErr: "malformed header line"},
		{name: "head cut short", response: "HTTP/1.1 200 OK\r\nContent-Le", wantErr: "closed in the middle of the header section"},
		{name: "empty reply", response: "", wantErr: "closed before a response"},
		{name: "huge header section", response: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", 70000) + "\r\n\r\n", wantErr: "longer than 65536 bytes"},
	}
	for _, tt := range tests {
		for _, chunk := range []int{0, 1, 3} {
			name := tt.name
			if chunk > 0 {
				name += "/split"
			}
			t.Run(name, func(t *testing.T) {
				if chunk == 1 && len(tt.response) > 10000 {
					chunk = 997
				}
				addr := rawServer(t, tt.response, chunk)
				method := tt.method
				if method == "" {
					method = "GET"
				}
				u, _ := httpraw.ParseURL("http://" + addr + "/")
				c := &httpraw.Client{}
				defer c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var body, raw bytes.Buffer
				ex, err := c.Do(ctx, &httpraw.Request{Method: method, URL: u}, &body, &raw, 0)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
					}
					var me *httpraw.MalformedError
					if !errors.As(err, &me) {
						t.Errorf("err %T is not a *MalformedError", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if body.String() != tt.body || ex.Response.Framing != tt.framing {
					t.Errorf("body %q framing %s; want %q %s", body.String(), ex.Response.Framing, tt.body, tt.framing)
				}
				if raw.String() != tt.response {
					t.Errorf("raw bytes differ from what was sent:\n%q\n%q", raw.String(), tt.response)
				}
				if tt.trailer != "" {
					tr := ex.Response.Trailer
					if len(tr) != 1 || tr[0].Name+"="+tr[0].Value != tt.trailer {
						t.Errorf("trailer %v, want %s", tr, tt.trailer)
					}
				}
			})
		}
	}
}

func TestMaxBytes(t *testing.T) {
	addr := rawServer(t, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"+strings.Repeat("x", 100), 0)
	u, _ := httpraw.ParseURL("http://" + addr + "/")
	c := &httpraw.Client{}
	defer c.Close()
	_, err := c.Do(context.Background(), &httpraw.Request{Method: "GET", URL: u}, io.Discard, nil, 50)
	if !errors.Is(err, httpraw.ErrBodyTooLarge) {
		t.Errorf("err = %v", err)
	}
}

// TestNoHangPastDeadline: a server that accepts and never answers ends in
// the context's deadline, not a hang.
func TestNoHangPastDeadline(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			held <- c
		}
	}()
	u, _ := httpraw.ParseURL("http://" + ln.Addr().String() + "/")
	c := &httpraw.Client{}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = c.Do(ctx, &httpraw.Request{Method: "GET", URL: u}, io.Discard, nil, 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want the deadline", err)
	}
	(<-held).Close()
}

func FuzzReadResponse(f *testing.F) {
	for _, s := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\nhello\r\n0\r\nT: v\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.0 200 OK\n\nbody",
		"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n X\r\n\r\nx",
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, in []byte, head bool) {
		method := "GET"
		if head {
			method = "HEAD"
		}
		var raw bytes.Buffer
		r := httpraw.NewReader(bytes.NewReader(in))
		r.Raw = &raw
		r.MaxHeaderBytes = 1 << 10
		resp, err := r.ReadResponse(method)
		if err != nil {
			return
		}
		if resp.Status < 100 || resp.Status > 999 {
			t.Fatalf("status %d accepted", resp.Status)
		}
		n, _ := r.Body(resp, io.Discard, 1<<20)
		if n > int64(len(in)) {
			t.Fatalf("body of %d bytes from %d bytes of input", n, len(in))
		}
		if !bytes.HasPrefix(in, raw.Bytes()) || r.Offset() > int64(raw.Len()) {
			t.Fatalf("raw copy differs from the input read, or less was read than consumed")
		}
	})
}
