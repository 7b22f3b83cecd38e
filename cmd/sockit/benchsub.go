package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/bench/report"
)

func (a *app) benchMergeCommand() *cobra.Command {
	var (
		asJSON   bool
		htmlFile string
		force    bool
	)
	cmd := &cobra.Command{
		Use:   "merge [--json] [--html FILE] REPORT...",
		Short: "Combine the --json reports of one run's shards (or of simultaneous runs) into one report",
		Long: `merge adds up --json reports exactly: counts, HDR histograms (percentiles come
from the merged histogram, never averaged) and per-second series. The reports of a
sharded run (--shard, or an Indexed Job) must all be there, once each, with the same
run id and load, and so must reports of runs made side by side by hand (the
same options hash); a report given twice (the same file, or two copies of one
run) is refused too. merge names the reports that disagree; --force merges them
anyway, for whoever means it. A REPORT may also be a log
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
			if !force {
				if err := sameFiles(args); err != nil {
					return err
				}
			}
			rs, err := a.readReports("bench merge", args)
			if err != nil {
				return err
			}
			m, err := report.MergeRun(rs, report.MergeOptions{Force: force})
			if err != nil {
				return usageErr("bench merge: %w", err)
			}
			if htmlFile != "" {
				if err := writeFile(htmlFile, func(w io.Writer) error { return report.WriteHTML(w, report.Named{Name: m.Target, Result: m}) }); err != nil {
					return err
				}
			}
			if asJSON {
				return report.WriteJSON(a.stdout, m)
			}
			if err := report.WriteText(a.stdout, m, report.TextOptions{}); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "\nPer second (shards aligned on their start times)\n")
			return report.WriteSeries(a.stdout, m)
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "merge reports of different loads or runs, or one report twice")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the merged report as JSON")
	cmd.Flags().StringVar(&htmlFile, "html", "", "also write the merged HTML report to FILE")
	return cmd
}

// sameFiles refuses a file given twice (by two names too): its counts
// would be added twice.
func sameFiles(paths []string) error {
	type file struct {
		path string
		fi   os.FileInfo
	}
	var seen []file
	for _, p := range paths {
		fi, err := os.Stat(p)
		if p == "-" || err != nil {
			continue // stdin, or a file readReports will say it cannot read
		}
		for _, f := range seen {
			switch {
			case os.SameFile(f.fi, fi) && f.path == p:
				return usageErr("bench merge: %s is given twice: its counts would be added twice (--force merges anyway)", p)
			case os.SameFile(f.fi, fi):
				return usageErr("bench merge: %s and %s are the same file: its counts would be added twice (--force merges anyway)", f.path, p)
			}
		}
		seen = append(seen, file{p, fi})
	}
	return nil
}

// readReports reads the reports in files (- is stdin): JSON reports, or
// logs holding reports between markers.
func (a *app) readReports(cmdName string, files []string) ([]report.Named, error) {
	var rs []report.Named
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
			return nil, usageErr("%s: %w", cmdName, err)
		}
		got, err := report.ReadReports(p, b)
		if err != nil {
			return nil, usageErr("%s: %w", cmdName, err)
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
			return writeFile(out, func(w io.Writer) error { return report.WriteHTML(w, rs...) })
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
			var rs []report.Named
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
			return report.WriteCompare(a.stdout, rs[0].Name, rs[1].Name, rs[0].Result, rs[1].Result)
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

// verboseSink is ab's -v for bench: at 2 a warning per non-2xx response,
// at 3 every response's status, on stderr (ab writes them to stdout, into
// the report a parser reads; sockit keeps stdout ab's report alone).
func verboseSink(a *app, level int) func(bench.Record) {
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
