package serve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockit/sockit/internal/accesslog"
	"github.com/sockit/sockit/internal/activation"
	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/server/promrecorder"
)

// Hooks are what the program running serve gives it.
type Hooks struct {
	// Logger receives every line serve writes (start, listening, metrics,
	// reloaded, closed, draining, stop, and the server's drops); nil means
	// slog.Default().
	Logger *slog.Logger
	// Stdout is where an access log of "-" goes; nil means os.Stdout.
	Stdout io.Writer
	// Version is the start line's version.
	Version string
	// Status is the exit status err ends the program with, for the stop
	// line; nil means 0 for nil, 130 once ctx has ended, else 1.
	Status func(ctx context.Context, err error) int
	// Words is err as the user reads it, for the stop line; nil means
	// err.Error().
	Words func(err error) string
}

func (h *Hooks) defaults() {
	if h.Logger == nil {
		h.Logger = slog.Default()
	}
	if h.Stdout == nil {
		h.Stdout = os.Stdout
	}
	if h.Status == nil {
		h.Status = func(ctx context.Context, err error) int {
			switch {
			case err == nil:
				return 0
			case ctx.Err() != nil:
				return 130
			}
			return 1
		}
	}
	if h.Words == nil {
		h.Words = func(err error) string { return err.Error() }
	}
}

// Run serves s until ctx ends (SIGINT or SIGTERM, in sockit) or a
// listener fails, as `sockit serve` does: under inetd (s.Inetd) the one
// socket it passed; under systemd the sockets it passed (LISTEN_FDS), with
// READY=1, RELOADING=1, STOPPING=1 and the watchdog; else s.Services. It
// serves the metrics and the probes (s.Metrics), reloads on SIGHUP (the
// file again when there is one, and always the files the protocols'
// options name), reopens the access log on SIGUSR1, and on the end drains:
// no new connections, idle ones closed at once, the rest given s.Grace.
//
// Past a mistake it finds before it starts (Errors, as Load's), every
// outcome is a log line: "start", one "listening" per listener, and a last
// "stop" with the exit status and the error that ended serve, if any,
// which Run also returns.
func Run(ctx context.Context, s Settings, h Hooks) (err error) {
	h.defaults()
	if s.Engine == "loop" && s.Loops > 0 && os.Getenv("GOMAXPROCS") == "" {
		// One P more than loops (see the server package doc, "Event
		// loops: measured choices"); the default keeps GOMAXPROCS and
		// runs one loop fewer.
		runtime.GOMAXPROCS(s.Loops + 1)
	}
	if s.Inetd != "" {
		return runInetd(ctx, s, h)
	}
	r := &runner{h: h, log: h.Logger, cur: s}
	specs := s.Services
	var metricsLn net.Listener
	if activation.Activated() {
		if specs, metricsLn, err = r.takeActivated(); err != nil {
			return err
		}
		r.activated = specs
	}
	// From here on every outcome is a log line: the start line, and at the
	// end one stop line saying how and why serve ended.
	var drainStart time.Time
	r.log.Info("start", "version", h.Version, "engine", s.Engine, "loops", loopsAttr(s), "pid", os.Getpid())
	defer func() { r.stop(ctx, err, drainStart) }()
	if s.AccessLog != "" {
		if r.al, err = accesslog.Open(s.AccessLog, h.Stdout, r.log); err != nil {
			if metricsLn != nil {
				metricsLn.Close()
			}
			closeSpecs(r.activated)
			return fmt.Errorf("access log: %w", err)
		}
	}
	defer reopenOnUSR1(r.al, r.log)() // closed after every connection has ended
	if s.Metrics != "" {
		if metricsLn, err = net.Listen("tcp", s.Metrics); err != nil {
			return fmt.Errorf("%s %q: %w", s.where("metrics"), s.Metrics, err)
		}
	}
	var ready atomic.Bool
	if metricsLn != nil {
		r.rec = promrecorder.New()
		defer serveMetrics(metricsLn, r.rec, &ready, r.log)()
	}
	// SIGHUP is caught before anything is announced, so that a reload
	// asked for at once cannot end the process instead.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	opt, release, err := r.options(s)
	if err != nil {
		closeSpecs(r.activated)
		return err
	}
	r.serveCerts(opt)
	if len(s.TLSCert) > 0 && !servesTLS(specs) {
		r.log.Warn("no listener is tls://: the certificates are not served", "tls-cert", strings.Join(s.TLSCert, ","))
	}
	if r.group, err = StartGroup(ctx, specs, opt, release...); err != nil {
		releaseAll(release)
		return err
	}
	ready.Store(true)
	activation.Ready()
	watchdog, stopWatchdog := context.WithCancel(ctx)
	var wdWG sync.WaitGroup
	wdWG.Go(func() { activation.Watchdog(watchdog, nil) })
	defer func() { stopWatchdog(); wdWG.Wait() }()
	reloads, stopReloads := context.WithCancel(ctx)
	var hupWG sync.WaitGroup
	hupWG.Go(func() { r.reloadOnHUP(reloads, hup) })
	defer func() { stopReloads(); hupWG.Wait() }()
	return r.group.Wait(ctx, func() time.Duration {
		// No reload from here on (a SIGHUP is still caught, and changes
		// nothing); one under way ends first, so r.cur is the last.
		stopReloads()
		hupWG.Wait()
		drainStart = time.Now()
		ready.Store(false)
		activation.Stopping()
		why := "a listener failed"
		if ctx.Err() != nil {
			why = context.Cause(ctx).Error()
		}
		r.log.Info("draining", "cause", why, "connections", r.group.Active(), "grace", r.cur.Grace)
		return r.cur.Grace
	})
}

