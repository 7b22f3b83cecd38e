package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBriefBenchmarkVerbatim runs the brief's ab command line, with sockit
// in place of ab, against sockit serve's HTTP responder.
func TestBriefBenchmarkVerbatim(t *testing.T) {
	addrs, _ := startServe(t, "http=tcp://127.0.0.1:0", "echo=tcp://127.0.0.1:0")
	url := "http://" + strings.Replace(addrs["http tcp"], "127.0.0.1", "localhost", 1) + "/"
	r := sockitRun(t, "", "bench", "-c", "50", "-n", "1000", url)
	for _, want := range []string{"Server Software:        sockit", "Document Length:        393 bytes",
		"Concurrency Level:      50", "Complete requests:      1000", "Failed requests:        0",
		"Percentage of the requests served within a certain time (ms)", "100%"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("report lacks %q:\n%s", want, r.stdout)
		}
	}
	// Two JSON runs merge into one report of both.
	dir := t.TempDir()
	for _, name := range []string{"a.json", "b.json"} {
		r := sockitRun(t, "", "bench", "--json", "-k", "-c", "4", "-n", "500", "tcp://"+addrs["echo tcp"])
		if r.code != 0 {
			t.Fatalf("bench --json: %d %s", r.code, r.stderr)
		}
		os.WriteFile(filepath.Join(dir, name), []byte(r.stdout), 0o644)
	}
	r = sockitRun(t, "", "bench", "merge", filepath.Join(dir, "a.json"), filepath.Join(dir, "b.json"))
	if r.code != 0 || !strings.Contains(r.stdout, "Complete requests:      1000") {
		t.Errorf("merge: %d %s %s", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"bench"}, {"bench", "-n", "-5", "tcp://127.0.0.1:1"}, {"bench", "--proto", "nope", "tcp://127.0.0.1:1"},
		{"bench", "foo://x"}, {"bench", "merge", filepath.Join(dir, "nonexistent.json")}} {
		if r := sockitRun(t, "", args...); r.code != exitUsage {
			t.Errorf("%v: exit %d %q", args, r.code, r.stderr)
		}
	}
}
