package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchExports: --csv has one row per request with its status or
// error kind and bytes, --openmetrics a summary that ends as OpenMetrics
// must, and compare lines up two runs' metrics.
func TestBenchExports(t *testing.T) {
	addrs, _ := startServe(t, "http=tcp://127.0.0.1:0")
	dir := t.TempDir()
	csv, om := filepath.Join(dir, "r.csv"), filepath.Join(dir, "r.om")
	var reports []string
	for i, path := range []string{"/", "/missing"} {
		r := sockitRun(t, "", "bench", "-k", "-c", "3", "-n", "200", "--json", "--csv", csv, "--openmetrics", om,
			"http://"+addrs["http tcp"]+path)
		if r.code != 0 {
			t.Fatalf("bench: %d %s", r.code, r.stderr)
		}
		reports = append(reports, filepath.Join(dir, []string{"a.json", "b.json"}[i]))
		os.WriteFile(reports[i], []byte(r.stdout), 0o644)
		b, err := os.ReadFile(csv)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(lines) != 201 || lines[0] != "start_unix_us,latency_us,status,error,bytes_sent,bytes_received" {
			t.Fatalf("%s: %d lines, header %q", path, len(lines), lines[0])
		}
		want := []string{",200,,", ",404,,"}[i] // a 404 is a success, counted as non-2xx (ab's accounting)
		for _, l := range lines[1:] {
			f := strings.Split(l, ",")
			if len(f) != 6 || !strings.Contains(l, want) || f[4] == "0" || f[5] == "0" {
				t.Fatalf("%s: row %q, want %q and bytes both ways", path, l, want)
			}
		}
		m, err := os.ReadFile(om)
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range []string{"# TYPE sockit_bench_requests counter\n", "sockit_bench_requests_total 200.0\n",
			`sockit_bench_latency_seconds{quantile="0.99"}`, "sockit_bench_latency_seconds_count 200\n"} {
			if !strings.Contains(string(m), w) {
				t.Errorf("%s: OpenMetrics lacks %q:\n%s", path, w, m)
			}
		}
		if !strings.HasSuffix(string(m), "# EOF\n") {
			t.Errorf("OpenMetrics does not end with # EOF")
		}
	}
	r := sockitRun(t, "", "bench", "compare", reports[0], reports[1])
	if r.code != 0 {
		t.Fatalf("compare: %d %s", r.code, r.stderr)
	}
	for _, w := range []string{"requests", "same", "failed", "0.00%", "latency p99", "within noise\": the two runs' 95% intervals"} {
		if !strings.Contains(r.stdout, w) {
			t.Errorf("compare lacks %q:\n%s", w, r.stdout)
		}
	}
	if r := sockitRun(t, "", "bench", "compare", reports[0]); r.code != exitUsage {
		t.Errorf("compare with one report: exit %d", r.code)
	}
	if r := sockitRun(t, "", "bench", "report", reports[0]); r.code != exitUsage || !strings.Contains(r.stderr, "-o") {
		t.Errorf("report without -o: exit %d %q", r.code, r.stderr)
	}
}