// runner is one Run's state.
type runner struct {
	h         Hooks
	log       *slog.Logger
	cur       Settings // reloadOnHUP's until the drain begins
	activated []Spec   // the sockets systemd passed, if it did
	al        *accesslog.Writer
	rec       *promrecorder.Recorder
	group     *Group
	certs     *certs // nil until a generation serves tls://
}

// takeActivated takes the sockets systemd passed; a setting that would open
// or shape sockets of its own is a mistake.
func (r *runner) takeActivated() ([]Spec, net.Listener, error) {
	s := &r.cur
	if len(s.Source.Args) > 0 || s.Metrics != "" {
		return nil, nil, Errors{{Msg: "socket-activated, the sockets come from systemd: no SERVICE=ENDPOINT, no --metrics (name a socket FileDescriptorName=metrics)"}}
	}
	if s.UnixMode != 0 {
		return nil, nil, Errors{{Msg: "socket-activated, systemd creates the sockets: set their mode with SocketMode= in the .socket unit, not --unix-mode or unix_mode"}}
	}
	socks, metrics, err := activation.Sockets()
	if err != nil {
		return nil, nil, err
	}
	specs := make([]Spec, len(socks))
	for i, so := range socks {
		specs[i] = Spec{Service: so.Service, Endpoint: so.Endpoint, Listener: so.Listener, PacketConn: so.PacketConn}
	}
	fail := func(err error) ([]Spec, net.Listener, error) {
		closeSpecs(specs)
		if metrics != nil {
			metrics.Close()
		}
		return nil, nil, err
	}
	if len(specs) == 0 {
		return fail(errors.New("systemd passed no service socket"))
	}
	if errs := s.unserved(Fields(), specs); len(errs) > 0 {
		return fail(errs)
	}
	return specs, metrics, nil
}

// options are the Options a generation of s runs with: the server's
// settings, the metrics, the access log, and the protocols' option values
// (their files read again); release frees what those hold.
func (r *runner) options(s Settings) (Options, []func(), error) {
	opt := Options{Server: s.serverConfig(r.log), UnixMode: s.UnixMode, Announce: announcer(r.log)}
	if r.rec != nil {
		opt.Server.Recorder = r.rec
	}
	if r.al != nil {
		opt.AccessLog = r.al
	}
	values, release, err := s.values()
	if err != nil {
		return opt, nil, err
	}
	opt.Values = values
	if pairs := s.Pairs(); len(pairs) > 0 {
		st, err := r.loadCerts(pairs)
		if err != nil {
			releaseAll(release)
			return opt, nil, err
		}
		if r.certs == nil {
			r.certs = newCerts()
		}
		opt.TLS, opt.certs = r.certs.config, st
		opt.certStamp = stamp(pairs)
	}
	return opt, release, nil
}

