package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"maps"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/proto"
)

func (a *app) benchCommand() *cobra.Command {
	var (
		cfg       bench.Config
		timeLim   time.Duration
		timeout   time.Duration
		head      bool
		postFile  string
		putFile   string
		quiet     bool
		asJSON    bool
		htmlFile  string
		threads   int
		shard     string
		marked    bool
		csvFile   string
		omFile    string
		verbose   int
		pctFile   string
		gnuFile   string
		cookies   []string
		auth      string
		noExit    bool
		noConf    bool
		proxyAuth string
	)
	cmd := &cobra.Command{
		Use:   "bench [flags] TARGET",
		Short: "Load a server: ab's flags and report, for HTTP and the raw small-service protocols",
		Long: `bench is a drop-in for ab: -n requests over -c concurrent connections, one
connection per request unless -k, and ab's report on stdout line for line, so
scripts that parse ab keep working. It adds HTTP/1.1 keep-alive with correct
framing (chunked included), https and Unix sockets, raw targets (tcp://, udp://,
unix://, unixgram:// with --proto echo|discard|chargen|daytime|qotd|time; echo
verifies every byte), an open model (--rate: latency from each request's
scheduled time), HDR latency percentiles, and --json reports that merge exactly
(sockit bench merge).

As in ab, a complete response is a success whatever its status (non-2xx ones are
counted on their own line), the first response's body sets the Document Length
and a later body of another length is a Length failure unless -l.

Where bench differs from ab, and why:
  - stdout holds ab's report without ab's banner (bench is not ApacheBench);
    sockit's own lines (engine, failures by kind, p99.9, client CPU, hints)
    go to stderr, prefixed "sockit:", so a parser of ab's output sees ab's layout.
  - Exactly -n requests complete, each a success or a failure of a named kind
    (connect, timeout, read, write, length, verify): a receive error never ends
    the run, as if ab's -r were always given (-r is accepted).
  - -v's lines go to stderr, not into the report; -k speaks HTTP/1.1.
  - --warmup requests come on top of -n: exactly -n are measured after it.
  - Ctrl-C stops at once (requests in flight are cut off and counted apart),
    prints the report of what completed, marked interrupted on stderr, and
    exits 130. Every request failing exits 1, as ab exits on its socket error.`,
		Example: `  sockit bench -c 50 -n 1000 http://localhost:8080/      # the brief's ab command
  sockit bench -k -c 50 -d 10s http://127.0.0.1:8080/
  sockit bench -c 64 -n 100000 --size 64 tcp://127.0.0.1:8001
  # UDP: sockit serve budgets the reply bytes per source (anti-amplification),
  # which a benchmark exhausts at once; serve a benchmark without it:
  sockit serve --udp-budget off qotd=udp://127.0.0.1:8017 &
  sockit bench --proto qotd -c 8 -n 1000 udp://127.0.0.1:8017
  sockit bench -k --rate 20000 -d 30s --json http://127.0.0.1:8080/ > a.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			cfg.Target = args[0]
			if err := checkBenchFlags(cmd, &cfg, args[0], timeLim, timeout); err != nil {
				return err
			}
			if timeLim > 0 {
				cfg.Duration = timeLim
				if !cmd.Flags().Changed("requests") {
					cfg.Requests = 50000 // ab: -t implies -n 50000
				}
			}
			if threads > 0 {
				runtime.GOMAXPROCS(bench.Procs(threads))
				cfg.Loops = threads
			}
			cfg.Timeout = timeout
			if head {
				cfg.Method = "HEAD"
			}
			for _, c := range cookies {
				cfg.Headers = append(cfg.Headers, "Cookie: "+c)
			}
			for _, a := range []struct{ flag, value, header string }{{"-A", auth, "Authorization"}, {"-P", proxyAuth, "Proxy-Authorization"}} {
				if a.value == "" {
					continue
				}
				if !strings.Contains(a.value, ":") {
					return usageErr("bench: %s: want user:password, not %q", a.flag, a.value)
				}
				cfg.Headers = append(cfg.Headers, a.header+": Basic "+base64.StdEncoding.EncodeToString([]byte(a.value)))
			}
			for _, body := range []struct{ flag, file, method string }{{"-p", postFile, "POST"}, {"-u", putFile, "PUT"}} {
				if body.file == "" {
					continue
				}
				b, err := os.ReadFile(body.file)
				if err != nil {
					return usageErr("bench: %s: %v", body.flag, err)
				}
				cfg.Body = append([]byte{}, b...) // non-nil even when empty: a body of 0 bytes is still sent
				if cfg.Method == "" {
					cfg.Method = body.method
				}
			}
			if shard != "" {
				sh, err := bench.ParseShard(shard)
				if err != nil {
					return usageErr("bench: --shard: %v", err)
				}
				cfg.Shard = sh
			} else if sh, ok, err := bench.ShardFromEnv(os.Getenv); err != nil {
				return usageErr("bench: %v", err)
			} else if ok {
				cfg.Shard = sh
			}
			if cfg.RunID == "" {
				cfg.RunID = os.Getenv("SOCKIT_RUN_ID")
			}
			// Every output file is opened before the run, so a bad path
			// fails at once instead of throwing a finished run away.
			outs := map[string]*os.File{}
			for _, o := range []struct{ flag, path string }{{"--csv", csvFile}, {"--html", htmlFile},
				{"--openmetrics", omFile}, {"-e", pctFile}, {"-g", gnuFile}} {
				if o.path == "" {
					continue
				}
				f, err := os.Create(o.path)
				if err != nil {
					for _, f := range outs {
						f.Close()
					}
					return usageErr("bench: %s: %v", o.flag, err)
				}
				outs[o.flag] = f
			}
			defer func() {
				for flag, f := range outs {
					if cerr := f.Close(); cerr != nil && err == nil {
						err = fmt.Errorf("bench: %s: %w", flag, cerr)
					}
				}
			}()
			var sinks []func(bench.Record)
			if f := outs["--csv"]; f != nil {
				cw := bench.NewCSVWriter(f)
				sinks = append(sinks, cw.Record)
				defer func() {
					if ferr := cw.Flush(); ferr != nil && err == nil {
						err = fmt.Errorf("bench: --csv: %w", ferr)
					}
				}()
			}
			if f := outs["-g"]; f != nil {
				gw := bench.NewGnuplotWriter(f)
				sinks = append(sinks, gw.Record)
				defer func() {
					if ferr := gw.Flush(); ferr != nil && err == nil {
						err = fmt.Errorf("bench: -g: %w", ferr)
					}
				}()
			}
			if verbose >= 2 {
				sinks = append(sinks, a.verboseSink(verbose))
			}
			switch len(sinks) {
			case 0:
			case 1:
				cfg.Record = sinks[0]
			default:
				cfg.Record = func(r bench.Record) {
					for _, s := range sinks {
						s(r)
					}
				}
			}
			if marked {
				asJSON = true
			}
			if !quiet && isTerminal(os.Stderr) && !asJSON {
				cfg.Progress = func(done, failed int64, el time.Duration) {
					fmt.Fprintf(a.stderr, "\r%d requests, %.0f/s, %d failed ", done, float64(done)/el.Seconds(), failed)
				}
			}
			bench.Version = version()
			res, err := bench.Run(a.ctx, cfg)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("bench: %w", err)}
			}
			if cfg.Progress != nil {
				fmt.Fprintln(a.stderr)
			}
			res.NoConfidence = noConf
			if f := outs["--html"]; f != nil {
				if err := res.WriteHTML(f); err != nil {
					return fmt.Errorf("bench: --html: %w", err)
				}
			}
			if f := outs["--openmetrics"]; f != nil {
				if err := res.WriteOpenMetrics(f); err != nil {
					return fmt.Errorf("bench: --openmetrics: %w", err)
				}
			}
			if f := outs["-e"]; f != nil {
				if err := res.WritePercentiles(f); err != nil {
					return fmt.Errorf("bench: -e: %w", err)
				}
			}
			switch {
			case marked:
				err = res.WriteJSONMarked(a.stdout)
			case asJSON:
				err = res.WriteJSON(a.stdout)
			default:
				err = res.WriteText(a.stdout)
			}
			if err != nil {
				return err
			}
			if !asJSON && !quiet {
				res.WriteExtras(a.stderr)
			} else {
				// The JSON holds the rest (-q asks for less); what needs a
				// person's eye is said.
				for _, w := range res.Warnings() {
					fmt.Fprintf(a.stderr, "sockit: warning: %s\n", w)
				}
				for _, l := range []string{res.Idle, res.Hint} {
					if l != "" {
						fmt.Fprintf(a.stderr, "sockit: %s\n", l)
					}
				}
				if res.Interrupted {
					fmt.Fprintf(a.stderr, "sockit: interrupted: %d requests completed, %d cut off\n", res.Requests, res.Cut)
				}
			}
			switch {
			case res.Interrupted:
				return quietExit(exitInterrupted)
			case res.Requests > 0 && res.Failed() == res.Requests:
				// ab exits non-zero when it cannot do its job; so does bench
				// when not one request succeeded.
				why := ""
				if res.FirstError != "" {
					why = ": " + res.FirstError
				}
				return fmt.Errorf("bench: every request failed (%s)%s", failureList(res.Failures), why)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVarP(&verbose, "verbosity", "v", 0, "ab's -v: 2 prints a warning per non-2xx response, 3 also each response's status (on stderr)")
	f.StringVarP(&pctFile, "csv-percentiles", "e", "", "ab's -e: write the percentiles 0..100 to FILE as CSV (\"Percentage served,Time in ms\")")
	f.StringVarP(&gnuFile, "gnuplot", "g", "", "ab's -g: write one tab-separated line per request to FILE (starttime seconds ctime dtime ttime wait)")
	f.StringArrayVarP(&cookies, "cookie", "C", nil, "ab's -C: add a 'Cookie: name=value' header (repeatable)")
	f.StringVarP(&auth, "auth", "A", "", "ab's -A user:password: HTTP Basic authentication")
	f.StringVarP(&proxyAuth, "proxy-auth", "P", "", "ab's -P user:password: Basic authentication to the proxy (Proxy-Authorization)")
	f.StringVarP(&cfg.Proxy, "proxy", "X", "", "ab's -X host:port: send the HTTP requests through this proxy")
	f.BoolVarP(&cfg.AnyLength, "variable-length", "l", false, "ab's -l: bodies of another length than the first are not Length failures")
	f.BoolVarP(&noConf, "no-confidence", "S", false, "ab's -S: the Connection Times table as min, avg and max, without the standard deviation, the median and ab's notes on them")
	f.BoolVarP(&noExit, "no-exit-on-receive-error", "r", false, "ab's -r; bench never exits on a receive error anyway: it counts it and goes on")
	f.StringVar(&shard, "shard", "", "run shard I of N (I/N, 1-based) of the load; default from JOB_COMPLETION_INDEX (0-based) and SOCKIT_SHARDS")
	f.StringVar(&cfg.RunID, "run-id", "", "name of the run, for merge (default $SOCKIT_RUN_ID)")
	f.BoolVar(&marked, "json-markers", false, "print the JSON report between marker lines, for merge to find in a log (kubectl logs)")
	f.StringVar(&omFile, "openmetrics", "", "also write an OpenMetrics text summary to FILE")
	f.StringVar(&csvFile, "csv", "", "write one CSV row per request to FILE (start, latency, status, error, bytes)")
	f.Int64VarP(&cfg.Requests, "requests", "n", 0, "requests to perform (default 1, or 50000 with -t/-d, as ab)")
	f.IntVarP(&cfg.Concurrency, "concurrency", "c", 1, "requests at a time (connections)")
	durationVarP(f, &timeLim, "timelimit", "t", 0, "run at most this long (implies -n 50000 unless set)")
	durationVarP(f, &cfg.Duration, "duration", "d", 0, "how long to run (e.g. 10s)")
	f.BoolVarP(&cfg.KeepAlive, "keepalive", "k", false, "keep connections alive (HTTP/1.1)")
	f.BoolVarP(&head, "head", "i", false, "HEAD requests instead of GET")
	f.StringVarP(&cfg.Method, "method", "m", "", "request method")
	f.StringArrayVarP(&cfg.Headers, "header", "H", nil, "extra header 'Name: value' (repeatable)")
	f.StringVarP(&postFile, "postfile", "p", "", "send this file as the request body (POST unless -m)")
	f.StringVarP(&putFile, "putfile", "u", "", "ab's -u: send this file as the request body by PUT (unless -m)")
	f.StringVarP(&cfg.ContentType, "content-type", "T", "", "Content-Type of the -p or -u body (default text/plain)")
	durationVarP(f, &timeout, "timeout", "s", 30*time.Second, "time each request may take")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress line, and of sockit's stderr lines only warnings, hints and an interruption")
	f.Float64Var(&cfg.Rate, "rate", 0, "open model: this many requests per second in total")
	durationVar(f, &cfg.Warmup, "warmup", 0, "run this long before recording")
	f.BoolVar(&asJSON, "json", false, "print a JSON report (with the HDR histograms, for merge)")
	f.StringVar(&htmlFile, "html", "", "also write a self-contained HTML report to FILE")
	f.StringVar(&cfg.UnixSocket, "unix-socket", "", "HTTP over this Unix socket")
	f.BoolVar(&cfg.Insecure, "insecure", false, "https: do not verify the certificate")
	f.StringVar(&cfg.Proto, "proto", "echo", "raw targets: "+strings.Join(proto.Names(func(p proto.Protocol) bool { return p.Bench != nil }), ", "))
	f.IntVar(&cfg.Size, "size", 64, "raw targets: bytes per request (echo, discard, chargen)")
	f.Uint64Var(&cfg.Seed, "seed", 1, "seed of the echo payloads")
	f.StringVar(&cfg.Engine, "engine", "", "goroutine or loop (default: "+bench.DefaultEngine+"); the report's Engine line names the one that ran")
	f.IntVar(&threads, "threads", 1, "OS threads running the workers (as wrk -t); 0 keeps Go's default, one per core")
	cmd.AddCommand(a.benchMergeCommand(), a.benchReportCommand(), a.benchCompareCommand())
	return cmd
}

func (a *app) benchMergeCommand() *cobra.Command {
	var (
		asJSON   bool
		htmlFile string
	)
	cmd := &cobra.Command{
		Use:   "merge [--json] [--html FILE] REPORT...",
		Short: "Combine the --json reports of one run's shards (or of simultaneous runs) into one report",
		Long: `merge adds up --json reports exactly: counts, HDR histograms (percentiles come
from the merged histogram, never averaged) and per-second series. The reports of a
sharded run (--shard, or an Indexed Job) must all be there, once each, with the same
run id and load; merge names the reports that disagree. A REPORT may also be a log
holding reports between --json-markers lines, or - for stdin, so
  kubectl logs -l job-name=sockit-bench --tail=-1 --prefix | sockit bench merge -
merges a Kubernetes Job's pods.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("bench merge: no report given")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := a.readReports("bench merge", args)
			if err != nil {
				return err
			}
			m, err := bench.MergeRun(rs)
			if err != nil {
				return usageErr("bench merge: %v", err)
			}
			if htmlFile != "" {
				if err := writeFile(htmlFile, m.WriteHTML); err != nil {
					return err
				}
			}
			if asJSON {
				return m.WriteJSON(a.stdout)
			}
			if err := m.WriteText(a.stdout); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "\nPer second (shards aligned on their start times)\n")
			return m.WriteSeries(a.stdout)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the merged report as JSON")
	cmd.Flags().StringVar(&htmlFile, "html", "", "also write the merged HTML report to FILE")
	return cmd
}

