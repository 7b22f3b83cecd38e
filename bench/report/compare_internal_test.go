package report

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/bench"
)

// synthetic is a run of n requests of latency drawn by lat over secs
// seconds, as the engine records them: the histogram, the per-second
// counts and each second's coarse histogram and max.
func synthetic(n, secs int, seed uint64, lat func(r *rand.Rand) time.Duration) *bench.Result {
	r := bench.NewResult()
	rng := rand.New(rand.NewPCG(seed, 7))
	cur, sec := bench.Second{}, -1
	flush := func() {
		if sec >= 0 {
			r.Seconds = bench.AddSecond(r.Seconds, sec, cur)
		}
	}
	for i := range n {
		at := time.Duration(i) * time.Duration(secs) * time.Second / time.Duration(n)
		us := max(int64(lat(rng)/time.Microsecond), 1)
		if s := int(at / time.Second); s != sec {
			flush()
			cur, sec = bench.Second{Latency: bench.NewSecondHistogram()}, s
		}
		cur.Latency.RecordValue(us)
		cur.MaxUs = max(cur.MaxUs, us)
		r.Latency.RecordValue(us)
		r.Requests++
		for len(r.PerSecond) <= sec {
			r.PerSecond = append(r.PerSecond, 0)
		}
		r.PerSecond[sec]++
	}
	flush()
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

// TestWriteSeries: a long run is shown in at most 60 windows whose counts
// add up to the run's, and a run that ends a sliver into its last second
// shows that second as partial, without a rate.
func TestWriteSeries(t *testing.T) {
	r := synthetic(15000, 150, 1, func(*rand.Rand) time.Duration { return time.Millisecond })
	r.Duration = 150*time.Second + 50*time.Millisecond
	r.PerSecond = append(r.PerSecond, 7)
	var b strings.Builder
	if err := WriteSeries(&b, r); err != nil {
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

// TestReadReportsFromKubectlLogs: reports between markers, in a log whose
// lines carry kubectl's --prefix and interleave between pods.
func TestReadReportsFromKubectlLogs(t *testing.T) {
	a, b := bench.NewResult(), bench.NewResult()
	a.Shard, b.Shard = bench.Shard{Index: 1, Count: 2}, bench.Shard{Index: 2, Count: 2}
	var sa, sb strings.Builder
	WriteJSONMarked(&sa, a)
	WriteJSONMarked(&sb, b)
	la, lb := strings.Split(sa.String(), "\n"), strings.Split(sb.String(), "\n")
	var log strings.Builder
	log.WriteString("[pod/j-0-x/bench] Server Hostname: 127.0.0.1\n")
	for i := range max(len(la), len(lb)) {
		if i < len(la) && la[i] != "" {
			log.WriteString("[pod/j-0-x/bench] " + la[i] + "\n")
		}
		if i < len(lb) && lb[i] != "" {
			log.WriteString("[pod/j-1-y/bench] " + lb[i] + "\n")
		}
	}
	rs, err := ReadReports("stdin", []byte(log.String()))
	if err != nil || len(rs) != 2 || rs[0].Shard != a.Shard || rs[1].Shard != b.Shard || !strings.Contains(rs[1].Name, "pod/j-1-y") {
		t.Fatalf("%v %v", rs, err)
	}
	if _, err := ReadReports("cut", []byte(strings.Join(la[:3], "\n"))); err == nil || !strings.Contains(err.Error(), "never ends") {
		t.Errorf("truncated log: %v", err)
	}
}

// TestMergeRunAlignsShards: shards that started 3 s apart merge into one
// series, each shard's seconds at their place in wall time, the duration
// spanning both, and the skew is warned about.
func TestMergeRunAlignsShards(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	shard := func(i int, start time.Time) *bench.Result {
		r := synthetic(200, 2, uint64(i), func(*rand.Rand) time.Duration { return time.Millisecond })
		r.Shard, r.RunID, r.OptionsHash, r.Start = bench.Shard{Index: i, Count: 2}, "r", "h", start
		return r
	}
	m, err := MergeRun([]Named{{"a", shard(1, t0)}, {"b", shard(2, t0.Add(3*time.Second))}}, MergeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 400 || len(m.PerSecond) != 5 || m.PerSecond[2] != 0 || m.PerSecond[3] != 100 || m.Seconds[4].Latency.TotalCount() != 100 {
		t.Errorf("merged series %v", m.PerSecond)
	}
	if m.Duration != 5*time.Second || m.StartSkew != 3*time.Second || len(Warnings(m)) == 0 || !strings.Contains(Warnings(m)[0], "3s apart") {
		t.Errorf("duration %v, skew %v, warnings %q", m.Duration, m.StartSkew, Warnings(m))
	}
	if _, err := MergeRun([]Named{{"a", shard(1, t0)}, {"x", func() *bench.Result { r := shard(2, t0); r.OptionsHash = "other"; return r }()}}, MergeOptions{}); err == nil || !strings.Contains(err.Error(), "a and x were asked for different loads") {
		t.Errorf("different loads: %v", err)
	}
	if _, err := MergeRun([]Named{{"a", shard(1, t0)}, {"y", func() *bench.Result { r := shard(2, t0); r.RunID = "s"; return r }()}}, MergeOptions{}); err == nil || !strings.Contains(err.Error(), `a is run "r" but y is run "s"`) {
		t.Errorf("different runs: %v", err)
	}
}
