package bench

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

// TestShardParts: the shards' parts add up to the whole run exactly.
func TestShardParts(t *testing.T) {
	for _, tc := range []struct {
		cfg        Config
		n          int
		reqs       []int64
		conns      []int
		rate       float64 // each active shard's
		idleShards int
	}{
		{Config{Requests: 1000, Concurrency: 30}, 3, []int64{334, 333, 333}, []int{10, 10, 10}, 0, 0},
		{Config{Requests: 1000, Concurrency: 2}, 3, []int64{500, 500, 0}, []int{1, 1, 0}, 0, 1},
		{Config{Requests: 2, Concurrency: 50}, 3, []int64{1, 1, 0}, []int{1, 1, 0}, 0, 1},
		{Config{Requests: 0, Concurrency: 7, Duration: time.Second, Rate: 900}, 3, []int64{0, 0, 0}, []int{3, 2, 2}, 300, 0},
		{Config{Requests: 10, Concurrency: 7, Duration: time.Second}, 4, []int64{3, 3, 2, 2}, []int{2, 2, 2, 1}, 0, 0},
	} {
		var reqs int64
		var conns, idle int
		for i := 1; i <= tc.n; i++ {
			cfg := tc.cfg
			why := Shard{i, tc.n}.apply(&cfg)
			if why != "" {
				idle++
				if !strings.Contains(why, "is idle") {
					t.Errorf("%+v shard %d: %q", tc.cfg, i, why)
				}
			}
			if why != "" {
				cfg.Requests = 0 // an idle shard sends nothing, whatever its -n says
			}
			if cfg.Requests != tc.reqs[i-1] || cfg.Concurrency != tc.conns[i-1] || why == "" && cfg.Rate != tc.rate || cfg.Duration != tc.cfg.Duration {
				t.Errorf("%+v shard %d/%d: -n %d -c %d --rate %g -d %v; want -n %d -c %d --rate %g", tc.cfg, i, tc.n,
					cfg.Requests, cfg.Concurrency, cfg.Rate, cfg.Duration, tc.reqs[i-1], tc.conns[i-1], tc.rate)
			}
			reqs += cfg.Requests
			conns += cfg.Concurrency
		}
		if idle != tc.idleShards {
			t.Errorf("%+v: %d idle shards, want %d", tc.cfg, idle, tc.idleShards)
		}
		if tc.cfg.Requests > 0 && reqs != tc.cfg.Requests {
			t.Errorf("%+v: shards send %d requests in all", tc.cfg, reqs)
		}
		want := tc.cfg.Concurrency
		if tc.cfg.Duration == 0 {
			want = min(want, int(tc.cfg.Requests)) // as ab: no more connections than requests
		}
		if conns != want {
			t.Errorf("%+v: shards open %d connections in all, want %d", tc.cfg, conns, want)
		}
	}
}

func TestParseShard(t *testing.T) {
	for _, bad := range []string{"", "1", "0/3", "4/3", "1/0", "a/b", "-1/3", "1/3/4"} {
		if _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	sh, ok, err := ShardFromEnv(env(map[string]string{"JOB_COMPLETION_INDEX": "0", "SOCKIT_SHARDS": "4"}))
	if !ok || err != nil || sh != (Shard{1, 4}) {
		t.Errorf("index 0 of 4: %v %v %v", sh, ok, err)
	}
	if _, ok, err := ShardFromEnv(env(nil)); ok || err != nil {
		t.Errorf("no env: %v %v", ok, err)
	}
}

// TestReadReportsFromKubectlLogs: reports between markers, in a log whose
// lines carry kubectl's --prefix and interleave between pods.
func TestReadReportsFromKubectlLogs(t *testing.T) {
	a, b := emptyResult(), emptyResult()
	a.Shard, b.Shard = Shard{1, 2}, Shard{2, 2}
	var sa, sb strings.Builder
	a.WriteJSONMarked(&sa)
	b.WriteJSONMarked(&sb)
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
	shard := func(i int, start time.Time) *Result {
		r := synthetic(200, 2, uint64(i), func(*rand.Rand) time.Duration { return time.Millisecond })
		r.Shard, r.RunID, r.OptionsHash, r.Start = Shard{i, 2}, "r", "h", start
		return r
	}
	m, err := MergeRun([]Named{{"a", shard(1, t0)}, {"b", shard(2, t0.Add(3*time.Second))}})
	if err != nil {
		t.Fatal(err)
	}
	if m.Requests != 400 || len(m.PerSecond) != 5 || m.PerSecond[2] != 0 || m.PerSecond[3] != 100 || m.Seconds[4].Latency.TotalCount() != 100 {
		t.Errorf("merged series %v", m.PerSecond)
	}
	if m.Duration != 5*time.Second || m.StartSkew != 3*time.Second || len(m.Warnings()) == 0 || !strings.Contains(m.Warnings()[0], "3s apart") {
		t.Errorf("duration %v, skew %v, warnings %q", m.Duration, m.StartSkew, m.Warnings())
	}
	if _, err := MergeRun([]Named{{"a", shard(1, t0)}, {"x", func() *Result { r := shard(2, t0); r.OptionsHash = "other"; return r }()}}); err == nil || !strings.Contains(err.Error(), "a and x were asked for different loads") {
		t.Errorf("different loads: %v", err)
	}
	if _, err := MergeRun([]Named{{"a", shard(1, t0)}, {"y", func() *Result { r := shard(2, t0); r.RunID = "s"; return r }()}}); err == nil || !strings.Contains(err.Error(), `a is run "r" but y is run "s"`) {
		t.Errorf("different runs: %v", err)
	}
}

// TestOptionsHash: shards of one load share the hash, whatever their index
// or run id; another load does not.
func TestOptionsHash(t *testing.T) {
	base := Config{Target: "http://127.0.0.1:1/", Requests: 1000, Concurrency: 8, Shard: Shard{1, 3}, RunID: "a"}
	h := base.optionsHash()
	same := base
	same.Shard, same.RunID, same.Loops = Shard{3, 3}, "b", 4
	if same.optionsHash() != h {
		t.Errorf("index, run id or threads changed the hash")
	}
	for _, change := range []func(*Config){
		func(c *Config) { c.Requests++ },
		func(c *Config) { c.Concurrency++ },
		func(c *Config) { c.Rate = 10 },
		func(c *Config) { c.Shard.Count = 4 },
		func(c *Config) { c.Engine = EngineLoop },
		func(c *Config) { c.Body = []byte("x") },
		func(c *Config) { c.Headers = []string{"A: b"} },
		func(c *Config) { c.KeepAlive = true },
	} {
		c := base
		change(&c)
		if c.optionsHash() == h {
			t.Errorf("%+v has the same hash as %+v", c, base)
		}
	}
}
