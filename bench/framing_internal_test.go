package bench

import (
	"context"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/httpraw"
)

// keepAliveResponse is a response as the responder sends it for -k.
var keepAliveResponse = []byte("HTTP/1.1 200 OK\r\nServer: sockit\r\nDate: Mon, 02 Jan 2006 15:04:05 GMT\r\n" +
	"Content-Type: text/html\r\nContent-Length: 16\r\nConnection: keep-alive\r\n\r\n<p>0123456789</p")

// endless serves the same response again and again.
type endless struct {
	b   []byte
	off int
}

func (e *endless) Read(p []byte) (int, error) {
	n := copy(p, e.b[e.off:])
	e.off = (e.off + n) % len(e.b)
	return n, nil
}

// BenchmarkGoroutineEngineResponse is the goroutine engine's read of one
// kept-alive response through the shared framer: 0 allocs/op.
func BenchmarkGoroutineEngineResponse(b *testing.B) {
	w := &httpWorker{t: &httpTarget{}, server: true}
	w.dec = httpraw.NewDecoder(&endless{b: keepAliveResponse}, 16<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(keepAliveResponse)))
	for b.Loop() {
		var s sample
		if kind := w.readResponse(&s); kind != "" || s.body != 16 {
			b.Fatalf("kind %q, body %d", kind, s.body)
		}
	}
}

// lateTimer is a context whose deadline has passed but whose timer has
// not fired yet, as a loaded machine leaves it for a few milliseconds.
type lateTimer struct {
	context.Context
	deadline time.Time
}

func (c lateTimer) Deadline() (time.Time, bool) { return c.deadline, true }

// TestEndedAtTheDeadline: a failure at or past the run's deadline is the end
// of the run even before the context says so.
func TestEndedAtTheDeadline(t *testing.T) {
	now := time.Now()
	ctx := lateTimer{context.Background(), now}
	if ctx.Err() != nil || !ended(ctx, now) || !ended(ctx, now.Add(time.Millisecond)) {
		t.Error("a run past its deadline did not count as ended")
	}
	if ended(ctx, now.Add(-time.Millisecond)) || ended(context.Background(), now) {
		t.Error("a run before its deadline counted as ended")
	}
}
