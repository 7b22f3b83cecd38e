package main

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

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sockit/sockit/internal/accesslog"
	"github.com/sockit/sockit/internal/activation"
	"github.com/sockit/sockit/internal/config"
	"github.com/sockit/sockit/internal/services"
	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/proto/daytime"
	"github.com/sockit/sockit/proto/qotd"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/server/promrecorder"
)

func (a *app) serveCommand() *cobra.Command {
	var (
		opt         services.Options
		st          serveSettings
		logFormat   string
		logLevel    string
		inetd       string
		configFile  string
		checkConfig string
	)
	cmd := &cobra.Command{
		Use:   "serve [flags] [SERVICE[=ENDPOINT]...]",
		Short: "Serve the small services (echo, discard, daytime, qotd, chargen, time) concurrently",
		Long: `serve runs any number of services on any number of endpoints in one process:
TCP, UDP, unix and unixgram, IPv4 and IPv6. With no arguments it serves every
service on 127.0.0.1 over TCP and UDP: echo 8001 (the brief's port), discard
8009, daytime 8013, qotd 8017, chargen 8019, time 8037, http 8080 (the brief's web page). Port 0 picks a free
port; every listener is announced on stderr
(msg=listening service=echo network=tcp addr=127.0.0.1:8001).
A bare SERVICE serves it where the default would ("serve echo daytime": echo
and daytime on 127.0.0.1, TCP and UDP, on their default ports).

UDP services are not amplifiers: datagrams from source ports below 1024 and
2049, and from broadcast or multicast sources, are dropped, and each source
prefix (/24, /56) gets no more reply bytes than it sent plus a small burst
(--udp-burst) refilled at --udp-rate. Every drop is counted by reason.

SIGINT or SIGTERM stops accepting, closes idle connections at once (an HTTP
keep-alive connection between requests), answers a request in progress with
Connection: close, and lets streams in flight (echo, discard, chargen) finish
for --grace before closing them; a second signal ends at once.

Under systemd, serve takes the sockets systemd passes (LISTEN_FDS; each
socket's FileDescriptorName= names its service, "metrics" the metrics and
probes), opens none itself, and reports READY=1, STOPPING=1 and WATCHDOG=1
through NOTIFY_SOCKET. Under inetd or xinetd, --inetd SERVICE serves the
socket on standard input. See deploy/systemd.

Logs go to stderr, one line per event, as logfmt (--log-format text, the
default) or one JSON object per line (json): "start" (version, engine,
loops, pid), "listening" per listener, "metrics", "reloaded" and "closed"
on SIGHUP, "draining" on SIGINT/SIGTERM (cause, connections open, grace),
and a last "stop" (exit status, how long the drain took, the error that
ended serve, if any). Durations are written as Go durations ("1.5s") in
both formats. Each line has a time, as nginx's logs do, except text lines
written to the journal (systemd's JOURNAL_STREAM), which stamps its own.
A stderr that takes nothing (a full pipe) holds nothing up: lines wait in
a 1 MiB buffer (past it, dropped and counted), and at exit serve gives its
last lines 2s.
Drops are logged at level WARN (idle timeouts, the usual end of a
keep-alive connection, at INFO), rate-limited: per listener and reason
(max-conns, max-conns-per-source, idle-timeout, write-timeout,
reserved-source-port, broadcast-or-multicast-source, source-budget, ...)
the first drop gives a line at once, then at most one line every 10s with
count (the drops since the previous line) and source (the last one's
address); what is pending is logged at the stop. --metrics counts every
drop in sockit_drops_total.

--access-log FILE writes http's access log, one line per response in
nginx's "combined" format, bytes a client could forge a line with escaped
\xHH as nginx does; SIGUSR1 reopens FILE (logrotate). Lines are buffered,
written at least every second and at exit, and never make the event loops
wait for the disk: when 1 MiB is waiting, further lines are dropped and
counted in a warning (nginx would block instead).

--engine picks what runs the connections: loop (the default: epoll event
loops, --loops threads) or goroutine (one goroutine per connection, for
comparison).`,
		Example: `  sockit serve
  sockit serve echo daytime
  sockit serve echo=tcp://127.0.0.1:8001 echo=udp://127.0.0.1:8001 qotd=unixgram:///tmp/qotd.sock
  sockit serve --metrics 127.0.0.1:9100 --log-format json daytime=tcp6://[::1]:0`,
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			if checkConfig != "" {
				if _, err := config.Load(checkConfig); err != nil {
					fmt.Fprintln(a.stderr, err)
					return quietExit(exitFailure)
				}
				fmt.Fprintf(a.stdout, "%s: ok\n", checkConfig)
				return nil
			}
			logger, closeLog, err := newLogger(a, logFormat, logLevel)
			if err != nil {
				return err
			}
			defer closeLog() // the last lines, the stop line among them
			opt.Server.Logger = logger
			if !slices.Contains(server.Engines(), opt.Server.Engine) {
				return usageErr("serve: --engine is %s, not %q", strings.Join(server.Engines(), " or "), opt.Server.Engine)
			}
			if opt.Server.Loops < 0 {
				return usageErr("serve: --loops %d: want 0 (one per CPU but one) or more", opt.Server.Loops)
			}
			if opt.Server.Engine == "loop" && opt.Server.Loops > 0 && os.Getenv("GOMAXPROCS") == "" {
				// One P more than loops (see the server package doc, "Event
				// loops: measured choices"); the default keeps GOMAXPROCS and
				// runs one loop fewer.
				runtime.GOMAXPROCS(opt.Server.Loops + 1)
			}
			if inetd != "" {
				if len(args) > 0 || st.metrics != "" || configFile != "" || st.unixMode != "" || st.accessLog != "" {
					return usageErr("serve: --inetd serves standard input only: no SERVICE=ENDPOINT, --metrics, --unix-mode, --access-log or --config")
				}
				if _, ok := proto.Lookup(inetd); !ok {
					return usageErr("serve: --inetd %q: unknown service (known: %s)", inetd, services.Names())
				}
			}
			if configFile == "" {
				// The file checks itself, with lines and columns.
				if err := st.check(opt); err != nil {
					return err
				}
			}
			// With --config the file sets what the flags would; only the
			// process-wide flags may be given beside it.
			var cfg config.Config
			if configFile != "" {
				var bad []string
				cmd.Flags().Visit(func(f *pflag.Flag) {
					if !slices.Contains([]string{"config", "log-format", "log-level", "engine", "loops"}, f.Name) {
						bad = append(bad, "--"+f.Name)
					}
				})
				if len(bad) > 0 || len(args) > 0 {
					return usageErr("serve: with --config, set %s in the file (SERVICE=ENDPOINT as [services])", strings.Join(append(bad, args...), " "))
				}
				if cfg, err = config.Load(configFile); err != nil {
					logConfigErr(logger, "config refused", configFile, err)
					return quietExit(exitFailure)
				}
				st.apply(&cfg, &opt)
			}
			opt, closers, err := st.options(opt)
			if err != nil {
				return err
			}
			defer func() {
				for _, c := range closers {
					c()
				}
			}()
			if inetd != "" {
				if err := st.checkServed(opt, []services.Spec{{Service: inetd}}); err != nil {
					return err
				}
				return activation.Inetd(a.ctx, inetd, opt, st.grace)
			}
			specs := services.Defaults(false)
			var metricsLn net.Listener
			var activated []services.Spec
			switch {
			case activation.Activated():
				// Socket activation: serve what systemd passed, open nothing.
				if len(args) > 0 || st.metrics != "" {
					return usageErr("serve: socket-activated, the sockets come from systemd: no SERVICE=ENDPOINT, no --metrics (name a socket FileDescriptorName=metrics)")
				}
				if cmd.Flags().Changed("unix-mode") {
					return usageErr("serve: socket-activated, systemd creates the sockets: set their mode with SocketMode= in the .socket unit, not --unix-mode")
				}
				if specs, metricsLn, err = activation.Sockets(); err != nil {
					return err
				}
				if len(specs) == 0 {
					return fmt.Errorf("serve: systemd passed no service socket")
				}
				activated = specs
			case configFile != "":
				specs = cfg.Specs()
			case len(args) > 0:
				if specs, err = argSpecs(args); err != nil {
					return err
				}
			}
			if configFile == "" {
				if err := st.checkServed(opt, specs); err != nil {
					return err
				}
			}
			// From here on every outcome is a log line: the start line, and
			// at the end one stop line saying how and why serve ended. (A
			// mistake on the command line is a usage error before it.)
			var drainStart time.Time
			logger.Info("start", "version", version(), "engine", opt.Server.Engine, "loops", loopsAttr(opt.Server), "pid", os.Getpid())
			defer func() { err = logStop(a, cmd, logger, drainStart, err) }()
			var al *accesslog.Writer
			if st.accessLog != "" {
				if al, err = accesslog.Open(st.accessLog, a.stdout, logger); err != nil {
					return fmt.Errorf("serve: access log: %w", err)
				}
				opt.AccessLog = al
			}
			defer reopenOnUSR1(al, logger)() // closed after every connection has ended
			if st.metrics != "" {
				if metricsLn, err = net.Listen("tcp", st.metrics); err != nil {
					if configFile != "" {
						return fmt.Errorf("serve: %s: metrics %q: %w", configFile, st.metrics, err)
					}
					return fmt.Errorf("serve: --metrics %q: %w", st.metrics, err)
				}
			}
			var ready atomic.Bool
			if metricsLn != nil {
				rec := promrecorder.New()
				opt.Server.Recorder = rec
				defer a.serveMetrics(metricsLn, rec, &ready, logger)()
			}
			opt.Announce = announcer(logger)
			// SIGHUP is caught before anything is announced, so that a
			// reload asked for at once cannot end the process instead.
			hup := make(chan os.Signal, 1)
			if configFile != "" {
				signal.Notify(hup, syscall.SIGHUP)
				defer signal.Stop(hup)
			}
			group, err := services.StartGroup(a.ctx, specs, opt, closers...)
			if err != nil {
				return err
			}
			closers = nil // the group closes them with their generation
			ready.Store(true)
			activation.Ready()
			bg, stopBG := context.WithCancel(a.ctx)
			var bgWG sync.WaitGroup
			bgWG.Go(func() { activation.Watchdog(bg, nil) })
			if configFile != "" {
				base := opt
				base.Announce = nil
				bgWG.Go(func() { a.reloadOnHUP(bg, hup, configFile, cfg, group, activated, base, logger) })
			}
			defer func() { stopBG(); bgWG.Wait() }()
			return group.Wait(a.ctx, st.grace, func() {
				drainStart = time.Now()
				ready.Store(false)
				activation.Stopping()
				why := "a listener failed"
				if a.ctx.Err() != nil {
					why = context.Cause(a.ctx).Error()
				}
				logger.Info("draining", "cause", why, "connections", group.Active(), "grace", st.grace)
			})
		},
	}
	f := cmd.Flags()
	f.IntVar(&opt.Server.MaxConns, "max-conns", 10000, "most stream connections open at once, 1 or more (-1: no bound; 0 would serve nobody)")
	f.IntVar(&opt.Server.MaxConnsPerSource, "max-conns-per-source", 256, "most stream connections from one IP address, 1 or more (-1: no bound)")
	durationVar(f, &opt.Server.IdleTimeout, "idle-timeout", 5*time.Minute, "close a connection silent this long, more than 0 (-1s: never)")
	durationVar(f, &opt.Server.WriteTimeout, "write-timeout", 30*time.Second, "close a connection whose peer takes no bytes this long, more than 0")
	durationVar(f, &st.grace, "grace", 10*time.Second, "on SIGINT/SIGTERM, time connections in flight get to finish (idle ones close at once; 0: close all at once)")
	f.StringVar(&opt.Server.Engine, "engine", server.Engines()[0], "what runs the connections: "+strings.Join(server.Engines(), " or "))
	f.IntVar(&opt.Server.Loops, "loops", 0, "event-loop threads of the loop engine (0: one per CPU but one, at least one; N: N loops and N+1 Go Ps unless GOMAXPROCS is set)")
	f.StringVar(&st.budget, "udp-budget", "on", "per-source UDP reply budget and source checks: on, or off (benchmarks only)")
	f.IntVar(&opt.Server.UDP.BurstBytes, "udp-burst", 4096, "reply bytes a source prefix may get beyond what it sent, 1 or more")
	f.IntVar(&opt.Server.UDP.RateBytes, "udp-rate", 1024, "bytes per second that refill a source prefix's burst (0: no refill)")
	f.IntVar(&opt.Server.UDPReadBuffer, "udp-rcvbuf", 4<<20, "kernel receive buffer of each UDP socket in bytes, 1 or more, capped by net.core.rmem_max (-1: system default)")
	f.BoolVar(&opt.Server.UDP.AllowReservedPorts, "udp-allow-reserved-ports", false, "answer datagrams from source ports below 1024 and 2049")
	f.StringVar(&st.quotesFile, "quotes", "", "qotd: serve the quotes in this fortune-format FILE (quotes separated by lines holding %); an error if qotd is not served")
	f.StringVar(&st.accessLog, "access-log", "", "http: append an access log line per response to FILE (\"-\": standard output) in nginx's combined format; SIGUSR1 reopens it")
	f.StringVar(&st.httpRoot, "http-root", "", "http: serve the files under DIR (\"/\" is its index.html, else the brief's page); an error if http is not served")
	f.StringVar(&opt.DaytimeFormat, "daytime-format", "nist", "daytime line format: nist, rfc822 or ctime; another than nist is an error if daytime is not served")
	f.StringVar(&st.unixMode, "unix-mode", "", "mode of every unix and unixgram socket file serve creates, in octal as chmod takes it (0660: owner and group may connect; default: the umask's)")
	f.StringVar(&st.metrics, "metrics", "", "serve Prometheus metrics at http://ADDR/metrics, and probes at /healthz and /readyz")
	f.StringVar(&inetd, "inetd", "", "serve SERVICE on the socket inetd passes as standard input: one connection (wait = no), or datagrams until --idle-timeout passes without one (wait = yes)")
	f.StringVar(&configFile, "config", "", "read the services, guards and files from this TOML FILE (see deploy/sockit.example.toml); SIGHUP reloads it")
	f.StringVar(&checkConfig, "check-config", "", "check this TOML FILE, print every mistake with its line and column, and exit (1 if any)")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
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
func loopsAttr(c server.Config) int {
	if c.Engine == "goroutine" {
		return 0
	}
	return c.LoopCount()
}

