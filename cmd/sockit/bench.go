package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/bench/report"
	"github.com/sockit/sockit/proto"
)

const benchLong = `bench is a drop-in for ab: -n requests over -c concurrent connections, one
connection per request unless -k, and ab's report on stdout line for line, so
scripts that parse ab keep working. It adds HTTP/1.1 keep-alive with correct
framing (chunked included), https and Unix sockets, raw targets (tcp://, udp://,
unix://, unixgram:// with --proto echo|discard|chargen|daytime|qotd|time; echo
verifies every byte), an open model (--rate: latency from each request's
scheduled time), HDR latency percentiles, and --json reports that merge exactly
(sockit bench merge).

As in ab, a complete response is a success whatever its status (non-2xx ones are
counted on their own line), the first response's body sets the Document Length
and a later body of another length is a Length failure unless -l. A reply that
is not an HTTP response at all (an echo server sends the request back) is, as
ab counts it, a complete non-2xx response; bench says so on stderr.

The target is a URL (http://, https://, or host:port/path, which ab too takes
for http://), or for a raw load tcp://, udp://, unix:// or unixgram://; a bare
host:port, which ab refuses, is refused rather than guessed HTTP or raw.

Where bench differs from ab, and why:
  - stdout holds ab's report without ab's banner (bench is not ApacheBench);
    sockit's own lines (engine, failures by kind and the first of each,
    p99.9, client CPU, hints) go to stderr, prefixed "sockit:", so a parser
    of ab's output sees ab's layout.
  - Exactly -n requests complete, each a success or a failure of a named kind
    (connect, timeout, read, write, length, verify): a receive error never ends
    the run, as if ab's -r were always given (-r is accepted).
  - -v's lines go to stderr, not into the report; -k speaks HTTP/1.1.
  - --warmup requests come on top of -n: exactly -n are measured after it.
  - Ctrl-C stops at once (requests in flight are cut off and counted apart),
    prints the report of what completed, marked interrupted on stderr, and
    exits 130. Every request failing exits 1, as ab exits on its socket
    error, with the line "sockit bench: every request failed (...)".
  - A value bench cannot run as asked (-n 0, a port above 65535, a flag
    that does not apply to the target) is a usage error, exit 2, before
    anything is sent.`

const benchExample = `  sockit bench -c 50 -n 1000 http://localhost:8080/      # the brief's ab command
  sockit bench -k -c 50 -d 10s http://127.0.0.1:8080/
  sockit bench -c 64 -n 100000 --size 64 tcp://127.0.0.1:8001
  # UDP: sockit serve budgets the reply bytes per source (anti-amplification),
  # which a benchmark exhausts at once; serve a benchmark without it:
  sockit serve --udp-budget off qotd=udp://127.0.0.1:8017 &
  sockit bench --proto qotd -c 8 -n 1000 udp://127.0.0.1:8017
  sockit bench -k --rate 20000 -d 30s --json http://127.0.0.1:8080/ > a.json`

// benchOpts are bench's flags: the load's go straight into cfg; the rest
// say where the reports go.
type benchOpts struct {
	cfg                                         bench.Config
	head                                        bool
	postFile, putFile, cacert                   string
	quiet, asJSON, marked, abHTML, noConf       bool
	noExit                                      bool
	htmlFile, csvFile, omFile, pctFile, gnuFile string
	verbose                                     int
	shard                                       string
}

func (a *app) benchCommand() *cobra.Command {
	o := &benchOpts{}
	cmd := &cobra.Command{
		Use:     "bench [flags] TARGET",
		Short:   "Load a server: ab's flags and report, for HTTP and the raw small-service protocols",
		Long:    benchLong,
		Example: benchExample,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runBench(cmd, o, args[0])
		},
	}
	o.flags(cmd.Flags())
	cmd.AddCommand(a.benchMergeCommand(), a.benchReportCommand(), a.benchCompareCommand())
	return cmd
}

// fieldKey is the annotation that ties a flag to the bench.Config field it
// sets, so a *bench.FieldError can name the flag the user typed.
const fieldKey = "bench-field"

// field ties flag name to Config field f.
func field(fs *pflag.FlagSet, name, f string) {
	if err := fs.SetAnnotation(name, fieldKey, []string{f}); err != nil {
		panic(err) // a flag declared above with another name: a bug here
	}
}

