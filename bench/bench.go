package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/sockit/sockit/proto/httpraw"
)

// Failure kinds.
const (
	FailConnect = "connect"
	FailTimeout = "timeout"
	FailRead    = "read"
	FailWrite   = "write"
	FailStatus  = "status"
	FailLength  = "length"
	FailVerify  = "verify"
)

// Procs is the GOMAXPROCS for a run on loops event-loop threads: one P
// more than loops, so a loop blocked in epoll_wait leaves an idle P and
// Go's sysmon does not hand the loop's P off (a futex and a wake-up per
// wait). GOMAXPROCS is the process's to set; the command does, from
// --threads.
func Procs(loops int) int { return max(loops, 1) + 1 }

// The engines.
const (
	EngineGoroutine = "goroutine"
	EngineLoop      = "loop"
)

// DefaultEngine is why "" picks what it picks, for the help text.
const DefaultEngine = "the loop engine wherever it can run the options given (HTTP, https, " +
	"TCP or Unix echo; closed or --rate), since it needs less client CPU per request " +
	"(measured against sockit serve with -k -c 50: about 100k against 73k requests per " +
	"CPU-second closed, 82-93k against 50-56k at --rate 20000); the goroutine engine " +
	"otherwise (datagrams, the other raw protocols)"

// chooseEngine settles cfg.Engine and returns the loops' target when the
// loop engine runs.
func chooseEngine(cfg *Config, newWorker func(int) worker) (*loopTarget, error) {
	lt, why := loopTargetFor(cfg, newWorker)
	if cfg.HTTP2 && why != "" {
		return nil, bad("HTTP2", "HTTP/2 runs on the %s engine, which cannot run %s", EngineLoop, why)
	}
	switch cfg.Engine {
	case "":
		if why != "" {
			cfg.Engine = EngineGoroutine
			return nil, nil
		}
		cfg.Engine = EngineLoop
		return lt, nil
	case EngineLoop:
		if why != "" {
			return nil, bad("Engine", "%s cannot run %s; the %s engine can", EngineLoop, why, EngineGoroutine)
		}
		return lt, nil
	case EngineGoroutine:
		return nil, nil
	}
	return nil, bad("Engine", "%q: want %s or %s", cfg.Engine, EngineGoroutine, EngineLoop)
}

// worker is one connection's loop.
type worker interface {
	// do performs request i; it returns the latency-relevant timings and a
	// failure kind ("" for success). The worker keeps its own connection.
	do(ctx context.Context, s *sample) string
	close()
}

// sample is what one request measured.
type sample struct {
	connect   time.Duration // 0 when the connection was reused
	wait      time.Duration // request sent to first response byte
	sent      int64
	received  int64
	body      int64
	keptAlive bool
	non2xx    bool
	status    int // HTTP status, 0 if none
	server    string
	inBody    bool   // HTTP: the response's head has ended
	notHTTP   bool   // the reply to an HTTP request was not an HTTP response
	echoed    bool   // ... it was the request itself
	begin     string // ... and began so
	err       error  // why the request failed, where an error said it
	// A TLS handshake made for this request: its time (part of connect,
	// as ab counts it), whether it resumed a session, and the first
	// connection's state for the report.
	handshake time.Duration
	tls       bool
	resumed   bool
	tlsInfo   *tls.ConnectionState
}

// fail notes err as the request's failure and returns its kind.
func (s *sample) fail(err error, phase string) string {
	s.err = err
	return classify(err, phase)
}