// logStop writes serve's last line: its exit status, the error that ended
// it if any, and how long the drain took (when there was one). An error is
// logged here rather than printed by main, so that every line after the
// start line is in the chosen log format; the exit status stays the one
// main would have given.
func logStop(a *app, cmd *cobra.Command, logger *slog.Logger, drainStart time.Time, err error) error {
	status := statusOf(a.ctx, err)
	attrs := []any{"status", status}
	if !drainStart.IsZero() {
		attrs = append(attrs, "drain", time.Since(drainStart).Round(time.Millisecond))
	}
	if err == nil {
		logger.Info("stop", attrs...)
		return nil
	}
	if status == exitInterrupted {
		logger.Info("stop", attrs...)
	} else {
		logger.Error("stop", append(attrs, "err", errMessage(cmd, err))...)
	}
	return quietExit(status)
}

// logConfigErr logs why file was refused: a line per mistake, each with
// where it is, or one line for an error of another kind.
func logConfigErr(logger *slog.Logger, msg, file string, err error) {
	var es config.Errors
	if !errors.As(err, &es) {
		logger.Error(msg, "file", file, "err", err)
		return
	}
	for _, e := range es {
		attrs := []any{"file", e.File, "line", e.Line, "col", e.Col}
		if e.Key != "" {
			attrs = append(attrs, "key", e.Key)
		}
		logger.Error(msg, append(attrs, "err", e.Msg)...)
	}
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

// serveSettings are the serve flags that are not a server.Config field.
type serveSettings struct {
	grace                                                      time.Duration
	budget, quotesFile, httpRoot, metrics, unixMode, accessLog string
}

// apply sets what a config file sets.
func (st *serveSettings) apply(cfg *config.Config, opt *services.Options) {
	st.grace, opt.Server.IdleTimeout, opt.Server.WriteTimeout = cfg.Durations()
	opt.Server.MaxConns = cfg.Guards.MaxConns
	opt.Server.MaxConnsPerSource = cfg.Guards.MaxConnsPerSource
	st.budget = "on"
	if !cfg.UDP.Budget {
		st.budget = "off"
	}
	opt.Server.UDP.BurstBytes = cfg.UDP.Burst
	opt.Server.UDP.RateBytes = cfg.UDP.Rate
	opt.Server.UDPReadBuffer = cfg.UDP.ReadBuffer
	opt.Server.UDP.AllowReservedPorts = cfg.UDP.AllowReservedPorts
	opt.DaytimeFormat = cfg.DaytimeFormat
	st.quotesFile, st.httpRoot, st.metrics, st.unixMode, st.accessLog = cfg.Quotes, cfg.HTTPRoot, cfg.Metrics, cfg.UnixMode, cfg.AccessLog
}

// argSpecs reads serve's arguments: SERVICE=ENDPOINT, or a bare SERVICE
// on its default endpoints.
func argSpecs(args []string) ([]services.Spec, error) {
	var specs []services.Spec
	for _, arg := range args {
		if !strings.Contains(arg, "=") {
			sps, ok := services.DefaultsFor(arg)
			if !ok {
				return nil, usageErr("serve: %q is neither a service nor SERVICE=ENDPOINT (services: %s)", arg, services.Names())
			}
			specs = append(specs, sps...)
			continue
		}
		sp, err := services.ParseSpec(arg)
		if err != nil {
			return nil, err
		}
		specs = append(specs, sp)
	}
	return specs, nil
}

// check applies the rules the file's keys follow (config.Settings) to the
// flags, each error naming its flag.
func (st *serveSettings) check(opt services.Options) error {
	values := map[string]int64{
		"max-conns":            int64(opt.Server.MaxConns),
		"max-conns-per-source": int64(opt.Server.MaxConnsPerSource),
		"idle-timeout":         int64(opt.Server.IdleTimeout),
		"write-timeout":        int64(opt.Server.WriteTimeout),
		"grace":                int64(st.grace),
		"udp-burst":            int64(opt.Server.UDP.BurstBytes),
		"udp-rate":             int64(opt.Server.UDP.RateBytes),
		"udp-rcvbuf":           int64(opt.Server.UDPReadBuffer),
	}
	for _, s := range config.Settings {
		v, ok := values[s.Flag]
		if !ok {
			panic("serve: no flag for setting " + s.Flag)
		}
		if err := s.Check(v); err != nil {
			return usageErr("serve: --%s %s: %v", s.Flag, s.Show(v), err)
		}
	}
	if st.metrics != "" {
		if err := config.CheckAddress(st.metrics); err != nil {
			return usageErr("serve: --metrics %q: %v", st.metrics, err)
		}
	}
	return nil
}

// checkServed refuses a per-service flag whose service specs leave out.
func (st *serveSettings) checkServed(opt services.Options, specs []services.Spec) error {
	bad := config.Unserved(map[string]string{"quotes": st.quotesFile, "http_root": st.httpRoot, "access_log": st.accessLog, "daytime_format": opt.DaytimeFormat},
		func(name string) bool {
			return slices.ContainsFunc(specs, func(sp services.Spec) bool { return sp.Service == name })
		})
	if len(bad) > 0 {
		return usageErr("serve: --%s is for %s, which is not served (serve %s too, or leave --%s out)", bad[0].Flag, bad[0].Service, bad[0].Service, bad[0].Flag)
	}
	return nil
}

// options checks the settings and loads what they name into opt; the
// returned functions release it (the http root).
func (st *serveSettings) options(opt services.Options) (services.Options, []func(), error) {
	if opt.Server.UDP.RateBytes == 0 {
		opt.Server.UDP.RateBytes = -1 // serve's 0 is "no refill", the server's -1
	}
	switch st.budget {
	case "on":
		opt.Server.UDP.Off = false
	case "off":
		opt.Server.UDP.Off = true
	default:
		return opt, nil, usageErr("serve: --udp-budget is on or off, not %q", st.budget)
	}
	if !daytime.ValidFormat(opt.DaytimeFormat) {
		return opt, nil, usageErr("serve: --daytime-format is nist, rfc822 or ctime, not %q", opt.DaytimeFormat)
	}
	var err error
	if opt.UnixMode, err = config.ParseUnixMode(st.unixMode); err != nil {
		return opt, nil, usageErr("serve: --unix-mode %q: %v", st.unixMode, err)
	}
	opt.Quotes = nil
	if st.quotesFile != "" {
		f, err := os.Open(st.quotesFile)
		if err != nil {
			return opt, nil, usageErr("serve: --quotes: %v", err)
		}
		opt.Quotes, err = qotd.Parse(f)
		f.Close()
		if err != nil {
			return opt, nil, usageErr("serve: --quotes %s: %v", st.quotesFile, err)
		}
	}
	opt.HTTPRoot = nil
	if st.httpRoot != "" {
		root, err := os.OpenRoot(st.httpRoot)
		if err != nil {
			return opt, nil, usageErr("serve: --http-root: %v", err)
		}
		opt.HTTPRoot = root
		return opt, []func(){func() { root.Close() }}, nil
	}
	return opt, nil, nil
}

// reloadOnHUP reloads file on each SIGHUP until ctx ends. A file with
// mistakes is logged and the running configuration stays.
func (a *app) reloadOnHUP(ctx context.Context, hup <-chan os.Signal, file string, cfg config.Config, g *services.Group, activated []services.Spec, base services.Options, logger *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
		}
		activation.Reloading()
		next, err := a.reload(ctx, file, cfg, g, activated, base, logger)
		if err != nil {
			logConfigErr(logger, "reload refused; the running configuration stays", file, err)
		} else {
			cfg = next
			logger.Info("reloaded", "file", file)
		}
		activation.Ready()
	}
}

