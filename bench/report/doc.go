// Package report renders a bench.Result: ab's text report line for line
// (WriteText) and sockit's lines beside it (WriteExtras), ab's HTML table
// output (-w, WriteABHTML), the --json report that merges exactly
// (WriteJSON, FromJSON, ReadReports, MergeRun), a self-contained HTML page
// with charts (WriteHTML), one CSV row or gnuplot line per request
// (CSVWriter, GnuplotWriter), ab's percentile file (WritePercentiles), an
// OpenMetrics summary (WriteOpenMetrics), the per-second table
// (WriteSeries) and the comparison of two runs (Compare, WriteCompare).
//
// Every writer reads one Result and nothing else, so a new format is one
// more function here; Prometheus is imported by this package only, never
// by the engine (deps_test.go checks it), as vegeta keeps its Prometheus
// exporter in lib/prom beside lib.
package report
