package server

import (
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"
)

// BenchmarkDropNoted is what the drop log adds to a drop on the hot path:
// its count and source, from every P at once, with the line already
// scheduled (a flood), against the same drop unlogged.
func BenchmarkDropNoted(b *testing.B) {
	src := netip.MustParseAddrPort("127.0.0.1:5000")
	for _, tc := range []struct {
		name  string
		every time.Duration
	}{{"unlogged", -1}, {"logged", time.Hour}} {
		b.Run(tc.name, func(b *testing.B) {
			ctr := &counters{log: newDropLog(slog.New(slog.NewTextHandler(io.Discard, nil)), tc.every, "qotd", "udp")}
			defer ctr.log.close()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					ctr.drop(DropBudget, src)
				}
			})
		})
	}
}