func (a *app) reload(ctx context.Context, file string, cur config.Config, g *services.Group, activated []services.Spec, base services.Options, logger *slog.Logger) (config.Config, error) {
	cfg, err := config.Load(file)
	if err != nil {
		return cur, err
	}
	var st serveSettings
	opt := base
	st.apply(&cfg, &opt)
	opt, closers, err := st.options(opt)
	if err != nil {
		return cur, err
	}
	if cfg.Metrics != cur.Metrics {
		logger.Warn("the metrics address changes only at a restart", "running", cur.Metrics, "file", cfg.Metrics)
	}
	if cfg.AccessLog != cur.AccessLog {
		logger.Warn("the access log changes only at a restart (SIGUSR1 reopens it)", "running", cur.AccessLog, "file", cfg.AccessLog)
	}
	specs := cfg.Specs()
	if activated != nil {
		// The sockets systemd passed stay; each is handed to the new
		// generation as a duplicate.
		specs = nil
		for _, sp := range activated {
			specs = append(specs, services.Spec{Service: sp.Service, Endpoint: sp.Endpoint})
		}
	}
	opt.Announce = announcer(logger)
	err = g.Reload(ctx, specs, opt, func(sp services.Spec, addr net.Addr) {
		logger.Info("closed", "service", sp.Service, "network", sp.Endpoint.Network, "addr", addr.String())
	}, closers...)
	if err != nil {
		for _, c := range closers {
			c()
		}
		return cur, err
	}
	return cfg, nil
}

