package bench

import (
	"testing"
)

// BenchmarkLoopEngineResponse is the loop engine's read of one kept-alive
// response from its buffer through the shared framer: 0 allocs/op.
func BenchmarkLoopEngineResponse(b *testing.B) {
	l := &loop{t: &loopTarget{http: true}, server: true}
	c := &lconn{fd: -1, buf: make([]byte, 64<<10)}
	b.ReportAllocs()
	b.SetBytes(int64(len(keepAliveResponse)))
	for b.Loop() {
		c.n = copy(c.buf, keepAliveResponse)
		c.off = 0
		c.s = sample{}
		if done, kind := l.advance(c); !done || kind != "" || c.s.body != 16 {
			b.Fatalf("done %v kind %q body %d", done, kind, c.s.body)
		}
	}
}
