package main

import (
	"cmp"
	"errors"
	"fmt"
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

// benchOpts are bench's flags: the load's go straight into cfg; the rest
// say where the reports go.
type benchOpts struct {
	cfg                       bench.Config
	head, noExit              bool
	postFile, putFile, cacert string
	shard                     string
	verbose                   int
	out                       report.Options
	paths                     report.Paths
}

func (a *app) benchCommand() *cobra.Command {
	o := &benchOpts{}
	cmd := &cobra.Command{
		Use:     "bench [flags] TARGET",
		Short:   "Load a server: ab's flags and report, for HTTP, HTTP/2 and the raw small-service protocols",
		Long:    report.HelpBench,
		Example: report.ExampleBench,
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

func (o *benchOpts) flags(f *pflag.FlagSet) {
	c, p := &o.cfg, &o.paths
	f.IntVarP(&o.verbose, "verbosity", "v", 0, "ab's -v: 2 prints a warning per non-2xx response, 3 also each response's status (on stderr)")
	f.StringVarP(&p.Percentiles.Path, "csv-percentiles", "e", "", "ab's -e: write the percentiles 0..100 to FILE as CSV (\"Percentage served,Time in ms\")")
	f.StringVarP(&p.Gnuplot.Path, "gnuplot", "g", "", "ab's -g: write one tab-separated line per request to FILE (starttime seconds ctime dtime ttime wait)")
	f.BoolVarP(&o.out.ABHTML, "html-tables", "w", false, "ab's -w: print the report as HTML tables, as ab does, instead of text")
	f.StringArrayVarP(&c.Cookies, "cookie", "C", nil, "ab's -C: add a 'Cookie: name=value' header (repeatable)")
	f.StringVarP(&c.Auth, "auth", "A", "", "ab's -A user:password: HTTP Basic authentication")
	f.StringVarP(&c.ProxyAuth, "proxy-auth", "P", "", "ab's -P user:password: Basic authentication to the proxy (Proxy-Authorization)")
	f.StringVarP(&c.Proxy, "proxy", "X", "", "ab's -X host:port: send the HTTP requests through this proxy")
	f.StringVarP(&c.LocalAddr, "local-address", "B", "", "ab's -B: connect from this local IP address")
	f.BoolVarP(&c.AnyLength, "variable-length", "l", false, "ab's -l: bodies of another length than the first are not Length failures")
	f.BoolVarP(&o.out.Text.NoConfidence, "no-confidence", "S", false, "ab's -S: the Connection Times table as min, avg and max, without the standard deviation, the median and ab's notes on them")
	f.BoolVarP(&o.noExit, "no-exit-on-receive-error", "r", false, "ab's -r; bench never exits on a receive error anyway: it counts it and goes on")
	f.StringVar(&o.shard, "shard", "", "run shard I of N (I/N, 1-based) of the load; default from JOB_COMPLETION_INDEX (0-based) and SOCKIT_SHARDS")
	f.StringVar(&c.RunID, "run-id", "", "name of the run, for merge (default $SOCKIT_RUN_ID)")
	f.BoolVar(&o.out.Marked, "json-markers", false, "print the JSON report between marker lines, for merge to find in a log (kubectl logs)")
	f.StringVar(&p.OpenMetrics.Path, "openmetrics", "", "also write an OpenMetrics text summary to FILE")
	f.StringVar(&p.CSV.Path, "csv", "", "write one CSV row per request to FILE (start, latency, status, error, bytes)")
	f.Int64VarP(&c.Requests, "requests", "n", 0, "requests to perform (default 1, or 50000 with -t, as ab)")
	f.IntVarP(&c.Concurrency, "concurrency", "c", 1, "requests at a time (connections)")
	durationVarP(f, &c.TimeLimit, "timelimit", "t", 0, "ab's -t: run at most this long (implies -n 50000 unless set)")
	durationVarP(f, &c.Duration, "duration", "d", 0, "how long to run (e.g. 10s)")
	f.BoolVarP(&c.KeepAlive, "keepalive", "k", false, "keep connections alive (HTTP/1.1)")
	f.BoolVarP(&o.head, "head", "i", false, "HEAD requests instead of GET")
	f.StringVarP(&c.Method, "method", "m", "", "request method (ab's -m; h2load's -m is --max-concurrent-streams)")
	f.StringArrayVarP(&c.Headers, "header", "H", nil, "extra header 'Name: value' (repeatable); one named Host, User-Agent or Accept replaces bench's own, as in ab")
	f.StringVarP(&o.postFile, "postfile", "p", "", "send this file as the request body (POST unless -m)")
	f.StringVarP(&o.putFile, "putfile", "u", "", "ab's -u: send this file as the request body by PUT (unless -m)")
	f.StringVarP(&c.ContentType, "content-type", "T", "", "Content-Type of the -p or -u body (default text/plain)")
	durationVarP(f, &c.Timeout, "timeout", "s", 30*time.Second, "time each request may take")
	f.BoolVarP(&o.out.Quiet, "quiet", "q", false, "no progress line, and of sockit's stderr lines only warnings, hints and an interruption")
	f.Float64Var(&c.Rate, "rate", 0, "open model: this many requests per second in total")
	durationVar(f, &c.Warmup, "warmup", 0, "run this long before recording")
	f.BoolVar(&o.out.JSON, "json", false, "print a JSON report (with the HDR histograms, for merge)")
	f.StringVar(&p.HTML.Path, "html", "", "also write a self-contained HTML report to FILE")
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
		"unix-socket": "UnixSocket", "insecure": "Insecure", "cacert": "RootCAs", "servername": "ServerName",
		"http2": "HTTP2", "max-concurrent-streams": "Streams", "no-resume": "NoResume", "proto": "Proto",
		"size": "Size", "seed": "Seed", "engine": "Engine", "threads": "Threads"} {
		if err := f.SetAnnotation(name, fieldKey, []string{fld}); err != nil {
			panic(err) // a flag declared above with another name: a bug here
		}
	}
	p.Percentiles.Flag, p.Gnuplot.Flag, p.OpenMetrics.Flag, p.CSV.Flag, p.HTML.Flag = "-e", "-g", "--openmetrics", "--csv", "--html"
}

// fieldErr words a *bench.FieldError with the user's flags (each field
// named by the flag typed, or else the first declared), as a usage
// error; other errors pass.
func fieldErr(cmd *cobra.Command, target string, err error) error {
	var fe *bench.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	return usageErr("bench: %s", fe.Message(func(f string) string {
		if f == "Target" {
			return target
		}
		var typed, first string
		cmd.Flags().VisitAll(func(fl *pflag.Flag) {
			if slices.Contains(fl.Annotations[fieldKey], f) {
				if fl.Changed && typed == "" {
					typed = flagName(cmd, fl.Name)
				}
				first = cmp.Or(first, flagName(cmd, fl.Name))
			}
		})
		return cmp.Or(typed, first, f)
	}))
}

// flagName is how a message names a flag: its ab letter if it has one.
func flagName(cmd *cobra.Command, name string) string {
	if f := cmd.Flags().Lookup(name); f != nil && f.Shorthand != "" {
		return "-" + f.Shorthand
	}
	return "--" + name
}

// config turns the flags into the run's Config and checks it.
func (o *benchOpts) config(cmd *cobra.Command, target string) (bench.Config, error) {
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
		if body.file != "" {
			b, err := os.ReadFile(body.file)
			if err != nil {
				return cfg, usageErr("bench: %s: %w", body.flag, err)
			}
			cfg.Body = append([]byte{}, b...) // non-nil even when empty: a body of 0 bytes is still sent
			cfg.Method = cmp.Or(cfg.Method, body.method)
		}
	}
	var err error
	if o.cacert != "" {
		if cfg.RootCAs, err = bench.LoadCAs(o.cacert); err != nil {
			return cfg, usageErr("bench: --cacert %w", err)
		}
	}
	if cfg.Shard, err = bench.ShardFor(o.shard, os.Getenv); errors.As(err, new(*bench.FieldError)) {
		return cfg, fieldErr(cmd, target, err)
	} else if err != nil {
		return cfg, usageErr("bench: %w", err)
	}
	cfg.RunID = cmp.Or(cfg.RunID, os.Getenv("SOCKIT_RUN_ID"))
	if o.verbose < 0 {
		return cfg, usageErr("bench: -v: want 0 or more")
	}
	return cfg, fieldErr(cmd, target, cfg.ValidateSet(func(f string) bool {
		set := false
		cmd.Flags().Visit(func(fl *pflag.Flag) { set = set || slices.Contains(fl.Annotations[fieldKey], f) })
		return set
	}))
}

func (a *app) runBench(cmd *cobra.Command, o *benchOpts, target string) (err error) {
	cfg, err := o.config(cmd, target)
	if err != nil {
		return err
	}
	outs, err := report.OpenOutputs(o.paths)
	if err != nil {
		return usageErr("bench: %w", err)
	}
	defer func() {
		if cerr := outs.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("bench: %w", cerr))
		}
	}()
	cfg.Record = outs.Record(a.stderr, o.verbose)
	if !o.out.Quiet && isTerminal(os.Stderr) && !o.out.JSON && !o.out.Marked {
		cfg.Progress = report.Progress(a.stderr)
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
	if err := outs.Write(a.stdout, a.stderr, res, o.out); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if res.Interrupted {
		return quietExit(exitInterrupted)
	}
	if why := report.AllFailed(res); why != "" {
		return fmt.Errorf("bench: %s", why)
	}
	return nil
}
