package report

import (
	"fmt"
	"io"
	"math"
	"text/tabwriter"

	"github.com/sockit/sockit/bench"
)

// Delta is one metric of two runs compared.
type Delta struct {
	Metric string
	A, B   float64
	Unit   string // "ms", "/s", "%" or "" (a count)
	// Noise says the difference is within the run-to-run noise the
	// reports themselves show (see Compare); Judged is false where no
	// such estimate exists (a count, or a max: one sample).
	Noise, Judged bool
}

// Change is B relative to A, in percent (NaN when A is zero).
func (d Delta) Change() float64 {
	if d.A == 0 {
		return math.NaN()
	}
	return 100 * (d.B - d.A) / d.A
}

// z is the two-sided 95% normal quantile.
const z = 1.96

// Compare lists the metrics of b against a. A difference is marked as
// within noise when the two runs' 95% intervals of the metric overlap
// (for a mean or a proportion: when the difference is under 1.96 standard
// errors of the difference). Each run's interval is the wider of:
//   - sampling noise: for a percentile, the distribution-free interval of
//     order statistics (ranks n·p ± 1.96·√(n·p·(1−p)) read off the HDR
//     histogram); for the mean, stdev/√n;
//   - batch means over the per-second series: the seconds' own values
//     (percentile, mean or rate) vary from second to second, and their
//     standard error (Student's t, at least 5 full seconds, each with
//     enough samples to hold the percentile) catches the slow drifts and
//     correlation between requests that sampling noise ignores;
//
// and two values the histogram cannot tell apart (within its 3
// significant digits) are always within noise. This is the noise a single
// report can show; repeated runs (a server warming up, a neighbour on the
// machine) can differ more, so "not within noise" is a hint, not a proof.
func Compare(a, b *bench.Result) []Delta {
	var out []Delta
	add := func(d Delta) { out = append(out, d) }
	add(Delta{Metric: "requests", A: float64(a.Requests), B: float64(b.Requests)})
	add(failedDelta(a, b))
	add(rpsDelta(a, b))
	add(meanDelta(a, b))
	for _, q := range []float64{50, 90, 99, 99.9} {
		add(quantileDelta(a, b, q))
	}
	add(Delta{Metric: "latency max", A: ms(a.Latency.Max()), B: ms(b.Latency.Max()), Unit: "ms"})
	return out
}

func failedDelta(a, b *bench.Result) Delta {
	d := Delta{Metric: "failed", Unit: "%", Judged: a.Requests > 0 && b.Requests > 0}
	if !d.Judged {
		return d
	}
	fa, fb := float64(a.Failed()), float64(b.Failed())
	na, nb := float64(a.Requests), float64(b.Requests)
	d.A, d.B = 100*fa/na, 100*fb/nb
	p := (fa + fb) / (na + nb)
	se := math.Sqrt(p * (1 - p) * (1/na + 1/nb))
	d.Noise = math.Abs(fb/nb-fa/na) <= z*se
	return d
}

// fullSeconds returns the per-second values f(i) of the seconds the run
// covered in full after its warm-up.
func fullSeconds(r *bench.Result, f func(i int) (float64, bool)) []float64 {
	var v []float64
	first := int(math.Ceil(r.Warmup.Seconds()))
	for i := first; i < len(r.PerSecond); i++ {
		if covered(r, i) < 1 {
			continue
		}
		if x, ok := f(i); ok {
			v = append(v, x)
		}
	}
	return v
}

// meanSE returns the mean of v and its standard error times Student's t
// (95%, two-sided); ok is false with fewer than 5 values.
func meanSE(v []float64) (mean, halfWidth float64, ok bool) {
	k := len(v)
	if k < 5 {
		return 0, 0, false
	}
	for _, x := range v {
		mean += x
	}
	mean /= float64(k)
	var ss float64
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(ss / float64(k-1))
	return mean, tQuantile(k-1) * sd / math.Sqrt(float64(k)), true
}

// tQuantile is Student's t at 97.5% for df degrees of freedom.
func tQuantile(df int) float64 {
	table := []struct {
		df int
		t  float64
	}{{4, 2.776}, {5, 2.571}, {6, 2.447}, {7, 2.365}, {8, 2.306}, {9, 2.262}, {10, 2.228},
		{12, 2.179}, {15, 2.131}, {20, 2.086}, {30, 2.042}, {60, 2.000}, {120, 1.980}}
	for _, e := range table {
		if df <= e.df {
			return e.t
		}
	}
	return z
}

func rpsDelta(a, b *bench.Result) Delta {
	d := Delta{Metric: "requests/s", A: a.RPS(), B: b.RPS(), Unit: "/s"}
	rate := func(r *bench.Result) func(int) (float64, bool) {
		return func(i int) (float64, bool) { return float64(r.PerSecond[i]), true }
	}
	_, ha, okA := meanSE(fullSeconds(a, rate(a)))
	_, hb, okB := meanSE(fullSeconds(b, rate(b)))
	if okA && okB {
		d.Judged = true
		d.Noise = math.Abs(d.B-d.A) <= math.Hypot(ha, hb)
	}
	return d
}