func newLogger(a *app, format, level string) (logger *slog.Logger, closeLog func(), err error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, usageErr("--log-level is debug, info, warn or error, not %q", level)
	}
	format = strings.ToLower(format)
	if format != "text" && format != "json" {
		return nil, nil, usageErr("--log-format is text or json, not %q", format)
	}
	noTime := format == "text" && toJournal(a.stderr)
	ho := &slog.HandlerOptions{Level: lv, ReplaceAttr: func(groups []string, at slog.Attr) slog.Attr {
		switch {
		case noTime && len(groups) == 0 && at.Key == slog.TimeKey:
			return slog.Attr{} // journald stamps every line itself
		case at.Value.Kind() == slog.KindDuration:
			// "1.5s" in both formats, not JSON's integer nanoseconds.
			return slog.String(at.Key, at.Value.Duration().String())
		}
		return at
	}}
	// The lines go through a bounded buffer one goroutine writes out, so
	// that a stderr nobody reads (a full pipe, a stuck journald) makes no
	// event loop, drain or exit wait; closeLog gives it 2s at most.
	out := accesslog.Stream(a.stderr)
	if format == "json" {
		logger = slog.New(slog.NewJSONHandler(out, ho))
	} else {
		logger = slog.New(slog.NewTextHandler(out, ho))
	}
	out.SetLog(logger)
	return logger, func() { out.Close() }, nil
}

// toJournal reports whether w is the stream systemd connected to the
// journal: JOURNAL_STREAM holds its device and inode (systemd.exec(5)).
func toJournal(w io.Writer) bool {
	f, ok := w.(*os.File)
	js := os.Getenv("JOURNAL_STREAM")
	if !ok || js == "" {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return js == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}

// serveMetrics starts the Prometheus endpoint and the probes beside it:
// /healthz answers 200 while the process serves, /readyz 200 only while
// ready is set (not before the listeners are up, nor while draining), 503
// otherwise. The returned function stops it.
func (a *app) serveMetrics(ln net.Listener, m *promrecorder.Recorder, ready *atomic.Bool, logger *slog.Logger) func() {
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
