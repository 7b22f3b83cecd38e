package resolve_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"testing"

	"github.com/sockit/sockit/resolve"
)

// answerLoop answers every query on pc with one A record (192.0.2.1), as
// fast as one goroutine can, until pc is closed: a server that costs the
// benchmark little beside the client it measures.
func answerLoop(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if n < 12 {
			continue
		}
		// Drop the EDNS OPT record the client sends (the last 11 bytes),
		// keep the question, add the answer: a pointer to the question's
		// name, A, IN, TTL 60, 4 bytes.
		m := buf[:n-11]
		m[2] |= 0x80                          // QR
		binary.BigEndian.PutUint16(m[6:], 1)  // ANCOUNT
		binary.BigEndian.PutUint16(m[10:], 0) // ARCOUNT
		m = append(m, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1)
		pc.WriteTo(m, from)
	}
}

// BenchmarkBulk resolves b.N names through the bulk engine against
// answerLoop; allocs/op is per name, result included.
func BenchmarkBulk(b *testing.B) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	if uc, ok := pc.(*net.UDPConn); ok {
		uc.SetReadBuffer(4 << 20)
	}
	done := make(chan struct{})
	go func() { answerLoop(pc); close(done) }()
	defer func() { pc.Close(); <-done }()
	names := make([]string, 1000)
	for i := range names {
		names[i] = fmt.Sprintf("h%d.bench.test", i)
	}
	r := &resolve.Resolver{Server: pc.LocalAddr().String(), Family: 4}
	b.ReportAllocs()
	b.ResetTimer()
	seq := func(yield func(string) bool) {
		for i := range b.N {
			if !yield(names[i%len(names)]) {
				return
			}
		}
	}
	got := 0
	err = r.Bulk(context.Background(), seq, resolve.BulkOptions{Window: 64}, func(res resolve.Result) error {
		if res.Err != nil {
			return res.Err
		}
		got++
		return nil
	})
	if err != nil || got != b.N {
		b.Fatalf("%d of %d names, %v", got, b.N, err)
	}
}
