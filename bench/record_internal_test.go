package bench

import (
	"testing"
	"time"
)

// BenchmarkRecord is the per-request bookkeeping both engines pay: the
// run's histograms, the per-second series and the counters.
func BenchmarkRecord(b *testing.B) {
	r := newTally(&timeline{}, nil, time.Now())
	s := &sample{sent: 64, received: 64}
	b.ReportAllocs()
	for i := range b.N {
		// 100k requests per second of run time.
		r.record(s, "", time.Duration(500+i%1000)*time.Microsecond, time.Duration(i)*10*time.Microsecond)
	}
}