func (o *benchOpts) flags(f *pflag.FlagSet) {
	c := &o.cfg
	f.IntVarP(&o.verbose, "verbosity", "v", 0, "ab's -v: 2 prints a warning per non-2xx response, 3 also each response's status (on stderr)")
	f.StringVarP(&o.pctFile, "csv-percentiles", "e", "", "ab's -e: write the percentiles 0..100 to FILE as CSV (\"Percentage served,Time in ms\")")
	f.StringVarP(&o.gnuFile, "gnuplot", "g", "", "ab's -g: write one tab-separated line per request to FILE (starttime seconds ctime dtime ttime wait)")
	f.BoolVarP(&o.abHTML, "html-tables", "w", false, "ab's -w: print the report as HTML tables, as ab does, instead of text")
	f.StringArrayVarP(&c.Cookies, "cookie", "C", nil, "ab's -C: add a 'Cookie: name=value' header (repeatable)")
	f.StringVarP(&c.Auth, "auth", "A", "", "ab's -A user:password: HTTP Basic authentication")
	f.StringVarP(&c.ProxyAuth, "proxy-auth", "P", "", "ab's -P user:password: Basic authentication to the proxy (Proxy-Authorization)")
	f.StringVarP(&c.Proxy, "proxy", "X", "", "ab's -X host:port: send the HTTP requests through this proxy")
	f.StringVarP(&c.LocalAddr, "local-address", "B", "", "ab's -B: connect from this local IP address")
	f.BoolVarP(&c.AnyLength, "variable-length", "l", false, "ab's -l: bodies of another length than the first are not Length failures")
	f.BoolVarP(&o.noConf, "no-confidence", "S", false, "ab's -S: the Connection Times table as min, avg and max, without the standard deviation, the median and ab's notes on them")
	f.BoolVarP(&o.noExit, "no-exit-on-receive-error", "r", false, "ab's -r; bench never exits on a receive error anyway: it counts it and goes on")
	f.StringVar(&o.shard, "shard", "", "run shard I of N (I/N, 1-based) of the load; default from JOB_COMPLETION_INDEX (0-based) and SOCKIT_SHARDS")
	f.StringVar(&c.RunID, "run-id", "", "name of the run, for merge (default $SOCKIT_RUN_ID)")
	f.BoolVar(&o.marked, "json-markers", false, "print the JSON report between marker lines, for merge to find in a log (kubectl logs)")
	f.StringVar(&o.omFile, "openmetrics", "", "also write an OpenMetrics text summary to FILE")
	f.StringVar(&o.csvFile, "csv", "", "write one CSV row per request to FILE (start, latency, status, error, bytes)")
	f.Int64VarP(&c.Requests, "requests", "n", 0, "requests to perform (default 1, or 50000 with -t, as ab)")
	f.IntVarP(&c.Concurrency, "concurrency", "c", 1, "requests at a time (connections)")
	durationVarP(f, &c.TimeLimit, "timelimit", "t", 0, "ab's -t: run at most this long (implies -n 50000 unless set)")
	durationVarP(f, &c.Duration, "duration", "d", 0, "how long to run (e.g. 10s)")
	f.BoolVarP(&c.KeepAlive, "keepalive", "k", false, "keep connections alive (HTTP/1.1)")
	f.BoolVarP(&o.head, "head", "i", false, "HEAD requests instead of GET")
	f.StringVarP(&c.Method, "method", "m", "", "request method")
	f.StringArrayVarP(&c.Headers, "header", "H", nil, "extra header 'Name: value' (repeatable); one named Host, User-Agent or Accept replaces bench's own, as in ab")
	f.StringVarP(&o.postFile, "postfile", "p", "", "send this file as the request body (POST unless -m)")
	f.StringVarP(&o.putFile, "putfile", "u", "", "ab's -u: send this file as the request body by PUT (unless -m)")
	f.StringVarP(&c.ContentType, "content-type", "T", "", "Content-Type of the -p or -u body (default text/plain)")
	durationVarP(f, &c.Timeout, "timeout", "s", 30*time.Second, "time each request may take")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "no progress line, and of sockit's stderr lines only warnings, hints and an interruption")
	f.Float64Var(&c.Rate, "rate", 0, "open model: this many requests per second in total")
	durationVar(f, &c.Warmup, "warmup", 0, "run this long before recording")
	f.BoolVar(&o.asJSON, "json", false, "print a JSON report (with the HDR histograms, for merge)")
	f.StringVar(&o.htmlFile, "html", "", "also write a self-contained HTML report to FILE")
	f.StringVar(&c.UnixSocket, "unix-socket", "", "HTTP over this Unix socket")
	f.BoolVar(&c.Insecure, "insecure", false, "https: do not verify the certificate")
	f.StringVar(&o.cacert, "cacert", "", "https: trust the CA certificates in this PEM FILE (as get's --cacert)")
	f.BoolVar(&c.HTTP2, "http2", false, "HTTP/2 (loop engine): h2 by ALPN over https, h2c with prior knowledge over http:// (as h2load)")
	f.IntVar(&c.Streams, "max-concurrent-streams", 0, "--http2: requests at a time on each connection (h2load's -m; -m is ab's method here) (default 1)")
	f.StringVar(&c.ServerName, "servername", "", "https: send this name (SNI) and verify the certificate for it, instead of the URL's host")
	f.BoolVar(&c.NoResume, "no-resume", false, "https: a full TLS handshake on every new connection (by default new connections resume the session, as browsers and curl do)")
	f.StringVar(&c.Proto, "proto", "", "raw targets: "+strings.Join(proto.Names(func(p proto.Protocol) bool { return p.Bench != nil }), ", ")+" (default echo)")
	f.IntVar(&c.Size, "size", 0, "raw targets: bytes per request (echo, discard, chargen) (default 64)")
	f.Uint64Var(&c.Seed, "seed", 0, "raw targets: seed of the echo payloads")
	f.StringVar(&c.Engine, "engine", "", "goroutine or loop (default: "+bench.DefaultEngine+"); the report's Engine line names the one that ran")
	f.IntVar(&c.Threads, "threads", 1, "OS threads running the workers (as wrk -t); 0 keeps Go's default, one per core")
	for name, fld := range map[string]string{"cookie": "Cookies", "auth": "Auth", "proxy-auth": "ProxyAuth", "proxy": "Proxy",
		"local-address": "LocalAddr", "variable-length": "AnyLength", "shard": "Shard", "requests": "Requests",
		"concurrency": "Concurrency", "timelimit": "TimeLimit", "duration": "Duration", "keepalive": "KeepAlive",
		"head": "Method", "method": "Method", "header": "Headers", "postfile": "Body", "putfile": "Body",
		"content-type": "ContentType", "timeout": "Timeout", "rate": "Rate", "warmup": "Warmup",
		"unix-socket": "UnixSocket", "insecure": "Insecure", "cacert": "RootCAs", "servername": "ServerName", "http2": "HTTP2", "max-concurrent-streams": "Streams", "no-resume": "NoResume", "proto": "Proto", "size": "Size",
		"seed": "Seed", "engine": "Engine", "threads": "Threads"} {
		field(f, name, fld)
	}
}

