package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/bench/report"
)

func (a *app) benchMergeCommand() *cobra.Command {
	var (
		asJSON, force bool
		htmlFile      string
	)
	cmd := &cobra.Command{
		Use:   "merge [--json] [--html FILE] REPORT...",
		Short: "Combine the --json reports of one run's shards (or of simultaneous runs) into one report",
		Long:  report.HelpMerge,
		Args:  minArgs("bench merge", 1, "no report given"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !force {
				if err := report.SameFiles(args); err != nil {
					return usageErr("bench merge: %w", err)
				}
			}
			rs, err := report.ReadFiles(a.stdin, args)
			if err != nil {
				return usageErr("bench merge: %w", err)
			}
			m, err := report.MergeRun(rs, report.MergeOptions{Force: force})
			if err != nil {
				return usageErr("bench merge: %w", err)
			}
			if htmlFile != "" {
				if err := report.WriteFile(htmlFile, func(w io.Writer) error { return report.WriteHTML(w, report.Named{Name: m.Target, Result: m}) }); err != nil {
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

// minArgs wants at least n arguments, saying why as a usage error.
func minArgs(name string, n int, why string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageErr("%s: %s", name, why)
		}
		return nil
	}
}

func (a *app) benchReportCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:     "report -o FILE.html REPORT...",
		Short:   "Write one HTML page overlaying the --json reports of several runs (before/after)",
		Long:    report.HelpReport,
		Example: `  sockit bench report before.json after.json -o cmp.html`,
		Args:    minArgs("bench report", 1, "no report given"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usageErr("bench report: -o FILE is required")
			}
			rs, err := report.ReadFiles(a.stdin, args)
			if err != nil {
				return usageErr("bench report: %w", err)
			}
			return report.WriteFile(out, func(w io.Writer) error { return report.WriteHTML(w, rs...) })
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "the HTML file to write")
	return cmd
}

func (a *app) benchCompareCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "compare A.json B.json",
		Short:   "Compare two runs metric by metric, noting differences within the reports' own noise",
		Long:    report.HelpCompare,
		Example: `  sockit bench compare before.json after.json`,
		Args:    exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var rs [2]report.Named
			for i, p := range args {
				r, err := report.ReadOne(a.stdin, p)
				if err != nil {
					return usageErr("bench compare: %w", err)
				}
				rs[i] = r
			}
			return report.WriteCompare(a.stdout, rs[0].Name, rs[1].Name, rs[0].Result, rs[1].Result)
		},
	}
}
