package bench

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sockit/sockit/internal/cli"
)

// budget hands out a run's requests to its workers (both engines) and holds
// the little state they share: the warm-up requests come on top of -n
// (ab's users expect exactly -n measured requests after it), the first
// HTTP document's length (ab's "Document Length", against which every
// later body is checked, unless -l), and the requests cut off by the end
// of the run; and the running counts of measured requests, done and
// failed, for Config.Progress.
type budget struct {
	n        int64         // measured requests
	warmup   time.Duration // before start+warmup, requests are warm-up ones
	start    time.Time
	interval time.Duration // at a --rate, the time between requests
	anyLen   bool          // -l: bodies may differ in length
	httpDoc  bool          // check bodies against the first (HTTP targets)

	issued atomic.Int64 // measured requests handed out
	warm   atomic.Int64 // warm-up requests handed out
	doc    atomic.Int64 // first document's length + 1; 0 until one completed
	cut    atomic.Int64 // requests in flight when the run ended
	quiet  atomic.Int64 // requests that timed out (see hint)
	done   atomic.Int64 // measured requests recorded
	failed atomic.Int64 // of which failed
	// The first failure's error of each kind, where one said why, and the
	// kind of the first of all; the start of the first reply that was not
	// an HTTP response.
	mu      sync.Mutex
	seen    atomic.Uint32 // a bit per kind (kinds) whose first is kept
	firsts  map[string]string
	first   string
	notHTTP atomic.Pointer[string]
	server  atomic.Pointer[string]  // the first Server field, warm-up included
	tls     atomic.Pointer[TLSInfo] // the first TLS connection's, warm-up included
}

func newBudget(cfg *Config, start time.Time, httpDoc bool) *budget {
	b := &budget{n: cfg.Requests, warmup: cfg.Warmup, start: start, anyLen: cfg.AnyLength, httpDoc: httpDoc}
	if cfg.Rate > 0 {
		b.interval = time.Duration(float64(time.Second) / cfg.Rate)
	}
	return b
}

// take returns the next request: whether it is a warm-up one, the time it
// is due (at a --rate; now otherwise), and false when the run's -n
// measured requests are all handed out.
func (b *budget) take(now time.Time) (warm bool, due time.Time, ok bool) {
	end := b.start.Add(b.warmup)
	if b.warmup > 0 && now.Before(end) {
		w := b.warm.Add(1) - 1
		if b.interval <= 0 {
			return true, now, true
		}
		if due := b.start.Add(time.Duration(w) * b.interval); due.Before(end) {
			return true, due, true
		}
	}
	i := b.issued.Add(1) - 1
	if i >= b.n {
		return false, time.Time{}, false
	}
	if b.interval <= 0 {
		return false, now, true
	}
	return false, end.Add(time.Duration(i) * b.interval), true
}

// checkLength is ab's length check: the first complete response sets the
// document length; a later body of another length is a Length failure
// (unless -l). It returns the request's failure kind.
func (b *budget) checkLength(s *sample, kind string) string {
	if kind != "" || !b.httpDoc {
		return kind
	}
	if b.doc.CompareAndSwap(0, s.body+1) || b.anyLen {
		return kind
	}
	if b.doc.Load()-1 != s.body {
		return FailLength
	}
	return kind
}

// record tallies one measured request on st, a worker's or loop's own
// Result, for both engines: ab's length check, then the request, then the
// running counts. It ends at at, counted from the start of the run.
func (b *budget) record(st *tally, s *sample, kind string, total, at time.Duration) {
	kind = st.record(s, b.checkLength(s, kind), total, at)
	b.done.Add(1)
	if s.notHTTP && b.notHTTP.Load() == nil {
		v := s.begin
		b.notHTTP.CompareAndSwap(nil, &v)
	}
	if kind == "" {
		return
	}
	b.failed.Add(1)
	if s.err == nil {
		return
	}
	bit := uint32(1) << max(slices.Index(kinds, kind), 0)
	if b.seen.Load()&bit != 0 {
		return // this kind's first is kept: no lock on the failing hot path
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.seen.Load()&bit == 0 {
		b.seen.Or(bit)
		if b.firsts == nil {
			b.firsts = map[string]string{}
		}
		b.firsts[kind] = cli.Message(s.err) // in the words of every sockit message, JSON too
		if b.first == "" {
			b.first = kind
		}
	}
}

// kinds are the failure kinds, in the order of budget.seen's bits.
var kinds = []string{FailConnect, FailTimeout, FailRead, FailWrite, FailStatus, FailLength, FailVerify}

// firstErrors are the first failure's error text ("" if none said why) and
// each kind's first.
func (b *budget) firstErrors() (string, map[string]string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.firsts[b.first], b.firsts
}

// noteServer keeps the first response's Server field: ab's Server
// Software, which a warm-up response may be the only one to carry (each
// worker reads the field once).
func (b *budget) noteServer(s *sample) {
	b.noteTLS(s)
	if s.server != "" && b.server.Load() == nil {
		v := s.server // s is the loop's, reused by its next request
		b.server.CompareAndSwap(nil, &v)
	}
}

// noteTLS keeps the first TLS connection's parameters, for the report.
func (b *budget) noteTLS(s *sample) {
	if s.tlsInfo != nil && b.tls.Load() == nil {
		info := tlsInfoOf(s.tlsInfo)
		b.tls.CompareAndSwap(nil, &info)
	}
}

// tlsInfo is the first TLS connection's parameters; zero if none.
func (b *budget) tlsInfo() TLSInfo {
	if p := b.tls.Load(); p != nil {
		return *p
	}
	return TLSInfo{}
}

// serverSoftware is the first response's Server field, "" if none.
func (b *budget) serverSoftware() string {
	if p := b.server.Load(); p != nil {
		return *p
	}
	return ""
}

// notHTTPStart is how the first reply that was not an HTTP response began.
func (b *budget) notHTTPStart() string {
	if p := b.notHTTP.Load(); p != nil {
		return *p
	}
	return ""
}

// docLength is the first document's length, -1 if none completed.
func (b *budget) docLength() int64 { return b.doc.Load() - 1 }

// noteTimeout counts the requests that got no reply in time, for hint.
func (b *budget) noteTimeout(kind string) {
	if kind == FailTimeout {
		b.quiet.Add(1)
	}
}

// hint says why a datagram target kept silent: after repeated timeouts,
// the likeliest cause against a sockit (or any amplification-aware)
// server is its per-source reply budget, which drops replies silently.
func (b *budget) hint(cfg *Config) string {
	if b.quiet.Load() < 3 || !strings.HasPrefix(cfg.Target, "udp") && !strings.HasPrefix(cfg.Target, "unixgram") {
		return ""
	}
	return fmt.Sprintf("no reply to %d requests within -s %v: dropped by the server's budget? "+
		"(sockit serve limits the UDP reply bytes per source; benchmark it with --udp-budget off)", b.quiet.Load(), cfg.Timeout)
}