// readReports reads the reports in files (- is stdin): JSON reports, or
// logs holding reports between markers.
func (a *app) readReports(cmdName string, files []string) ([]bench.Named, error) {
	var rs []bench.Named
	for _, p := range files {
		var (
			b   []byte
			err error
		)
		if p == "-" {
			b, err = io.ReadAll(a.stdin)
			p = "stdin"
		} else {
			b, err = os.ReadFile(p)
		}
		if err != nil {
			return nil, usageErr("%s: %v", cmdName, err)
		}
		got, err := bench.ReadReports(p, b)
		if err != nil {
			return nil, usageErr("%s: %v", cmdName, err)
		}
		if len(got) == 0 {
			return nil, usageErr("%s: %s holds no report", cmdName, p)
		}
		rs = append(rs, got...)
	}
	return rs, nil
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (a *app) benchReportCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "report -o FILE.html REPORT...",
		Short: "Write one HTML page overlaying the --json reports of several runs (before/after)",
		Long: `report renders --json reports (or logs holding them between --json-markers
lines, or - for stdin) as one self-contained HTML page: a summary table, latency
over time, requests per second, the percentile curve and the errors, each run
in its own colour. It opens offline: no script, style or font is fetched.`,
		Example: `  sockit bench report before.json after.json -o cmp.html`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("bench report: no report given")
			}
			if out == "" {
				return usageErr("bench report: -o FILE is required")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, err := a.readReports("bench report", args)
			if err != nil {
				return err
			}
			return writeFile(out, func(w io.Writer) error { return bench.WriteHTMLReport(w, rs) })
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the HTML file to write")
	return cmd
}