// Run executes the benchmark and returns its result. Canceling ctx stops it
// early; the result then covers what completed. A setting Run cannot
// honour is a *FieldError (Validate's), before anything is sent.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	hash := cfg.optionsHash()
	cfg.normalize()
	idle := cfg.Shard.apply(&cfg)
	cfg.fill()
	newWorker, info, err := prepare(&cfg)
	if err != nil {
		return nil, err
	}
	res := newResult(&cfg, info)
	res.Shard, res.RunID, res.OptionsHash, res.Idle = cfg.Shard, cfg.RunID, hash, idle
	res.Start, res.Warmup = time.Now(), cfg.Warmup
	if idle != "" {
		// Refuse what the busy shards refuse, so an idle one never hides it.
		if _, err := chooseEngine(&cfg, newWorker); err != nil {
			return nil, err
		}
		res.Engine, res.Concurrency, res.Rate = cfg.Engine, 0, 0
		return res, nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	if cfg.Duration > 0 {
		var c2 context.CancelFunc
		runCtx, c2 = context.WithTimeout(runCtx, cfg.Duration+cfg.Warmup)
		defer c2()
	}
	start := time.Now()
	res.Start = start
	cpu0 := cpuTime()
	lt, err := chooseEngine(&cfg, newWorker)
	if err != nil {
		return nil, err
	}
	res.Engine = cfg.Engine
	if cfg.HTTP2 {
		res.Protocol, res.MaxStreams = "h2c", max(cfg.Streams, 1)
		if strings.HasPrefix(cfg.Target, "https:") {
			res.Protocol = "h2"
		}
	}
	r := &runner{cfg: &cfg, tl: &timeline{}, bud: newBudget(&cfg, start, info.http), start: start}
	if lt != nil {
		r.loops(runCtx, lt)
	} else {
		r.goroutines(runCtx, newWorker)
	}
	r.wait()
	elapsed := time.Since(start) - cfg.Warmup
	if cfg.Warmup > 0 && elapsed <= 0 {
		elapsed = time.Since(start)
	}
	for _, st := range r.tallies {
		st.flush()
		res.Add(&st.Result)
	}
	bud := r.bud
	res.Seconds, res.Tenths = r.tl.secs, r.tl.tenths
	res.Cut = bud.cut.Load()
	if info.http {
		res.DocLength = bud.docLength()
	}
	res.Hint = bud.hint(&cfg)
	res.FirstError, res.FirstErrors = bud.firstErrors()
	res.NotHTTPStart = bud.notHTTPStart()
	res.ServerSoftware = bud.serverSoftware()
	res.TLS = bud.tlsInfo()
	res.Duration = elapsed
	res.ClientCPU = cpuTime() - cpu0
	res.Interrupted = ctx.Err() != nil
	return res, nil
}

// runner is one run's workers (goroutines or event loops) and what they
// share.
type runner struct {
	cfg     *Config
	tl      *timeline
	bud     *budget
	start   time.Time
	wg      sync.WaitGroup
	tallies []*tally
}

func (r *runner) tally() *tally {
	st := newTally(r.tl, r.cfg.Record, r.start)
	r.tallies = append(r.tallies, st)
	return st
}

// loops runs the load on event loops, the connections spread over them.
func (r *runner) loops(ctx context.Context, lt *loopTarget) {
	cfg := r.cfg
	loops := cfg.Threads
	if loops <= 0 {
		loops = runtime.GOMAXPROCS(0)
	}
	loops = max(min(loops, cfg.Concurrency), 1)
	for i := range loops {
		st := r.tally()
		slots := cfg.Concurrency / loops
		if i < cfg.Concurrency%loops {
			slots++
		}
		run := runLoop
		if cfg.HTTP2 {
			run = runLoopH2
		}
		r.wg.Go(func() {
			if err := run(ctx, lt, cfg, slots, st, r.bud); err != nil {
				st.Failures[FailConnect]++ // the loop itself failed (epoll); counted, not hidden
			}
		})
	}
}

// goroutines runs the load on a goroutine per connection.
func (r *runner) goroutines(ctx context.Context, newWorker func(int) worker) {
	for w := range r.cfg.Concurrency {
		st := r.tally()
		r.wg.Go(func() {
			wk := newWorker(w)
			defer wk.close()
			for ctx.Err() == nil && r.request(ctx, wk, st) {
			}
		})
	}
}

