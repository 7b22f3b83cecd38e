// Package bench is sockit's load generator: ab's model and flags (-n
// requests over -c connections, -k keep-alive) on an engine that also
// speaks the raw small-service protocols, verifies every echoed byte, can
// run open-loop at a fixed rate (latency measured from each request's
// scheduled time, so a stalled server cannot hide — wrk2's fix for
// coordinated omission), and records latency in HDR histograms that merge
// exactly across runs and machines.
//
// Each of the -c workers owns its connection, buffers and histograms; the
// only shared state on the hot path is one atomic counter handing out
// request numbers, so exactly -n requests complete, each as a success or a
// classified failure.
package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sockit/sockit"
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

// Config describes a run. Zero values take ab's defaults.
type Config struct {
	Target      string // http(s):// URL, or tcp/udp/unix/unixgram endpoint
	Requests    int64  // -n; zero means 1, or no bound with a Duration
	Concurrency int    // -c; zero means 1
	Duration    time.Duration
	KeepAlive   bool
	Method      string // "" means GET (HEAD with -i)
	Headers     []string
	Body        []byte // the request body (-p, -u); nil for none, empty for an empty one (Content-Length: 0)
	ContentType string
	Timeout     time.Duration // -s, per request; zero means 30s
	Rate        float64       // requests per second in total; zero means closed loop
	Warmup      time.Duration // requests started before this are extra, not recorded
	AnyLength   bool          // -l: HTTP bodies may differ in length from the first
	Proxy       string        // -X host:port: send HTTP requests through this proxy
	UnixSocket  string        // HTTP over this socket
	Insecure    bool
	Proto       string // raw targets: echo (default), discard, chargen, daytime, qotd, time
	Size        int    // raw payload bytes; zero means 64
	Seed        uint64
	// Engine runs the load: EngineGoroutine (a goroutine per connection,
	// on Go's netpoller) or EngineLoop (epoll event loops, as wrk); ""
	// picks the loops where they can run the options given (see
	// DefaultEngine), the goroutines otherwise. Options the chosen engine
	// cannot run are an error naming it, never a silent switch.
	Engine string
	// Loops is the number of event-loop threads of EngineLoop; zero means
	// one per GOMAXPROCS. A process that bounds its threads for a run (as
	// wrk -t does) sets GOMAXPROCS to Procs(Loops).
	Loops int
	// Progress, if set, is called about once a second with running counts.
	Progress func(done, failed int64, elapsed time.Duration)
	// Shard runs one exact part of the load (see Shard); zero runs all.
	Shard Shard
	// RunID names the run in the result, so merge can tell runs apart.
	RunID string
	// Record, if set, is called once per recorded request, from the
	// workers' goroutines at once: it must be safe for concurrent use.
	Record func(Record)
}

func (c *Config) fill() error {
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.Requests <= 0 {
		c.Requests = 1
		if c.Duration > 0 {
			c.Requests = math.MaxInt64 // the duration ends the run
		}
	}
	if int64(c.Concurrency) > c.Requests && c.Duration == 0 {
		// ab refuses -c > -n; running fewer workers gives the same load.
		c.Concurrency = int(c.Requests)
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Size <= 0 {
		c.Size = 64
	}
	if c.Proto == "" {
		c.Proto = "echo"
	}
	if c.Method == "" {
		c.Method = "GET"
	}
	return nil
}

// The engines.
const (
	EngineGoroutine = "goroutine"
	EngineLoop      = "loop"
)

// DefaultEngine is why "" picks what it picks, for the help text.
const DefaultEngine = "the loop engine wherever it can run the options given (plain HTTP, " +
	"TCP or Unix echo; closed or --rate), since it needs less client CPU per request " +
	"(measured against sockit serve with -k -c 50: about 100k against 73k requests per " +
	"CPU-second closed, 82-93k against 50-56k at --rate 20000); the goroutine engine " +
	"otherwise (https, datagrams, the other raw protocols)"

// chooseEngine settles cfg.Engine and returns the loops' target when the
// loop engine runs.
func chooseEngine(cfg *Config, newWorker func(int) worker) (*loopTarget, error) {
	lt, why := loopTargetFor(cfg, newWorker)
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
			return nil, fmt.Errorf("--engine loop cannot run %s; use --engine goroutine", why)
		}
		return lt, nil
	case EngineGoroutine:
		return nil, nil
	}
	return nil, fmt.Errorf("--engine %q: want goroutine or loop", cfg.Engine)
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
	err       error // why the request failed, where an error said it
}

// fail notes err as the request's failure and returns its kind.
func (s *sample) fail(err error, phase string) string {
	s.err = err
	return classify(err, phase)
}