// serveCerts serves the certificates opt loaded, from now on: every
// generation's tls:// listeners, the draining ones' too, take them for
// their next handshake; connections open keep the one they have.
func (r *runner) serveCerts(opt Options) {
	if opt.certs != nil {
		r.certs.store.Store(opt.certs)
		r.certs.stamp = opt.certStamp
	}
}

// values parses every protocol option of s (reading the files they name).
func (s *Settings) values() (map[string]any, []func(), error) {
	values := map[string]any{}
	var release []func()
	for _, f := range Fields() {
		k, ok := f.kind.(optionKind)
		if !ok {
			continue
		}
		v, rel, err := k.o.Parse(k.show(s))
		if err != nil {
			releaseAll(release)
			return nil, nil, fmt.Errorf("%s %q: %w", s.where(f.Flag), k.show(s), err)
		}
		if rel != nil {
			release = append(release, rel)
		}
		if v != nil {
			values[k.o.Key] = v
		}
	}
	return values, release, nil
}

// where names where the value of flag was written: "--flag", or the
// file's "FILE:LINE:COL: key".
func (s *Settings) where(flag string) string {
	o := s.origin[flag]
	if o.flag || o.line == 0 {
		return "--" + flag
	}
	i := slices.IndexFunc(Fields(), func(f Field) bool { return f.Flag == flag })
	return fmt.Sprintf("%s:%d:%d: %s", s.Source.File, o.line, o.col, Fields()[i].Key)
}

func releaseAll(fs []func()) {
	for _, f := range fs {
		f()
	}
}

func closeSpecs(specs []Spec) {
	for _, sp := range specs {
		sp.Close()
	}
}

// stop writes serve's last line: its exit status, the error that ended it
// if any, and how long the drain took (when there was one).
func (r *runner) stop(ctx context.Context, err error, drainStart time.Time) {
	status := r.h.Status(ctx, err)
	attrs := []any{"status", status}
	if !drainStart.IsZero() {
		attrs = append(attrs, "drain", time.Since(drainStart).Round(time.Millisecond))
	}
	if err == nil || ctx.Err() != nil {
		r.log.Info("stop", attrs...)
		return
	}
	r.log.Error("stop", append(attrs, "err", r.h.Words(err))...)
}

// reloadOnHUP reloads on each SIGHUP until ctx ends: the file, if there is
// one, and the files the protocols' options name (qotd's quotes, http's
// root), as nginx and xinetd re-read theirs; a SIGHUP never ends serve. A
// reload that fails is logged and the running configuration stays.
func (r *runner) reloadOnHUP(ctx context.Context, hup <-chan os.Signal) {
	tick := time.NewTicker(CertPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			r.pollCerts()
			continue
		case <-hup:
		}
		activation.Reloading()
		r.reload(ctx)
		activation.Ready()
	}
}

func (r *runner) reload(ctx context.Context) {
	const refused = "reload refused; the running configuration stays"
	next := r.cur
	if next.Source.File != "" {
		var err error
		if next, err = Load(r.cur.Source); err != nil {
			LogMistakes(r.log, refused, r.cur.Source.File, err)
			return
		}
		if next.Metrics != r.cur.Metrics {
			r.log.Warn("the metrics address changes only at a restart", "running", r.cur.Metrics, "file", next.Metrics)
		}
		if next.AccessLog != r.cur.AccessLog {
			r.log.Warn("the access log changes only at a restart (SIGUSR1 reopens it)", "running", r.cur.AccessLog, "file", next.AccessLog)
		}
	}
	specs := next.Services
	if r.activated != nil {
		// The sockets systemd passed stay; each is handed to the new
		// generation as a duplicate.
		specs = nil
		for _, sp := range r.activated {
			specs = append(specs, Spec{Service: sp.Service, Endpoint: sp.Endpoint})
		}
	}
	opt, release, err := r.options(next)
	if err == nil {
		err = r.group.Reload(ctx, specs, opt, func(sp Spec, addr net.Addr) {
			r.log.Info("closed", "service", sp.Service, "network", sp.Endpoint.Network, "addr", addr.String())
		}, release...)
		if err != nil {
			releaseAll(release)
		}
	}
	if err == nil {
		r.serveCerts(opt)
	}
	if err != nil {
		LogMistakes(r.log, refused, next.Source.File, err)
		return
	}
	r.cur = next
	var attrs []any
	if next.Source.File != "" {
		attrs = append(attrs, "file", next.Source.File)
	}
	for _, f := range Fields() {
		if k, ok := f.kind.(optionKind); ok && k.show(&next) != f.Default {
			attrs = append(attrs, f.Key, k.show(&next)) // re-read
		}
	}
	r.log.Info("reloaded", attrs...)
}

