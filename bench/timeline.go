package bench

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Second is what the run saw in one second of wall time (counted from the
// run's start, warm-up included): its failures by kind and its latency, in
// a coarse HDR histogram (one significant digit: every value within about
// 6%, a few hundred bytes encoded) so an hour's series stays small and
// still merges exactly across shards. Requests per second are in
// Result.PerSecond.
type Second struct {
	Failures map[string]int64
	MaxUs    int64          // exact
	Latency  *hdr.Histogram // µs, coarse
}

// quantile is the second's q-th percentile latency in µs, clamped to its
// exact max (the coarse histogram's bucket may reach past it); ok is false
// for a second without requests.
func (s Second) quantile(q float64) (us int64, ok bool) {
	if s.Latency == nil || s.Latency.TotalCount() == 0 {
		return 0, false
	}
	return min(s.Latency.ValueAtQuantile(q), s.MaxUs), true
}

func newSecondHist() *hdr.Histogram { return hdr.New(1, int64(time.Hour/time.Microsecond), 1) }

// timeline collects the run's per-second series. Each worker fills its
// current second alone and hands it over when the second is done, so the
// lock is taken about once per worker per second, not per request.
type timeline struct {
	mu   sync.Mutex
	secs []Second
}

// secAcc is one worker's current second.
type secAcc struct {
	sec      int
	lat      *hdr.Histogram
	failures map[string]int64
	maxUs    int64
}

func (a *secAcc) add(sec int, us int64, kind string, tl *timeline) {
	if a.lat == nil {
		a.lat, a.sec = newSecondHist(), sec
	} else if sec != a.sec {
		a.flush(tl)
		a.sec = sec
	}
	a.lat.RecordValue(us)
	a.maxUs = max(a.maxUs, us)
	if kind != "" {
		if a.failures == nil {
			a.failures = map[string]int64{}
		}
		a.failures[kind]++
	}
}

func (a *secAcc) flush(tl *timeline) {
	if a.lat == nil || a.lat.TotalCount() == 0 && len(a.failures) == 0 {
		return
	}
	tl.mu.Lock()
	tl.secs = addSecond(tl.secs, a.sec, Second{Failures: a.failures, MaxUs: a.maxUs, Latency: a.lat})
	tl.mu.Unlock()
	a.lat.Reset()
	a.failures, a.maxUs = nil, 0
}

// addSecond adds s into secs[i], growing secs as needed; s is not kept.
func addSecond(secs []Second, i int, s Second) []Second {
	for len(secs) <= i {
		secs = append(secs, Second{})
	}
	d := &secs[i]
	if d.Latency == nil {
		d.Latency = newSecondHist()
	}
	if s.Latency != nil {
		d.Latency.Merge(s.Latency)
	}
	d.MaxUs = max(d.MaxUs, s.MaxUs)
	for k, v := range s.Failures {
		if d.Failures == nil {
			d.Failures = map[string]int64{}
		}
		d.Failures[k] += v
	}
	return secs
}

// Record is one request, as --csv writes it.
type Record struct {
	Start    time.Time     // when the request started (or was due, at a --rate)
	Latency  time.Duration // as the histograms count it
	Status   int           // HTTP status; 0 for raw protocols or when none was read
	Error    string        // failure kind; "" for success
	Sent     int64         // bytes
	Received int64         // bytes
	Connect  time.Duration // 0 on a kept-alive connection
	Wait     time.Duration // request sent to the first response byte
}
