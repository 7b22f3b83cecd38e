package bench_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/sockittest"
)

// outcome is what a consumer made of one response: failed or not, and if
// not, the final status and the body length.
type outcome struct {
	failed bool
	status int
	body   int64
}

func (o outcome) String() string {
	if o.failed {
		return "failed"
	}
	return fmt.Sprintf("%d with %d body bytes", o.status, o.body)
}

// clientOutcome reads the response with the client.
func clientOutcome(t *testing.T, addr, method string) outcome {
	u, _ := httpraw.ParseURL("http://" + addr + "/")
	c := &httpraw.Client{}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ex, err := c.Do(ctx, &httpraw.Request{Method: method, URL: u}, io.Discard, nil, 0)
	if err != nil {
		return outcome{failed: true}
	}
	return outcome{status: ex.Response.Status, body: ex.BodySize}
}

// benchOutcome reads the response with one request of a bench engine.
func benchOutcome(t *testing.T, addr, method, engine string) outcome {
	var rec bench.Record
	r := run(t, bench.Config{Target: "http://" + addr + "/", Method: method, Requests: 1, Engine: engine,
		Timeout: 10 * time.Second, Record: func(r bench.Record) { rec = r }})
	if r.Engine != engine {
		t.Errorf("engine %q ran, not %q", r.Engine, engine)
	}
	if r.Requests != 1 {
		t.Fatalf("%d requests", r.Requests)
	}
	if rec.Error != "" && rec.Error != bench.FailStatus {
		return outcome{failed: true}
	}
	return outcome{status: rec.Status, body: r.BodyBytes}
}

// TestFramingEveryConsumer sends every vector of the shared framing table
// (sockittest.HTTPResponseVectors), whole and one byte per write, over a real socket to each consumer of the one framer, and
// expects the same outcome from each.
func TestFramingEveryConsumer(t *testing.T) {
	for _, tt := range sockittest.HTTPResponseVectors {
		want := outcome{failed: true}
		if tt.Err == "" {
			want = outcome{status: tt.WantStatus(), body: int64(len(tt.Body))}
		}
		// A reply that does not begin "HTTP/" is not a response at all:
		// bench counts it as ab does, a complete response without a
		// status or a body (non-2xx); the client fails on it.
		wantBench := want
		if tt.Response != "" && !strings.HasPrefix(tt.Response, "HTTP/") {
			wantBench = outcome{}
		}
		for _, chunk := range []int{0, 1} {
			name := tt.Name + "/whole"
			if chunk == 1 {
				name = tt.Name + "/byte-at-a-time"
				if len(tt.Response) > 10000 {
					chunk = 997 // a byte per write would take minutes
				}
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				method := tt.Method
				if method == "" {
					method = "GET"
				}
				addr := sockittest.CannedServer(t, []byte(tt.Response), chunk)
				got := map[string]outcome{
					"client":           clientOutcome(t, addr, method),
					"goroutine engine": benchOutcome(t, addr, method, bench.EngineGoroutine),
					"loop engine":      benchOutcome(t, addr, method, bench.EngineLoop),
				}
				for who, o := range got {
					w := wantBench
					if who == "client" {
						w = want
					}
					if o != w {
						t.Errorf("%s: %v, want %v", who, o, w)
					}
				}
			})
		}
	}
}

// requestVectors are crafted requests and the statuses the responder
// answers them with, in order, and whether it then closes.
var requestVectors = []struct {
	name, request string
	statuses      []int
	closed        bool
}{
	{"GET", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", []int{200}, false},
	{"pipelined", "GET / HTTP/1.1\r\nHost: a\r\n\r\nHEAD /index.html HTTP/1.1\r\nHost: a\r\n\r\nGET /nope HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n", []int{200, 200, 404}, true},
	{"bare LF", "GET / HTTP/1.1\nHost: a\n\n", []int{200}, false},
	{"leading empty lines", "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", []int{200}, false},
	{"HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n", []int{200}, true},
	{"POST body skipped", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n", []int{405, 200}, false},
	{"bare CR in a field value", "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", []int{400}, true},
	{"bare CR in the request line", "GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", []int{400}, true},
	{"space in the target", "GET /a b HTTP/1.1\r\nHost: a\r\n\r\n", []int{400}, true},
	{"no Host", "GET / HTTP/1.1\r\n\r\n", []int{400}, true},
	{"two Hosts", "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", []int{400}, true},
	{"obs-fold", "GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", []int{400}, true},
	{"TE and CL", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", []int{400}, true},
	{"chunked body", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", []int{405}, false},
	{"gzip coding", "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", []int{400}, true},
	{"conflicting lengths", "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", []int{400}, true},
	{"HTTP/2.0", "GET / HTTP/2.0\r\nHost: a\r\n\r\n", []int{505}, true},
	{"garbage", "\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\r\n\r\n", []int{400}, true},
	{"huge head", "GET / HTTP/1.1\r\nHost: a\r\nX: " + strings.Repeat("a", 9000) + "\r\n\r\n", []int{431}, true},
	{"too many fields", "GET / HTTP/1.1\r\nHost: a\r\n" + strings.Repeat("X: y\r\n", 101) + "\r\n", []int{431}, true},
}

// TestRequestFramingThroughResponder sends every request vector to the
// responder over a real socket, whole and one byte per write.
func TestRequestFramingThroughResponder(t *testing.T) {
	addr := serve(t, httpraw.Service(&httpraw.Responder{}), "tcp")
	for _, tt := range requestVectors {
		for _, chunk := range []int{0, 1} {
			name := tt.name + "/whole"
			if chunk == 1 {
				name = tt.name + "/byte-at-a-time"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(10 * time.Second))
				done := make(chan struct{}) // the writer has ended
				go func() {
					defer close(done)
					for b := []byte(tt.request); len(b) > 0; {
						n := len(b)
						if chunk > 0 {
							n = chunk
						}
						if _, err := c.Write(b[:n]); err != nil {
							return // the responder closed early, as it may after a 4xx
						}
						b = b[n:]
					}
				}()
				rd := httpraw.NewReader(c)
				for i, want := range tt.statuses {
					method := "GET"
					if strings.Contains(tt.request, "HEAD ") && i == 1 {
						method = "HEAD"
					}
					resp, err := rd.ReadResponse(method)
					if err != nil {
						t.Fatalf("response %d: %v", i+1, err)
					}
					if resp.Status != want {
						t.Errorf("response %d: status %d, want %d", i+1, resp.Status, want)
					}
					if _, err := rd.Body(resp, io.Discard, 0); err != nil {
						t.Fatalf("response %d body: %v", i+1, err)
					}
				}
				if tt.closed {
					// The responder closes: nothing more, then EOF.
					// A reset counts too: fed one byte at a time, the client
					// may still be writing when the server closes, and a
					// byte arriving after the close draws an RST.
					if _, err := rd.ReadResponse("GET"); err != io.EOF && !errors.Is(err, syscall.ECONNRESET) {
						t.Errorf("after the last response: %v, want the connection closed", err)
					}
				} else {
					// Still open: one more request is answered.
					<-done
					fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
					if resp, err := rd.ReadResponse("GET"); err != nil || resp.Status != 200 {
						t.Errorf("the connection did not stay usable: %v", err)
					}
				}
				c.Close()
				<-done
			})
		}
	}
}
