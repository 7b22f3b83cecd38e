package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"text/tabwriter"

	"github.com/sockit/sockit/bench"
)

// WriteSeries writes the per-second series as a table (at most 60 rows:
// longer runs are shown in windows of several seconds, their histograms
// merged, never their percentiles averaged), then the failures by kind.
func WriteSeries(w io.Writer, r *bench.Result) error {
	n := len(r.PerSecond)
	step := max((n+59)/60, 1)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "seconds\trequests\treq/s\tfailed\tp50 ms\tp90 ms\tp99 ms\tmax ms\t\n")
	for i := 0; i < n; i += step {
		end := min(i+step, n)
		var reqs, failed int64
		var win bench.Second
		var width float64
		for j := i; j < end; j++ {
			reqs += r.PerSecond[j]
			width += covered(r, j)
			if j < len(r.Seconds) {
				s := r.Seconds[j]
				for _, v := range s.Failures {
					failed += v
				}
				win = bench.AddSecond([]bench.Second{win}, 0, s)[0]
			}
		}
		label := fmt.Sprintf("%d", i+1)
		if end-i > 1 {
			label = fmt.Sprintf("%d-%d", i+1, end)
		}
		if width < float64(end-i) {
			label += " (partial)"
		}
		p := func(q float64) string {
			us, ok := win.Quantile(q)
			if !ok {
				return "-"
			}
			return fmt.Sprintf("%.3f", ms(us))
		}
		rate := "-" // a sliver of a second says nothing about a rate
		if width >= minCovered {
			rate = fmt.Sprintf("%.1f", float64(reqs)/width)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\t%s\t%.3f\t\n", label, reqs, rate, failed,
			p(50), p(90), p(99), ms(win.MaxUs))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if r.Failed() == 0 {
		return nil
	}
	fmt.Fprintf(w, "\nErrors\n")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "kind\tcount\tshare\t\n")
	for _, k := range slices.Sorted(maps.Keys(r.Failures)) {
		fmt.Fprintf(tw, "%s\t%d\t%.2f%%\t\n", k, r.Failures[k], 100*float64(r.Failures[k])/float64(max(r.Requests, 1)))
	}
	return tw.Flush()
}