func (a *app) benchCompareCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "compare A.json B.json",
		Short: "Compare two runs metric by metric, noting differences within the reports' own noise",
		Long: `compare prints each metric of two --json reports (or logs holding one report
each between --json-markers lines) with its delta and relative change, and notes
"within noise" where the two runs' 95% intervals overlap: for percentiles, the
order-statistics interval read off each HDR histogram, widened by the batch means
of the per-second series; for the mean and the rate, their standard errors; for
failures, a two-proportion test. That is the noise one report shows: repeated
runs can differ more.`,
		Example: `  sockit bench compare before.json after.json`,
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rs []bench.Named
			for _, p := range args {
				got, err := a.readReports("bench compare", []string{p})
				if err != nil {
					return err
				}
				if len(got) != 1 {
					return usageErr("bench compare: %s holds %d reports; merge them first", p, len(got))
				}
				rs = append(rs, got[0])
			}
			return bench.WriteCompare(a.stdout, rs[0].Name, rs[1].Name, rs[0].Result, rs[1].Result)
		},
	}
}

// flagName is how a message names a flag: its ab letter if it has one.
func flagName(cmd *cobra.Command, name string) string {
	if f := cmd.Flags().Lookup(name); f != nil && f.Shorthand != "" {
		return "-" + f.Shorthand
	}
	return "--" + name
}