// Run executes the benchmark and returns its result. Canceling ctx stops it
// early; the result then covers what completed.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	hash := cfg.optionsHash()
	idle := cfg.Shard.apply(&cfg)
	if err := cfg.fill(); err != nil {
		return nil, err
	}
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
	tl := &timeline{}
	var (
		wg      sync.WaitGroup
		workers = make([]*Result, cfg.Concurrency)
	)
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
	bud := newBudget(&cfg, start, info.http)
	interval := bud.interval
	res.Engine = cfg.Engine
	if lt != nil {
		loops := cfg.Loops
		if loops <= 0 {
			loops = runtime.GOMAXPROCS(0)
		}
		loops = max(min(loops, cfg.Concurrency), 1)
		workers = workers[:loops]
		for i := range loops {
			st := emptyResult()
			st.tl, st.sink, st.t0 = tl, cfg.Record, start
			workers[i] = st
			slots := cfg.Concurrency / loops
			if i < cfg.Concurrency%loops {
				slots++
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := runLoop(runCtx, lt, &cfg, slots, st, bud); err != nil {
					st.Failures[FailConnect]++ // the loop itself failed (epoll); counted, not hidden
				}
			}()
		}
	} else {
		for w := range cfg.Concurrency {
			st := emptyResult()
			st.tl, st.sink, st.t0 = tl, cfg.Record, start
			workers[w] = st
			wg.Add(1)
			go func() {
				defer wg.Done()
				wk := newWorker(w)
				defer wk.close()
				for runCtx.Err() == nil {
					warm, due, ok := bud.take(time.Now())
					if !ok {
						return
					}
					if interval > 0 {
						if d := time.Until(due); d > 0 {
							t := time.NewTimer(d)
							select {
							case <-t.C:
							case <-runCtx.Done():
								t.Stop()
								return
							}
						} else if lag := -d; lag > st.MaxLag {
							st.MaxLag = lag
						}
					}
					var s sample
					t0 := time.Now()
					kind := wk.do(runCtx, &s)
					end := time.Now()
					if kind != "" && ended(runCtx, end) {
						// Cut off by the end of the run, not a server fault.
						if !warm {
							bud.cut.Add(1)
						}
						return
					}
					bud.noteTimeout(kind)
					if warm {
						continue
					}
					total := end.Sub(t0)
					if interval > 0 {
						total = end.Sub(due)
					}
					bud.record(st, &s, kind, total, end.Sub(start))
				}
			}()
		}
	}
	progressDone := make(chan struct{})
	go func() {
		defer close(progressDone)
		if cfg.Progress == nil {
			return
		}
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		finished := make(chan struct{})
		go func() { wg.Wait(); close(finished) }()
		for {
			select {
			case <-tick.C:
				cfg.Progress(bud.done.Load(), bud.failed.Load(), time.Since(start))
			case <-finished:
				return
			}
		}
	}()
	wg.Wait()
	<-progressDone
	elapsed := time.Since(start) - cfg.Warmup
	if cfg.Warmup > 0 && elapsed <= 0 {
		elapsed = time.Since(start)
	}
	for _, st := range workers {
		st.acc.flush(tl)
		res.absorb(st)
	}
	res.Seconds = tl.secs
	res.Cut = bud.cut.Load()
	if info.http {
		res.DocLength = bud.docLength()
	}
	res.Hint = bud.hint(&cfg)
	res.FirstError = bud.firstError()
	res.Duration = elapsed
	res.ClientCPU = cpuTime() - cpu0
	res.Interrupted = ctx.Err() != nil
	return res, nil
}

// Latencies are recorded in microseconds, from 1 µs to 1 hour, 3 digits.
func newHist() *hdr.Histogram { return hdr.New(1, int64(time.Hour/time.Microsecond), 3) }

// record adds one request to a worker's tally (a Result of its own, merged
// into the run's at the end).
func (r *Result) record(s *sample, kind string, total, at time.Duration) string {
	r.Requests++
	us := max(int64(total/time.Microsecond), 1)
	r.Latency.RecordValue(us)
	r.Connect.RecordValue(int64(s.connect / time.Microsecond))
	r.Wait.RecordValue(int64(s.wait / time.Microsecond))
	r.Processing.RecordValue(max(int64((total-s.connect)/time.Microsecond), 0))
	sec := int(at / time.Second)
	if r.tl != nil {
		r.acc.add(sec, us, kind, r.tl)
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

// targetInfo describes the target for the report.
type targetInfo struct {
	host, port, path string
	http             bool
}

// prepare checks the target and returns a worker factory.
func prepare(cfg *Config) (func(id int) worker, targetInfo, error) {
	t := cfg.Target
	if strings.HasPrefix(t, "http://") || strings.HasPrefix(t, "https://") {
		u, err := url.Parse(t)
		if err != nil || u.Host == "" {
			return nil, targetInfo{}, fmt.Errorf("bad URL %q", t)
		}
		h, err := newHTTPTarget(cfg, u)
		if err != nil {
			return nil, targetInfo{}, err
		}
		return h.worker, targetInfo{host: u.Hostname(), port: h.port, path: u.RequestURI(), http: true}, nil
	}
	e, err := sockit.ParseEndpoint(t, sockit.Defaults{Network: "tcp"})
	if err != nil {
		return nil, targetInfo{}, err
	}
	r, err := newRawTarget(cfg, e)
	if err != nil {
		return nil, targetInfo{}, err
	}
	info := targetInfo{host: e.Host(), port: fmt.Sprint(e.Port()), path: cfg.Proto}
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