// flagsOf names Config field f as the flags that set it: the one the user
// typed, or the first declared. Target is the target itself.
func flagsOf(cmd *cobra.Command, target string) func(f string) string {
	return func(f string) string {
		if f == "Target" {
			return target
		}
		var all []string
		cmd.Flags().VisitAll(func(fl *pflag.Flag) {
			if slices.Contains(fl.Annotations[fieldKey], f) {
				if fl.Changed {
					all = append([]string{flagName(cmd, fl.Name)}, all...)
				} else {
					all = append(all, flagName(cmd, fl.Name))
				}
			}
		})
		if len(all) == 0 {
			return f
		}
		return all[0]
	}
}

// given reports whether the user typed a flag that sets Config field f.
func given(cmd *cobra.Command) func(f string) bool {
	return func(f string) bool {
		set := false
		cmd.Flags().Visit(func(fl *pflag.Flag) { set = set || slices.Contains(fl.Annotations[fieldKey], f) })
		return set
	}
}

// fieldErr words a *bench.FieldError with the user's flags, as a usage
// error; other errors pass.
func fieldErr(cmd *cobra.Command, target string, err error) error {
	var fe *bench.FieldError
	if errors.As(err, &fe) {
		return usageErr("bench: %s", fe.Message(flagsOf(cmd, target)))
	}
	return err
}

