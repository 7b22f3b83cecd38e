package httpraw_test

import (
	"testing"

	"github.com/sockit/sockit/proto/httpraw"
)

// BenchmarkResponderGET is the responder's hot path: one keep-alive GET of
// the brief's page, parsed and answered. The aim is zero allocations.
func BenchmarkResponderGET(b *testing.B) {
	r := &httpraw.Responder{}
	sess := r.Open(nil)
	req := []byte("GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	buf := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		out, closeAfter := sess.Receive(req, buf)
		if closeAfter || len(out) < 400 {
			b.Fatalf("bad reply: %d bytes, close %v", len(out), closeAfter)
		}
	}
}
