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

// TestFraming reads every vector of the shared framing table with the
// client, whole, a byte per write and three bytes per write, and checks
// the error message or the body, framing, raw bytes, trailer and header.
// (bench's TestFramingEveryConsumer runs the same table through both
// bench engines too.)
func TestFraming(t *testing.T) {
	for _, tt := range sockittest.HTTPResponseVectors {
		for _, chunk := range []int{0, 1, 3} {
			name := tt.Name
			if chunk > 0 {
				name += "/split"
			}
			t.Run(name, func(t *testing.T) {
				if chunk == 1 && len(tt.Response) > 10000 {
					chunk = 997
				}
				addr := rawServer(t, tt.Response, chunk)
				method := tt.Method
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
				if tt.Err != "" {
					if err == nil || !strings.Contains(err.Error(), tt.Err) {
						t.Fatalf("err = %v, want one containing %q", err, tt.Err)
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
				resp := ex.Response
				if resp.Status != tt.WantStatus() || body.String() != tt.Body || tt.Framing != "" && resp.Framing != tt.Framing {
					t.Errorf("status %d body %q framing %s; want %d %q %s", resp.Status, body.String(), resp.Framing, tt.WantStatus(), tt.Body, tt.Framing)
				}
				if raw.String() != tt.Response {
					t.Errorf("raw bytes differ from what was sent:\n%q\n%q", raw.String(), tt.Response)
				}
				if tt.Trailer != "" {
					tr := resp.Trailer
					if len(tr) != 1 || tr[0].Name+"="+tr[0].Value != tt.Trailer {
						t.Errorf("trailer %v, want %s", tr, tt.Trailer)
					}
				}
				if tt.Header != "" {
					name, value, _ := strings.Cut(tt.Header, "=")
					if v, _ := resp.Header.Get(name); v != value {
						t.Errorf("header %s = %q, want %q", name, v, value)
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