// config turns the flags into the run's Config and checks it.
func (o *benchOpts) config(cmd *cobra.Command, a *app, target string) (bench.Config, error) {
	cfg := o.cfg
	cfg.Target, cfg.Version = target, version()
	fl := cmd.Flags()
	// ab sends one body, by POST or PUT, or none with HEAD.
	for i, one := range []string{"head", "postfile", "putfile"} {
		for _, other := range []string{"head", "postfile", "putfile"}[i+1:] {
			if fl.Changed(one) && fl.Changed(other) {
				return cfg, usageErr("bench: %s: cannot go with %s: a request is HEAD, POST (-p) or PUT (-u)", flagName(cmd, other), flagName(cmd, one))
			}
		}
	}
	if o.head {
		cfg.Method = "HEAD"
	}
	for _, body := range []struct{ flag, file, method string }{{"-p", o.postFile, "POST"}, {"-u", o.putFile, "PUT"}} {
		if body.file == "" {
			continue
		}
		b, err := os.ReadFile(body.file)
		if err != nil {
			return cfg, usageErr("bench: %s: %w", body.flag, err)
		}
		cfg.Body = append([]byte{}, b...) // non-nil even when empty: a body of 0 bytes is still sent
		if cfg.Method == "" {
			cfg.Method = body.method
		}
	}
	if o.cacert != "" {
		pem, err := os.ReadFile(o.cacert)
		if err != nil {
			return cfg, usageErr("bench: --cacert: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return cfg, usageErr("bench: --cacert %s: no PEM certificates in it", o.cacert)
		}
	}
	if err := o.shardOf(&cfg); err != nil {
		return cfg, err
	}
	if o.verbose < 0 {
		return cfg, usageErr("bench: -v: want 0 or more")
	}
	return cfg, fieldErr(cmd, target, cfg.ValidateSet(given(cmd)))
}

// shardOf sets the shard and run id from the flags or the environment of
// an Indexed Job.
func (o *benchOpts) shardOf(cfg *bench.Config) error {
	if o.shard != "" {
		sh, err := bench.ParseShard(o.shard)
		if err != nil {
			return usageErr("bench: --shard: %w", err)
		}
		cfg.Shard = sh
	} else if sh, ok, err := bench.ShardFromEnv(os.Getenv); err != nil {
		return usageErr("bench: %w", err)
	} else if ok {
		cfg.Shard = sh
	}
	if cfg.RunID == "" {
		cfg.RunID = os.Getenv("SOCKIT_RUN_ID")
	}
	return nil
}

func (a *app) runBench(cmd *cobra.Command, o *benchOpts, target string) (err error) {
	cfg, err := o.config(cmd, a, target)
	if err != nil {
		return err
	}
	// Every output file is opened before the run, so a bad path fails at
	// once instead of throwing a finished run away.
	outs, err := openOutputs(map[string]string{"--csv": o.csvFile, "--html": o.htmlFile,
		"--openmetrics": o.omFile, "-e": o.pctFile, "-g": o.gnuFile})
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, outs.close()) }()
	cfg.Record = o.sinks(a, outs)
	if !o.quiet && isTerminal(os.Stderr) && !o.asJSON && !o.marked {
		cfg.Progress = func(done, failed int64, el time.Duration) {
			fmt.Fprintf(a.stderr, "\r%d requests, %.0f/s, %d failed ", done, float64(done)/el.Seconds(), failed)
		}
	}
	if cfg.Threads > 0 {
		runtime.GOMAXPROCS(bench.Procs(cfg.Threads)) // the process's setting: wrk -t's bound
	}
	res, err := bench.Run(a.ctx, cfg)
	if err != nil {
		if err = fieldErr(cmd, target, err); errors.As(err, new(*exitError)) {
			return err
		}
		return &exitError{code: exitUsage, err: fmt.Errorf("bench: %w", err)}
	}
	if cfg.Progress != nil {
		fmt.Fprintln(a.stderr)
	}
	if err := o.writeReports(a, res, outs); err != nil {
		return err
	}
	return benchStatus(res)
}

