package bench

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Shard selects one exact part of a run that N processes (or the pods of a
// Kubernetes Indexed Job) share, as k6's execution segments do: the N
// shards together send exactly -n requests, open exactly -c connections
// and hold exactly --rate. The zero value is the whole run.
type Shard struct {
	Index int // 1-based, as Playwright's and Jest's --shard count
	Count int // 0 means the whole run (no sharding)
}

// ParseShard parses "I/N" (1 <= I <= N).
func ParseShard(s string) (Shard, error) {
	is, ns, ok := strings.Cut(s, "/")
	i, err1 := strconv.Atoi(is)
	n, err2 := strconv.Atoi(ns)
	if !ok || err1 != nil || err2 != nil || n < 1 || i < 1 || i > n || n > 100000 {
		return Shard{}, fmt.Errorf("shard %q: want I/N with 1 <= I <= N (e.g. 2/3)", s)
	}
	return Shard{Index: i, Count: n}, nil
}

// ShardFromEnv selects the shard the way an Indexed Job runs it:
// JOB_COMPLETION_INDEX (0-based) and SOCKIT_SHARDS (the count). ok is false
// when neither is set; one without the other is an error.
func ShardFromEnv(getenv func(string) string) (sh Shard, ok bool, err error) {
	idx, n := getenv("JOB_COMPLETION_INDEX"), getenv("SOCKIT_SHARDS")
	switch {
	case idx == "" && n == "":
		return Shard{}, false, nil
	case n == "":
		return Shard{}, false, errors.New("JOB_COMPLETION_INDEX is set but SOCKIT_SHARDS (the shard count) is not")
	case idx == "":
		return Shard{}, false, errors.New("SOCKIT_SHARDS is set but JOB_COMPLETION_INDEX (this shard's 0-based index) is not")
	}
	i, err := strconv.Atoi(idx)
	if err != nil {
		return Shard{}, false, fmt.Errorf("JOB_COMPLETION_INDEX=%q is not a number", idx)
	}
	sh, err = ParseShard(fmt.Sprintf("%d/%s", i+1, n))
	if err != nil {
		return Shard{}, false, fmt.Errorf("JOB_COMPLETION_INDEX=%s SOCKIT_SHARDS=%s: %w", idx, n, err)
	}
	return sh, true, nil
}

func (s Shard) String() string {
	if s.Count == 0 {
		return ""
	}
	return fmt.Sprintf("%d/%d", s.Index, s.Count)
}

// part returns shard i's part of total over n parts: total/n, plus one for
// the first total%n shards, so the parts add up to total exactly.
func part(total int64, i, n int) int64 {
	p := total / int64(n)
	if int64(i) <= total%int64(n) {
		p++
	}
	return p
}

// apply narrows cfg (as the user gave it, before defaults) to shard s. It
// returns a non-empty reason when the shard has nothing to do.
//
// Connections spread over all N shards (-c 2 over 3 is 1+1+0); requests
// and rate spread over the shards that have a connection (-n 1000 -c 2 over
// 3 is 500+500+0), so no shard is handed requests it cannot send. A -d run
// lasts the same time on every shard; its -n, if given, is split too.
func (s Shard) apply(cfg *Config) (idle string) {
	if s.Count <= 1 {
		return ""
	}
	c := int64(max(cfg.Concurrency, 1))
	n := cfg.Requests
	bounded := n > 0 || cfg.Duration == 0
	if n <= 0 && cfg.Duration == 0 {
		n = 1
	}
	if bounded && c > n {
		c = n // as Config.fill does: ab refuses -c > -n
	}
	active := int(min(int64(s.Count), c))
	cfg.Concurrency = int(part(c, s.Index, s.Count))
	if cfg.Concurrency == 0 {
		// The rest of cfg stays as the others' so that it is checked alike.
		return fmt.Sprintf("shard %s is idle: -c %d over %d shards leaves it no connection", s, c, s.Count)
	}
	if bounded {
		cfg.Requests = part(n, s.Index, active)
	}
	if cfg.Rate > 0 {
		cfg.Rate /= float64(active)
	}
	return ""
}

// optionsHash identifies the load a run was asked for (before sharding), so
// merge can refuse shards of different loads. It covers everything that
// shapes the traffic (the engine asked for included, not the threads a
// machine gives it), not the run id or this shard's index.
func (c *Config) optionsHash() string {
	body := sha256.Sum256(c.Body)
	b, _ := json.Marshal(struct {
		Target, Method, ContentType, UnixSocket, Proto, Engine string
		Headers                                                []string
		Body                                                   string
		Requests                                               int64
		Concurrency, Size, Shards                              int
		Duration, Timeout, Warmup                              int64
		KeepAlive, Insecure                                    bool
		Rate                                                   float64
		Seed                                                   uint64
		ServerName                                             string `json:",omitempty"`
		NoResume                                               bool   `json:",omitempty"`
		HTTP2                                                  bool   `json:",omitempty"`
		Streams                                                int    `json:",omitempty"`
	}{c.Target, c.Method, c.ContentType, c.UnixSocket, c.Proto, c.Engine, c.Headers, hex.EncodeToString(body[:]),
		c.Requests, c.Concurrency, c.Size, c.Shard.Count, int64(c.Duration), int64(c.Timeout), int64(c.Warmup),
		c.KeepAlive, c.Insecure, c.Rate, c.Seed, c.ServerName, c.NoResume, c.HTTP2, c.Streams})
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:8])
}

// ShardFor is the shard a command runs: flag's (--shard I/N) if given,
// else the environment's (ShardFromEnv), else none. A bad flag is a
// *FieldError of Shard; the environment's error names its variables.
func ShardFor(flag string, getenv func(string) string) (Shard, error) {
	if flag != "" {
		sh, err := ParseShard(flag)
		if err != nil {
			return sh, &FieldError{Field: "Shard", Reason: err.Error()}
		}
		return sh, nil
	}
	sh, _, err := ShardFromEnv(getenv)
	return sh, err
}
