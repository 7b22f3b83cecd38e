package bench

import (
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// timeline collects the run's per-second series, and for its first
// FineSpan the series in FineBucket steps. Each worker fills its current
// bucket alone and hands it over when the bucket is done, so the lock is
// taken about once per worker per bucket, not per request.
type timeline struct {
	mu     sync.Mutex
	secs   []Second
	tenths []Second
}

// The fine series: buckets of FineBucket over the first FineSpan of a run,
// which the charts of a run shorter than FineSpan draw (a second is too
// coarse a step for them).
const (
	FineBucket = 100 * time.Millisecond
	FineSpan   = 5 * time.Second
)

// secAcc is one worker's current bucket (a second, or a tenth).
type secAcc struct {
	fine     bool // a FineBucket's, not a second's
	sec      int
	lat      *hdr.Histogram
	failures map[string]int64
	maxUs    int64
}

func (a *secAcc) add(sec int, us int64, kind string, tl *timeline) {
	if a.lat == nil {
		a.lat, a.sec = NewSecondHistogram(), sec
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
	if a.fine {
		tl.tenths = AddSecond(tl.tenths, a.sec, Second{Failures: a.failures, MaxUs: a.maxUs, Latency: a.lat})
	} else {
		tl.secs = AddSecond(tl.secs, a.sec, Second{Failures: a.failures, MaxUs: a.maxUs, Latency: a.lat})
	}
	tl.mu.Unlock()
	a.lat.Reset()
	a.failures, a.maxUs = nil, 0
}

// tally is one worker's (or loop's) own Result, added into the run's at
// the end, with what feeds the run's timeline and Config.Record.
type tally struct {
	Result
	tl        *timeline
	acc, fine secAcc
	sink      func(Record)
	t0        time.Time
}

func newTally(tl *timeline, sink func(Record), t0 time.Time) *tally {
	return &tally{Result: *NewResult(), tl: tl, sink: sink, t0: t0, fine: secAcc{fine: true}}
}

// flush hands the tally's last buckets to the timeline.
func (r *tally) flush() {
	r.acc.flush(r.tl)
	r.fine.flush(r.tl)
}

// record adds one request to the tally; it returns its failure kind.
func (r *tally) record(s *sample, kind string, total, at time.Duration) string {
	r.Requests++
	us := max(int64(total/time.Microsecond), 1)
	r.Latency.RecordValue(us)
	r.Connect.RecordValue(int64(s.connect / time.Microsecond))
	r.Wait.RecordValue(int64(s.wait / time.Microsecond))
	r.Processing.RecordValue(max(int64((total-s.connect)/time.Microsecond), 0))
	if s.tls {
		r.Handshake.RecordValue(int64(s.handshake / time.Microsecond))
		if s.resumed {
			r.HandshakesResumed++
		} else {
			r.HandshakesFull++
		}
	}
	sec := int(at / time.Second)
	if r.tl != nil {
		r.acc.add(sec, us, kind, r.tl)
		if at < FineSpan {
			r.fine.add(int(at/FineBucket), us, kind, r.tl)
		}
	}
	if r.sink != nil {
		r.sink(Record{Start: r.t0.Add(at - total), Latency: time.Duration(us) * time.Microsecond, Status: s.status,
			Error: kind, Sent: s.sent, Received: s.received, Connect: s.connect, Wait: s.wait})
	}
	for len(r.PerSecond) <= sec {
		r.PerSecond = append(r.PerSecond, 0)
	}
	r.PerSecond[sec]++
	r.BytesSent += s.sent
	r.BytesReceived += s.received
	r.BodyBytes += s.body
	if s.keptAlive {
		r.KeepAlive++
	}
	if s.non2xx {
		r.Non2xx++
	}
	if s.notHTTP {
		r.NotHTTP++
		if s.echoed {
			r.Echoed++
		}
	}
	if s.server != "" && r.ServerSoftware == "" {
		r.ServerSoftware = s.server
	}
	if kind == "" && r.DocLength < 0 {
		r.DocLength = s.body
	}
	if kind != "" {
		r.Failures[kind]++
	}
	return kind
}