// writeReports writes the files asked for, then stdout's report and
// sockit's lines on stderr.
func (o *benchOpts) writeReports(a *app, res *bench.Result, outs *outputs) error {
	for flag, write := range map[string]func() error{
		"--html": func() error {
			return report.WriteHTML(outs.file("--html"), report.Named{Name: res.Target, Result: res})
		},
		"--openmetrics": func() error { return report.WriteOpenMetrics(outs.file("--openmetrics"), res) },
		"-e":            func() error { return report.WritePercentiles(outs.file("-e"), res) },
	} {
		if outs.file(flag) != nil {
			if err := write(); err != nil {
				return fmt.Errorf("bench: %s: %w", flag, err)
			}
		}
	}
	var err error
	switch {
	case o.marked:
		err = report.WriteJSONMarked(a.stdout, res)
	case o.asJSON:
		err = report.WriteJSON(a.stdout, res)
	case o.abHTML:
		err = report.WriteABHTML(a.stdout, res)
	default:
		err = report.WriteText(a.stdout, res, report.TextOptions{NoConfidence: o.noConf})
	}
	if err != nil {
		return err
	}
	if !o.asJSON && !o.marked && !o.quiet {
		return report.WriteExtras(a.stderr, res)
	}
	// The JSON holds the rest (-q asks for less); what needs a person's eye
	// is said.
	for _, w := range report.Warnings(res) {
		fmt.Fprintf(a.stderr, "sockit: warning: %s\n", w)
	}
	for _, l := range []string{res.Idle, res.Hint, report.NotHTTPNote(res)} {
		if l != "" {
			fmt.Fprintf(a.stderr, "sockit: %s\n", l)
		}
	}
	if res.Interrupted {
		fmt.Fprintf(a.stderr, "sockit: interrupted: %d requests completed, %d cut off\n", res.Requests, res.Cut)
	}
	return nil
}

// benchStatus is the run's exit: 130 when interrupted, 1 (as ab exits on
// its socket error) when not one request succeeded.
func benchStatus(res *bench.Result) error {
	switch {
	case res.Interrupted:
		return quietExit(exitInterrupted)
	case res.Requests > 0 && res.Failed() == res.Requests:
		why := ""
		if res.FirstError != "" {
			why = ": " + res.FirstError
		}
		return fmt.Errorf("bench: every request failed (%s)%s", failureList(res.Failures), why)
	}
	return nil
}

// outputs are bench's output files, by flag, and the writers over them
// to flush before they close.
type outputs struct {
	files   map[string]*os.File
	flushes []func() error
}

func (outs *outputs) file(flag string) *os.File { return outs.files[flag] }

// openOutputs creates the files named, by flag; none is left open on an
// error.
func openOutputs(paths map[string]string) (*outputs, error) {
	outs := &outputs{files: map[string]*os.File{}}
	for _, flag := range slices.Sorted(maps.Keys(paths)) {
		if paths[flag] == "" {
			continue
		}
		f, err := os.Create(paths[flag])
		if err != nil {
			outs.close()
			return nil, usageErr("bench: %s: %w", flag, err)
		}
		outs.files[flag] = f
	}
	return outs, nil
}

// onClose has flush run, its error named by flag, before the files close.
func (outs *outputs) onClose(flag string, flush func() error) {
	outs.flushes = append(outs.flushes, func() error {
		if err := flush(); err != nil {
			return fmt.Errorf("bench: %s: %w", flag, err)
		}
		return nil
	})
}

// close flushes and closes the files and returns the first error, naming
// its flag.
func (outs *outputs) close() error {
	var first error
	for _, f := range outs.flushes {
		if err := f(); err != nil && first == nil {
			first = err
		}
	}
	for _, flag := range slices.Sorted(maps.Keys(outs.files)) {
		if err := outs.files[flag].Close(); err != nil && first == nil {
			first = fmt.Errorf("bench: %s: %w", flag, err)
		}
	}
	return first
}

// sinks returns the Config.Record of the per-request outputs (--csv, -g,
// -v), nil if none; their flush errors are checked when the files close.
func (o *benchOpts) sinks(a *app, outs *outputs) func(bench.Record) {
	var sinks []func(bench.Record)
	if f := outs.file("--csv"); f != nil {
		cw := report.NewCSVWriter(f)
		sinks = append(sinks, cw.Record)
		outs.onClose("--csv", cw.Flush)
	}
	if f := outs.file("-g"); f != nil {
		gw := report.NewGnuplotWriter(f)
		sinks = append(sinks, gw.Record)
		outs.onClose("-g", gw.Flush)
	}
	if o.verbose >= 2 {
		sinks = append(sinks, verboseSink(a, o.verbose))
	}
	switch len(sinks) {
	case 0:
		return nil
	case 1:
		return sinks[0]
	}
	return func(r bench.Record) {
		for _, s := range sinks {
			s(r)
		}
	}
}