// checkBenchFlags refuses, naming the flag, every value bench cannot run
// as asked (ab refuses them too) and every flag that does not apply to the
// target's kind, instead of ignoring it.
func checkBenchFlags(cmd *cobra.Command, cfg *bench.Config, target string, timeLim, timeout time.Duration) error {
	fl := cmd.Flags()
	bad := func(name, format string, a ...any) error {
		return usageErr("bench: %s: %s", flagName(cmd, name), fmt.Sprintf(format, a...))
	}
	verbosity, _ := fl.GetInt("verbosity") // both default to 0 or more
	threads, _ := fl.GetInt("threads")
	switch {
	case fl.Changed("requests") && cfg.Requests <= 0:
		return bad("requests", "want at least 1 request, not %d", cfg.Requests)
	case cfg.Concurrency <= 0:
		return bad("concurrency", "want at least 1 connection, not %d", cfg.Concurrency)
	case cfg.Concurrency > 15000:
		return bad("concurrency", "%d is more connections than this process may open (open files are capped)", cfg.Concurrency)
	case fl.Changed("requests") && int64(cfg.Concurrency) > cfg.Requests:
		return bad("concurrency", "%d connections for %d requests: -c may not exceed -n (as in ab)", cfg.Concurrency, cfg.Requests)
	case fl.Changed("timelimit") && timeLim <= 0:
		return bad("timelimit", "want a positive time, not %v", timeLim)
	case fl.Changed("duration") && cfg.Duration <= 0:
		return bad("duration", "want a positive time, not %v", cfg.Duration)
	case timeout <= 0:
		return bad("timeout", "want a positive time, not %v", timeout)
	case cfg.Warmup < 0:
		return bad("warmup", "want a positive time, not %v", cfg.Warmup)
	case fl.Changed("rate") && !(cfg.Rate > 0):
		return bad("rate", "want a positive rate, not %v", cfg.Rate)
	case cfg.Size <= 0:
		return bad("size", "want at least 1 byte, not %d", cfg.Size)
	case cfg.Size > 65507 && (strings.HasPrefix(target, "udp") || strings.HasPrefix(target, "unixgram")):
		return bad("size", "%d bytes do not fit in one datagram (at most 65507)", cfg.Size)
	case verbosity < 0:
		return bad("verbosity", "want 0 or more")
	case threads < 0:
		return bad("threads", "want 0 (Go's default) or more")
	}
	isHTTP := strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://")
	rawOnly := []string{"proto", "size", "seed"}
	// ab sends one body, by POST or PUT, or none with HEAD.
	for i, one := range []string{"head", "postfile", "putfile"} {
		for _, other := range []string{"head", "postfile", "putfile"}[i+1:] {
			if fl.Changed(one) && fl.Changed(other) {
				return bad(other, "cannot go with %s: a request is HEAD, POST (-p) or PUT (-u)", flagName(cmd, one))
			}
		}
	}
	httpOnly := []string{"header", "postfile", "putfile", "content-type", "proxy-auth", "method", "head", "cookie", "auth", "proxy",
		"variable-length", "unix-socket", "insecure"}
	for _, name := range rawOnly {
		if isHTTP && fl.Changed(name) {
			return bad(name, "applies to raw targets (tcp://, udp://, unix://, unixgram://), not to an HTTP URL")
		}
	}
	for _, name := range httpOnly {
		if !isHTTP && fl.Changed(name) {
			return bad(name, "applies to HTTP targets (http://, https://), not to %s", target)
		}
	}
	return nil
}

// verboseSink is ab's -v for bench: at 2 a warning per non-2xx response,
// at 3 every response's status, on stderr (ab writes them to stdout, into
// the report a parser reads; sockit keeps stdout ab's report alone).
func (a *app) verboseSink(level int) func(bench.Record) {
	var mu sync.Mutex
	return func(r bench.Record) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Status != 0 && (r.Status < 200 || r.Status > 299):
			fmt.Fprintf(a.stderr, "WARNING: Response code not 2xx (%d)\n", r.Status)
		case level >= 3 && r.Status != 0:
			fmt.Fprintf(a.stderr, "LOG: Response code = %d\n", r.Status)
		}
		if level >= 3 && r.Error != "" {
			fmt.Fprintf(a.stderr, "LOG: request failed: %s\n", r.Error)
		}
	}
}

// failureList writes failure counts as "connect 10, timeout 2".
func failureList(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
