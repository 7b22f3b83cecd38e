package main

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sockit/sockit/bench/report"
)

// jobSpec is what TestBenchJobLocally reads from the Job manifest: the
// container's args (written as a flow sequence of quoted strings, which is
// JSON) and the counts. The deploy module checks the manifest against
// k8s.io/api; this reads it with the standard library alone.
type jobSpec struct {
	args                             []string
	completions, parallelism, shards int
}

func readJob(t *testing.T, path string) jobSpec {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	var j jobSpec
	m := regexp.MustCompile(`(?m)^\s+args: (\[.*\])\s*$`).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("%s: no one-line args: [...]", path)
	}
	if err := json.Unmarshal([]byte(m[1]), &j.args); err != nil {
		t.Fatalf("%s: args: %v", path, err)
	}
	num := func(re string) int {
		m := regexp.MustCompile(re).FindStringSubmatch(text)
		if m == nil {
			t.Fatalf("%s: no %s", path, re)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	j.completions = num(`(?m)^\s+completions: (\d+)\s*$`)
	j.parallelism = num(`(?m)^\s+parallelism: (\d+)\s*$`)
	j.shards = num(`(?m)name: SOCKIT_SHARDS\n\s+value: "(\d+)"`)
	return j
}

// TestBenchJobLocally runs the Kubernetes Job's command line as its pods
// would, N processes with JOB_COMPLETION_INDEX 0..N-1, SOCKIT_SHARDS and
// SOCKIT_RUN_ID set, against a loopback server, then pipes their output,
// prefixed as `kubectl logs --prefix` writes it, to `sockit bench merge -`.
// Only the target and the run's length change (-d and --rate given again
// after the Job's own, so they win).
func TestBenchJobLocally(t *testing.T) {
	j := readJob(t, "../../deploy/kubernetes/bench-job.yaml")
	if j.completions != j.parallelism || j.shards != j.completions || j.completions < 2 {
		t.Fatalf("Job: completions %d, parallelism %d, SOCKIT_SHARDS %d; want all equal, N >= 2", j.completions, j.parallelism, j.shards)
	}
	if j.args[0] != "bench" || !strings.HasPrefix(j.args[len(j.args)-1], "http://") {
		t.Fatalf("Job args %q: want bench ... URL", j.args)
	}
	c := -1
	for i, a := range j.args {
		if a == "-c" {
			c, _ = strconv.Atoi(j.args[i+1])
		}
	}
	addrs, _ := startServe(t, "http=tcp://127.0.0.1:0")
	args := append(append([]string{}, j.args[:len(j.args)-1]...), "-d", "1s", "--rate", "300", "--warmup", "0s", "http://"+addrs["http tcp"]+"/")

	outs := make([]string, j.completions)
	errs := make([]error, j.completions)
	var wg sync.WaitGroup
	for i := range j.completions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			env := []string{"JOB_COMPLETION_INDEX=" + strconv.Itoa(i), "SOCKIT_SHARDS=" + strconv.Itoa(j.shards), "SOCKIT_RUN_ID=sockit-bench-0b1c"}
			out, stderr, err := sockitProc(t, env, args...)
			if err != nil {
				err = fmt.Errorf("pod %d: %v: %s", i, err, stderr)
			}
			outs[i], errs[i] = out, err
		}()
	}
	wg.Wait()
	var logs strings.Builder
	for i, out := range outs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		for _, line := range strings.SplitAfter(out, "\n") {
			if line != "" {
				fmt.Fprintf(&logs, "[pod/sockit-bench-%d-x%d/bench] %s", i, i, line)
			}
		}
	}
	r := sockitRun(t, logs.String(), "bench", "merge", "--json", "-")
	if r.code != 0 {
		t.Fatalf("merge: %d %s\n%s", r.code, r.stderr, logs.String())
	}
	m, err := report.FromJSON([]byte(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if m.Concurrency != c || m.RunID != "sockit-bench-0b1c" || m.Requests < 100 || m.Failed() != 0 {
		t.Errorf("merged Job: -c %d (want %d), run %q, %d requests, %d failed", m.Concurrency, c, m.RunID, m.Requests, m.Failed())
	}
	// A pod's log missing is named.
	cut := strings.Join(strings.SplitAfter(logs.String(), "\n")[:strings.Count(outs[0], "\n")], "")
	if r := sockitRun(t, cut, "bench", "merge", "-"); r.code != exitUsage || !strings.Contains(r.stderr, "missing") {
		t.Errorf("merge of one pod's log: exit %d %q", r.code, r.stderr)
	}
}