// request makes one request on wk at its time; false when the worker is
// done.
func (r *runner) request(ctx context.Context, wk worker, st *tally) bool {
	bud := r.bud
	warm, due, ok := bud.take(time.Now())
	if !ok {
		return false
	}
	if bud.interval > 0 {
		if d := time.Until(due); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return false
			}
		} else if lag := -d; lag > st.MaxLag {
			st.MaxLag = lag
		}
	}
	var s sample
	t0 := time.Now()
	kind := wk.do(ctx, &s)
	end := time.Now()
	if kind != "" && ended(ctx, end) {
		// Cut off by the end of the run, not a server fault.
		if !warm {
			bud.cut.Add(1)
		}
		return false
	}
	bud.noteTimeout(kind)
	bud.noteServer(&s)
	if warm {
		return true
	}
	total := end.Sub(t0)
	if bud.interval > 0 {
		total = end.Sub(due)
	}
	bud.record(st, &s, kind, total, end.Sub(r.start))
	return true
}

// wait waits for the workers, calling Config.Progress about once a second
// meanwhile.
func (r *runner) wait() {
	finished := make(chan struct{})
	go func() { r.wg.Wait(); close(finished) }()
	if r.cfg.Progress == nil {
		<-finished
		return
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			r.cfg.Progress(r.bud.done.Load(), r.bud.failed.Load(), time.Since(r.start))
		case <-finished:
			return
		}
	}
}

// targetInfo describes the target for the report.
type targetInfo struct {
	host, port, path string
	http, packet     bool
}

// prepare reads the target (Validate has checked it) and returns a worker
// factory.
func prepare(cfg *Config) (func(id int) worker, targetInfo, error) {
	t, err := parseTarget(cfg.Target)
	if err != nil {
		return nil, targetInfo{}, err
	}
	if t.http {
		u, err := httpraw.ParseURL(cfg.Target)
		if err != nil {
			return nil, targetInfo{}, err
		}
		h := newHTTPTarget(cfg, u)
		return h.worker, targetInfo{host: u.Hostname(), port: h.port, path: u.RequestURI(), http: true}, nil
	}
	e := t.endpoint
	r, err := newRawTarget(cfg, e)
	if err != nil {
		return nil, targetInfo{}, err
	}
	info := targetInfo{host: e.Host(), port: fmt.Sprint(e.Port()), path: cfg.Proto, packet: e.IsPacket()}
	if e.IsUnix() {
		info.host, info.port = e.Address, "-"
	}
	return r.worker, info, nil
}

// ended reports whether ctx is done at now, or past its deadline: a dial
// under a deadline already past fails at once, before the context's timer
// has fired, and those failures are the end of the run, not the server's
// (without this, -d runs counted thousands of "timeout"s in their last
// milliseconds).
func ended(ctx context.Context, now time.Time) bool {
	if ctx.Err() != nil {
		return true
	}
	d, ok := ctx.Deadline()
	return ok && !now.Before(d)
}

// cancelOnDone ends c's I/O in progress when ctx is done (Ctrl-C, the end
// of -d), so a request waiting on a silent server stops at once instead of
// at its -s timeout. The returned func stops the watch.
func cancelOnDone(ctx context.Context, c net.Conn) func() bool {
	return context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
}

// setDeadline moves c's deadline to t, unless ctx is done: a cancel just
// before the move would have its past deadline (cancelOnDone's) replaced,
// and the request would wait out -s instead of stopping at once.
func setDeadline(ctx context.Context, c net.Conn, t time.Time) {
	c.SetDeadline(t)
	if ctx.Err() != nil {
		c.SetDeadline(time.Unix(1, 0))
	}
}

// classify turns an I/O error into a failure kind.
func classify(err error, phase string) string {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() || errors.Is(err, context.DeadlineExceeded) {
		return FailTimeout
	}
	return phase
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// payload returns seeded random bytes for worker id.
func payload(seed uint64, id, n int) []byte {
	r := rand.New(rand.NewPCG(seed, uint64(id)+1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}
