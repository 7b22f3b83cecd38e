package report_test

import (
	"io"
	"testing"
	"time"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/bench/report"
)

// TestCSVStreams: a row costs no allocation, so --csv holds the same
// memory however long the run (rows go through one fixed buffer).
func TestCSVStreams(t *testing.T) {
	w := report.NewCSVWriter(io.Discard)
	rec := bench.Record{Start: time.Now(), Latency: 1234 * time.Microsecond, Status: 200, Sent: 80, Received: 400}
	if n := testing.AllocsPerRun(10000, func() { w.Record(rec) }); n != 0 {
		t.Errorf("%.1f allocations per row", n)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}