// LogMistakes logs why settings were refused: a line per mistake, each
// with where it is, or one line for an error of another kind.
func LogMistakes(logger *slog.Logger, msg, file string, err error) {
	var es Errors
	if !errors.As(err, &es) {
		if file != "" {
			logger.Error(msg, "file", file, "err", err)
		} else {
			logger.Error(msg, "err", err)
		}
		return
	}
	for _, e := range es {
		var attrs []any
		switch {
		case e.File != "":
			attrs = []any{"file", e.File, "line", e.Line, "col", e.Col}
			if e.Key != "" {
				attrs = append(attrs, "key", e.Key)
			}
		case e.Flag != "":
			attrs = []any{"flag", "--" + e.Flag}
		}
		what := e.Msg
		if e.Value != "" {
			what = e.Value + ": " + what
		}
		logger.Error(msg, append(attrs, "err", what)...)
	}
}

// announcer logs each listener serve opened, for people and tests:
// msg=listening service=echo network=tcp addr=127.0.0.1:8001.
func announcer(logger *slog.Logger) func(service, network string, addr net.Addr) {
	return func(service, network string, addr net.Addr) {
		logger.Info("listening", "service", service, "network", network, "addr", addr.String())
	}
}

// loopsAttr is the number of event loops the start line reports: 0 for
// the goroutine engine, which runs none.
func loopsAttr(s Settings) int {
	if s.Engine == "goroutine" {
		return 0
	}
	return server.Config{Loops: s.Loops}.LoopCount()
}

// reopenOnUSR1 reopens the access log on each SIGUSR1 (logrotate's
// postrotate, as for nginx). The returned function closes it, SIGUSR1
// still caught until then: a logrotate as serve stops must not end it
// before the log's last lines are written. With no access log (al nil)
// SIGUSR1 is still caught and only logged: as for nginx, a logrotate
// script's signal never ends the server.
func reopenOnUSR1(al *accesslog.Writer, logger *slog.Logger) (closeLog func()) {
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	quit, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-quit:
				return
			case <-usr1:
				if al == nil {
					logger.Info("SIGUSR1: no access log to reopen")
					continue
				}
				al.Reopen()
			}
		}
	}()
	return func() {
		close(quit)
		<-done
		if al != nil {
			if err := al.Close(); err != nil {
				logger.Error("access log not closed; its last lines are lost", "err", err)
			}
		}
		signal.Stop(usr1)
	}
}

// serveMetrics starts the Prometheus endpoint and the probes beside it:
// /healthz answers 200 while the process serves, /readyz 200 only while
// ready is set (not before the listeners are up, nor while draining), 503
// otherwise. The returned function stops it.
func serveMetrics(ln net.Listener, m *promrecorder.Recorder, ready *atomic.Bool, logger *slog.Logger) func() {
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		if !ready.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ready\n")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	logger.Info("metrics", "addr", ln.Addr().String(), "url", "http://"+ln.Addr().String()+"/metrics")
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("metrics server", "err", err)
		}
	}()
	return func() { srv.Close(); <-done }
}

// protocol returns the registered protocol called name; Load checked it.
func protocol(name string) proto.Protocol {
	p, _ := proto.Lookup(name)
	return p
}
