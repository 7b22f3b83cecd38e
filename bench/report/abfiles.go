package report

import (
	"bufio"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/sockit/sockit/bench"
)

// WritePercentiles writes ab's -e file: "Percentage served,Time in ms",
// then one line for each percent from 0 (the fastest request) to 100 (the
// slowest), read off the HDR histogram.
func WritePercentiles(w io.Writer, r *bench.Result) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "Percentage served,Time in ms\n")
	for i := 0; i <= 100; i++ {
		var us int64
		switch i {
		case 0:
			us = r.Latency.Min()
		case 100:
			us = r.Latency.Max()
		default:
			us = r.Latency.ValueAtQuantile(float64(i))
		}
		fmt.Fprintf(bw, "%d,%.3f\n", i, ms(us))
	}
	return bw.Flush()
}

// GnuplotWriter streams ab's -g file (bench.Config.Record): a header, then one
// tab-separated line per request: its start as ctime(3) text, as Unix
// seconds, and its connect, processing, total and waiting times in ms.
// It is safe for the workers to call at once.
type GnuplotWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	err error
}

// NewGnuplotWriter writes the header to w.
func NewGnuplotWriter(w io.Writer) *GnuplotWriter {
	g := &GnuplotWriter{w: bufio.NewWriterSize(w, 64<<10)}
	_, g.err = g.w.WriteString("starttime\tseconds\tctime\tdtime\tttime\twait\n")
	return g
}

// Record writes rec's line.
func (g *GnuplotWriter) Record(rec bench.Record) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return
	}
	round := func(d time.Duration) int64 { return d.Round(time.Millisecond).Milliseconds() }
	_, g.err = fmt.Fprintf(g.w, "%s\t%d\t%d\t%d\t%d\t%d\n", rec.Start.Format("Mon Jan _2 15:04:05 2006"), rec.Start.Unix(),
		round(rec.Connect), round(rec.Latency-rec.Connect), round(rec.Latency), round(rec.Wait))
}

// Flush writes what is buffered and returns the first error.
func (g *GnuplotWriter) Flush() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err != nil {
		return g.err
	}
	return g.w.Flush()
}
