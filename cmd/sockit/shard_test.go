package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/bench/report"
)

// countingEcho is a TCP echo server on loopback that counts the
// connections it accepted.
type countingEcho struct {
	ln    net.Listener
	conns atomic.Int64
	wg    sync.WaitGroup
}

func startCountingEcho(t *testing.T) *countingEcho {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &countingEcho{ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); s.wg.Wait() })
	return s
}

// sockitProc runs the test binary as sockit in a process of its own.
func sockitProc(t *testing.T, env []string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "SOCKIT_BE_MAIN=1"), env...)
	var o, e strings.Builder
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// TestShardsMergeExactly runs one load as one process and as three shard
// processes at once against the same loopback server: the shards together
// open exactly -c connections and complete exactly -n requests with the
// same bytes, and the merged report's percentiles are those of one HDR
// histogram fed every request's latency (from the shards' --csv rows).
func TestShardsMergeExactly(t *testing.T) {
	const n, c, shards = 1000, 5, 3
	srv := startCountingEcho(t)
	target := "tcp://" + srv.ln.Addr().String()
	dir := t.TempDir()
	load := []string{"bench", "--json", "-k", "-n", fmt.Sprint(n), "-c", fmt.Sprint(c), "--size", "100", target}

	one := sockitRun(t, "", load...)
	if one.code != 0 {
		t.Fatalf("one process: %d %s", one.code, one.stderr)
	}
	whole, err := report.FromJSON([]byte(one.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if got := srv.conns.Swap(0); got != c {
		t.Fatalf("one process opened %d connections, want %d", got, c)
	}

	var (
		wg    sync.WaitGroup
		files = make([]string, shards)
		csvs  = make([]string, shards)
		errs  = make([]error, shards)
	)
	for i := range shards {
		files[i] = filepath.Join(dir, fmt.Sprintf("shard%d.json", i+1))
		csvs[i] = filepath.Join(dir, fmt.Sprintf("shard%d.csv", i+1))
		wg.Add(1)
		go func() {
			defer wg.Done()
			args := append([]string{"bench", "--shard", fmt.Sprintf("%d/%d", i+1, shards), "--run-id", "t1", "--csv", csvs[i]}, load[1:]...)
			out, stderr, err := sockitProc(t, nil, args...)
			if err == nil {
				err = os.WriteFile(files[i], []byte(out), 0o644)
			} else {
				err = fmt.Errorf("%v: %s", err, stderr)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := srv.conns.Load(); got != c {
		t.Errorf("the shards opened %d connections, want exactly %d", got, c)
	}
	for i, want := range []int64{334, 333, 333} {
		b, _ := os.ReadFile(files[i])
		r, err := report.FromJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		if r.Requests != want || r.Shard != (bench.Shard{Index: i + 1, Count: shards}) || r.RunID != "t1" || r.OptionsHash == "" {
			t.Errorf("shard %d: %d requests, shard %v, run %q, hash %q; want %d requests", i+1, r.Requests, r.Shard, r.RunID, r.OptionsHash, want)
		}
	}

	m := sockitRun(t, "", append([]string{"bench", "merge", "--json"}, files...)...)
	if m.code != 0 {
		t.Fatalf("merge: %d %s", m.code, m.stderr)
	}
	merged, err := report.FromJSON([]byte(m.stdout))
	if err != nil {
		t.Fatal(err)
	}
	if merged.Requests != whole.Requests || merged.Failed() != 0 || whole.Failed() != 0 ||
		merged.BytesSent != whole.BytesSent || merged.BytesReceived != whole.BytesReceived ||
		merged.Concurrency != whole.Concurrency || merged.KeepAlive != whole.KeepAlive {
		t.Errorf("merged shards: %d requests (%d failed), %d/%d bytes, -c %d, %d kept alive; one process: %d (%d failed), %d/%d bytes, -c %d, %d kept alive",
			merged.Requests, merged.Failed(), merged.BytesSent, merged.BytesReceived, merged.Concurrency, merged.KeepAlive,
			whole.Requests, whole.Failed(), whole.BytesSent, whole.BytesReceived, whole.Concurrency, whole.KeepAlive)
	}
	var perSec int64
	for _, v := range merged.PerSecond {
		perSec += v
	}
	var secSamples int64
	for _, s := range merged.Seconds {
		secSamples += s.Latency.TotalCount()
	}
	if perSec != n || secSamples != n {
		t.Errorf("merged per-second series hold %d requests and %d latencies, want %d", perSec, secSamples, n)
	}

	// One histogram fed every sample, from the shards' CSV rows.
	all := hdr.New(1, int64(time.Hour/time.Microsecond), 3)
	rows := 0
	for _, p := range csvs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			fields := strings.Split(sc.Text(), ",")
			us, err := strconv.ParseInt(fields[1], 10, 64)
			if err != nil || len(fields) != 6 {
				t.Fatalf("%s: bad row %q", p, sc.Text())
			}
			all.RecordValue(us)
			rows++
		}
		f.Close()
	}
	if rows != n {
		t.Fatalf("the shards' CSV files hold %d rows, want %d", rows, n)
	}
	for _, q := range []float64{0, 10, 50, 75, 90, 99, 99.9, 99.99, 100} {
		if got, want := merged.Latency.ValueAtQuantile(q), all.ValueAtQuantile(q); got != want {
			t.Errorf("p%g: merged %d µs, one histogram of every sample %d µs", q, got, want)
		}
	}

	// Refusals name the files.
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{files[:2], "shard 3/3 missing"},
		{[]string{files[0], files[1], files[1], files[2]}, files[1] + " is given twice"},
	} {
		r := sockitRun(t, "", append([]string{"bench", "merge"}, tc.files...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("merge %v: exit %d, %q; want a usage error with %q", tc.files, r.code, r.stderr, tc.want)
		}
	}
}

// TestShardIdleAndEnv: -c 2 over 3 shards is 1+1+0, the idle shard says
// so, and an Indexed Job's environment selects the shard.
func TestShardIdleAndEnv(t *testing.T) {
	srv := startCountingEcho(t)
	target := "tcp://" + srv.ln.Addr().String()
	var total int64
	for idx := range 3 {
		out, stderr, err := sockitProc(t, []string{"JOB_COMPLETION_INDEX=" + fmt.Sprint(idx), "SOCKIT_SHARDS=3", "SOCKIT_RUN_ID=job-x"},
			"bench", "--json", "-k", "-n", "100", "-c", "2", target)
		if err != nil {
			t.Fatalf("index %d: %v %s", idx, err, stderr)
		}
		r, err := report.FromJSON([]byte(out))
		if err != nil {
			t.Fatal(err)
		}
		if r.Shard != (bench.Shard{Index: idx + 1, Count: 3}) || r.RunID != "job-x" {
			t.Errorf("index %d: shard %v run %q", idx, r.Shard, r.RunID)
		}
		total += r.Requests
		idle := strings.Contains(stderr, "shard 3/3 is idle")
		if (idx == 2) != idle || (idx == 2) != (r.Idle != "") {
			t.Errorf("index %d: idle report %q, stderr %q", idx, r.Idle, stderr)
		}
	}
	if total != 100 || srv.conns.Load() != 2 {
		t.Errorf("3 shards of -n 100 -c 2: %d requests over %d connections", total, srv.conns.Load())
	}
	// An idle shard refuses what the busy ones refuse.
	for _, shard := range []string{"1/3", "3/3"} {
		if r := sockitRun(t, "", "bench", "--shard", shard, "-c", "2", "-n", "10", "--engine", "loop", "udp://127.0.0.1:1"); r.code != exitUsage {
			t.Errorf("shard %s of a load the loop engine cannot run: exit %d %q", shard, r.code, r.stderr)
		}
	}
	for _, env := range [][]string{{"JOB_COMPLETION_INDEX=0"}, {"SOCKIT_SHARDS=2"}, {"JOB_COMPLETION_INDEX=2", "SOCKIT_SHARDS=2"}} {
		_, stderr, err := sockitProc(t, env, "bench", "-n", "1", target)
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitUsage {
			t.Errorf("%v: %v %s; want a usage error", env, err, stderr)
		}
	}
}
