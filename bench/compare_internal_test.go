package bench

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"
)

// synthetic records n requests of latency drawn by lat over secs seconds,
// through the same path a worker records with.
func synthetic(n, secs int, seed uint64, lat func(r *rand.Rand) time.Duration) *Result {
	r := emptyResult()
	tl := &timeline{}
	r.tl = tl
	rng := rand.New(rand.NewPCG(seed, 7))
	for i := range n {
		at := time.Duration(i) * time.Duration(secs) * time.Second / time.Duration(n)
		r.record(&sample{}, "", lat(rng), at)
	}
	r.acc.flush(tl)
	r.Seconds = tl.secs
	r.Duration = time.Duration(secs) * time.Second
	return r
}

func noteOf(t *testing.T, ds []Delta, metric string) Delta {
	t.Helper()
	for _, d := range ds {
		if d.Metric == metric {
			return d
		}
	}
	t.Fatalf("no %s in %v", metric, ds)
	return Delta{}
}

// TestCompareNoise: two samples of one distribution differ within noise;
// a 5% shift of the same size of sample does not.
func TestCompareNoise(t *testing.T) {
	uniform := func(shift float64) func(r *rand.Rand) time.Duration {
		return func(r *rand.Rand) time.Duration {
			return time.Duration((1000 + 1000*r.Float64()) * shift * float64(time.Microsecond))
		}
	}
	a := synthetic(20000, 10, 1, uniform(1))
	b := synthetic(20000, 10, 2, uniform(1))
	c := synthetic(20000, 10, 3, uniform(1.05))
	same, shifted := Compare(a, b), Compare(a, c)
	for _, m := range []string{"latency p50", "latency p90", "latency mean", "requests/s"} {
		if d := noteOf(t, same, m); !d.Judged || !d.Noise {
			t.Errorf("same distribution, %s %.3f vs %.3f: not within noise", m, d.A, d.B)
		}
	}
	for _, m := range []string{"latency p50", "latency p90", "latency mean"} {
		if d := noteOf(t, shifted, m); !d.Judged || d.Noise {
			t.Errorf("shifted by 5%%, %s %.3f vs %.3f: called noise", m, d.A, d.B)
		}
	}
	// A tiny sample cannot tell 5% apart.
	small := Compare(synthetic(20, 1, 1, uniform(1)), synthetic(20, 1, 3, uniform(1.05)))
	if d := noteOf(t, small, "latency p50"); !d.Noise {
		t.Errorf("20 samples each, p50 %.3f vs %.3f: not within noise", d.A, d.B)
	}
	var out strings.Builder
	if err := WriteCompare(&out, "a", "c", a, c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "latency p50") || !strings.Contains(out.String(), "+5.") {
		t.Errorf("compare table:\n%s", out.String())
	}
}

// BenchmarkRecord is the per-request bookkeeping both engines pay: the
// run's histograms, the per-second series and the counters.
func BenchmarkRecord(b *testing.B) {
	r := emptyResult()
	tl := &timeline{}
	r.tl = tl
	s := &sample{sent: 64, received: 64}
	b.ReportAllocs()
	for i := range b.N {
		// 100k requests per second of run time.
		r.record(s, "", time.Duration(500+i%1000)*time.Microsecond, time.Duration(i)*10*time.Microsecond)
	}
}

// TestWriteSeries: a long run is shown in at most 60 windows whose counts
// add up to the run's, and a run that ends a sliver into its last second
// shows that second as partial, without a rate.
func TestWriteSeries(t *testing.T) {
	r := synthetic(15000, 150, 1, func(*rand.Rand) time.Duration { return time.Millisecond })
	r.Duration = 150*time.Second + 50*time.Millisecond
	r.PerSecond = append(r.PerSecond, 7)
	var b strings.Builder
	if err := r.WriteSeries(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	var sum int64
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		n, err := strconv.ParseInt(f[1], 10, 64)
		if strings.Contains(l, "(partial)") {
			n, err = strconv.ParseInt(f[2], 10, 64)
			if f[3] != "-" {
				t.Errorf("a sliver of a second shows a rate: %q", l)
			}
		}
		if err != nil {
			t.Fatalf("row %q: %v", l, err)
		}
		sum += n
	}
	if len(lines)-1 > 60 || sum != 15007 || !strings.HasPrefix(strings.TrimSpace(lines[1]), "1-3 ") {
		t.Errorf("%d rows adding up to %d:\n%s", len(lines)-1, sum, b.String())
	}
}
