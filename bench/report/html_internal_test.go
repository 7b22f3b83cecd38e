package report

import (
	"regexp"
	"testing"
)

// TestTimeAxisLabels: for runs from 10 ms to a day, the time axis has 3 to
// 11 round labels (no 0.30000000000000004), in order.
func TestTimeAxisLabels(t *testing.T) {
	round := regexp.MustCompile(`^(0|\d+(\.\d{1,2})? s|\d+ min( \d+ s)?|\d+(\.\d)? h)$`)
	tick := regexp.MustCompile(`text-anchor="middle">([^<]*)</text>`)
	for _, end := range []float64{0.01, 0.0903, 0.1, 0.3, 1, 1.5, 2.9, 3, 7.3, 59, 61, 130, 599.4, 3600, 5400, 86400} {
		p := newPlot("t", 0, end, 0, 1, false)
		p.timeAxis()
		labels := tick.FindAllStringSubmatch(p.String(), -1)
		labels = labels[:len(labels)-1] // the axis title
		if len(labels) < 2 || len(labels) > 11 {
			t.Errorf("a run of %g s: %d labels", end, len(labels))
		}
		for _, l := range labels {
			if !round.MatchString(l[1]) {
				t.Errorf("a run of %g s: label %q", end, l[1])
			}
		}
	}
	for _, tc := range []struct {
		v, step float64
		want    string
	}{{0.3, 0.1, "0.3 s"}, {0.06, 0.02, "0.06 s"}, {90, 30, "1 min 30 s"}, {120, 60, "2 min"}, {7200, 3600, "2 h"}, {45, 15, "45 s"}} {
		if got := fmtSeconds(tc.v, tc.step); got != tc.want {
			t.Errorf("fmtSeconds(%g, %g) = %q, want %q", tc.v, tc.step, got, tc.want)
		}
	}
}
