package bench

import (
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

// TestOptionsHash: shards of one load share the hash, whatever their index
// or run id; another load does not.
func TestOptionsHash(t *testing.T) {
	base := Config{Target: "http://127.0.0.1:1/", Requests: 1000, Concurrency: 8, Shard: Shard{1, 3}, RunID: "a"}
	h := base.optionsHash()
	same := base
	same.Shard, same.RunID, same.Threads = Shard{3, 3}, "b", 4
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
