package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/proto"
)

func (a *app) benchCommand() *cobra.Command {
	var (
		cfg      bench.Config
		timeLim  time.Duration
		timeout  time.Duration
		head     bool
		postFile string
		quiet    bool
		asJSON   bool
		htmlFile string
		threads  int
		shard    string
		marked   bool
		csvFile  string
		omFile   string
	)
	cmd := &cobra.Command{
		Use:   "bench [flags] TARGET",
		Short: "Load a server: ab's flags and report, for HTTP and the raw small-service protocols",
		Long: `bench is a drop-in for ab: -n requests over -c concurrent connections, one
connection per request unless -k, and ab's report layout, so scripts that parse
ab keep working. It adds HTTP/1.1 keep-alive with correct framing (chunked
included), https and Unix sockets, raw targets (tcp://, udp://, unix://,
unixgram:// with --proto echo|discard|chargen|daytime|qotd|time; echo verifies
every byte), an open model (--rate: latency from each request's scheduled
time), HDR latency percentiles, and --json reports that merge exactly
(sockit bench merge). Exactly -n requests complete, each a success or a
failure of a named kind (connect, timeout, read, write, status, length,
verify). Ctrl-C prints the report of what completed.`,
		Example: `  sockit bench -c 50 -n 1000 http://localhost:8080/      # the brief's ab command
  sockit bench -k -c 50 -d 10s http://127.0.0.1:8080/
  sockit bench -c 64 -n 100000 --size 64 tcp://127.0.0.1:8001
  sockit bench --proto qotd -c 8 -n 1000 udp://127.0.0.1:8017
  sockit bench -k --rate 20000 -d 30s --json http://127.0.0.1:8080/ > a.json`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) (err error) {
			cfg.Target = args[0]
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
			if timeout > 0 {
				cfg.Timeout = timeout
			}
			if head {
				cfg.Method = "HEAD"
			}
			if postFile != "" {
				b, err := os.ReadFile(postFile)
				if err != nil {
					return usageErr("bench: -p: %v", err)
				}
				cfg.Body = b
				if cfg.Method == "" {
					cfg.Method = "POST"
				}
			}
			if cfg.Requests < 0 || cfg.Concurrency < 0 || cfg.Rate < 0 || cfg.Size < 0 || cfg.Size > 65507 && strings.HasPrefix(cfg.Target, "udp") {
				return usageErr("bench: -n, -c, --rate and --size must be positive (and --size at most 65507 over UDP)")
			}
			if cfg.Concurrency > 15000 {
				return usageErr("bench: -c %d is more connections than this process may open (open files are capped)", cfg.Concurrency)
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
			if csvFile != "" {
				f, err := os.Create(csvFile)
				if err != nil {
					return usageErr("bench: --csv: %v", err)
				}
				defer f.Close()
				cw := bench.NewCSVWriter(f)
				cfg.Record = cw.Record
				defer func() {
					if ferr := cw.Flush(); ferr != nil && err == nil {
						err = fmt.Errorf("bench: --csv: %w", ferr)
					}
				}()
			}
			if marked {
				asJSON = true
			}
			if !quiet && isTerminal(os.Stderr) && !asJSON {
				cfg.Progress = func(done, failed int64, el time.Duration) {
					fmt.Fprintf(a.stderr, "\r%d requests, %.0f/s, %d failed ", done, float64(done)/el.Seconds(), failed)
				}
			}
			res, err := bench.Run(a.ctx, cfg)
			if err != nil {
				return &exitError{code: exitUsage, err: fmt.Errorf("bench: %w", err)}
			}
			if cfg.Progress != nil {
				fmt.Fprintln(a.stderr)
			}
			if res.Idle != "" {
				fmt.Fprintf(a.stderr, "sockit bench: %s\n", res.Idle)
			}
			if htmlFile != "" {
				if err := writeFile(htmlFile, res.WriteHTML); err != nil {
					return err
				}
			}
			if omFile != "" {
				if err := writeFile(omFile, res.WriteOpenMetrics); err != nil {
					return err
				}
			}
			if marked {
				return res.WriteJSONMarked(a.stdout)
			}
			if asJSON {
				return res.WriteJSON(a.stdout)
			}
			return res.WriteText(a.stdout)
		},
	}
	f := cmd.Flags()
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
	f.StringVarP(&cfg.ContentType, "content-type", "T", "", "Content-Type of the -p body")
	durationVarP(f, &timeout, "timeout", "s", 30*time.Second, "time each request may take")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress line")
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