func meanDelta(a, b *bench.Result) Delta {
	d := Delta{Metric: "latency mean", A: a.Latency.Mean() / 1000, B: b.Latency.Mean() / 1000, Unit: "ms"}
	half := func(r *bench.Result) (float64, bool) {
		n := float64(r.Latency.TotalCount())
		if n < 2 {
			return 0, false
		}
		h := z * r.Latency.StdDev() / 1000 / math.Sqrt(n)
		_, hb, ok := meanSE(fullSeconds(r, func(i int) (float64, bool) {
			if i >= len(r.Seconds) || r.Seconds[i].Latency == nil || r.Seconds[i].Latency.TotalCount() == 0 {
				return 0, false
			}
			return r.Seconds[i].Latency.Mean() / 1000, true
		}))
		if ok {
			h = math.Max(h, hb)
		}
		return h, true
	}
	ha, okA := half(a)
	hb, okB := half(b)
	if okA && okB {
		d.Judged = true
		d.Noise = math.Abs(d.B-d.A) <= math.Hypot(ha, hb)
	}
	return d
}

// quantileInterval is the run's 95% interval of its q-th percentile, in µs.
func quantileInterval(r *bench.Result, q float64) (lo, hi int64, ok bool) {
	h := r.Latency
	n := float64(h.TotalCount())
	p := q / 100
	if n < 2 {
		return 0, 0, false
	}
	w := z * math.Sqrt(n*p*(1-p))
	rlo, rhi := math.Max(math.Floor(n*p-w), 1), math.Min(math.Ceil(n*p+w)+1, n)
	lo, hi = h.ValueAtQuantile(100*rlo/n), h.ValueAtQuantile(100*rhi/n)
	// Batch means, from seconds holding enough samples for this percentile.
	need := int64(math.Ceil(10 / (1 - p)))
	v := h.ValueAtQuantile(q)
	if _, half, ok := meanSE(fullSeconds(r, func(i int) (float64, bool) {
		if i >= len(r.Seconds) || r.Seconds[i].Latency == nil || r.Seconds[i].Latency.TotalCount() < need {
			return 0, false
		}
		return float64(r.Seconds[i].Latency.ValueAtQuantile(q)), true
	})); ok {
		lo = min(lo, v-int64(half))
		hi = max(hi, v+int64(math.Ceil(half)))
	}
	return lo, hi, true
}

func quantileDelta(a, b *bench.Result, q float64) Delta {
	va, vb := a.Latency.ValueAtQuantile(q), b.Latency.ValueAtQuantile(q)
	d := Delta{Metric: fmt.Sprintf("latency p%g", q), A: ms(va), B: ms(vb), Unit: "ms"}
	loA, hiA, okA := quantileInterval(a, q)
	loB, hiB, okB := quantileInterval(b, q)
	if okA && okB {
		d.Judged = true
		d.Noise = loA <= hiB && loB <= hiA || a.Latency.ValuesAreEquivalent(va, vb)
	}
	return d
}

// WriteCompare writes the comparison of b (named nb) against a (na) as a
// table, with a note on each difference within noise.
func WriteCompare(w io.Writer, na, nb string, a, b *bench.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "metric\t%s\t%s\tdelta\tchange\t\n", na, nb)
	for _, d := range Compare(a, b) {
		fa, fb, fd := fmtVal(d.A, d.Unit), fmtVal(d.B, d.Unit), fmtVal(d.B-d.A, d.Unit)
		if d.B-d.A > 0 {
			fd = "+" + fd
		}
		if d.Unit == "%" {
			fd += " pt"
		}
		change := "–"
		if c := d.Change(); !math.IsNaN(c) && d.Unit != "%" {
			change = fmt.Sprintf("%+.1f%%", c)
		}
		note := ""
		switch {
		case d.A == d.B:
			note = "same"
		case d.Judged && d.Noise:
			note = "within noise"
		case !d.Judged && d.Unit != "":
			note = "(no noise estimate)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t  %s\n", d.Metric, fa, fb, fd, change, note)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprint(w, `
"within noise": the two runs' 95% intervals overlap, each interval the wider of
the sampling interval (order statistics of the HDR histogram for percentiles,
stdev/sqrt(n) for the mean, a two-proportion test for failures) and the batch
means of the per-second series (>= 5 full seconds). Repeated runs can differ
more than one report shows.
`)
	return err
}

func fmtVal(v float64, unit string) string {
	switch unit {
	case "ms":
		return fmt.Sprintf("%.3f ms", v)
	case "/s":
		return fmt.Sprintf("%.1f/s", v)
	case "%":
		return fmt.Sprintf("%.2f%%", v)
	}
	return fmt.Sprintf("%.0f", v)
}
