package main

import (
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// logServe runs this test binary as `sockit serve --log-format json ARGS`
// and returns it with its stderr, line by line.
func logServe(t *testing.T, args ...string) (*exec.Cmd, outLines) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--log-format", "json"}, args...)...)
	cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, readLines(stderr)
}

// logLine is one JSON log line, decoded.
type logLine map[string]any

func (l logLine) str(k string) string { s, _ := l[k].(string); return s }

// next returns the next line, which must be one JSON object with time,
// level and msg.
func (l outLines) next(t *testing.T) logLine {
	t.Helper()
	select {
	case s, ok := <-l:
		if !ok {
			t.Fatal("stderr ended")
		}
		var m logLine
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			t.Fatalf("stderr line is not JSON: %q: %v", s, err)
		}
		if m.str("time") == "" || m.str("level") == "" || m.str("msg") == "" {
			t.Fatalf("line lacks time, level or msg: %q", s)
		}
		return m
	case <-time.After(15 * time.Second):
		t.Fatal("no line on stderr")
	}
	return nil
}

// until returns the next line whose msg is msg; every line before it must
// be JSON too, and have a msg among skip.
func (l outLines) until(t *testing.T, msg string, skip ...string) logLine {
	t.Helper()
	for {
		m := l.next(t)
		if m.str("msg") == msg {
			return m
		}
		ok := false
		for _, s := range skip {
			ok = ok || m.str("msg") == s
		}
		if !ok {
			t.Fatalf("unexpected line before %q: %v", msg, m)
		}
	}
}

// rest reads every line left until stderr ends; each must be JSON.
func (l outLines) rest(t *testing.T) []logLine {
	t.Helper()
	var all []logLine
	for {
		select {
		case s, ok := <-l:
			if !ok {
				return all
			}
			var m logLine
			if err := json.Unmarshal([]byte(s), &m); err != nil {
				t.Fatalf("stderr line is not JSON: %q: %v", s, err)
			}
			all = append(all, m)
		case <-time.After(15 * time.Second):
			t.Fatal("stderr did not end")
		}
	}
}

var goDuration = regexp.MustCompile(`^([0-9.]+(ns|µs|ms|s|m|h))+$`)

// TestServeLogLifecycleJSON: under --log-format json every line serve
// writes is one JSON object: the start line, each listener, the metrics
// listener, the drain on SIGTERM and the stop line, durations as "1.5s".
func TestServeLogLifecycleJSON(t *testing.T) {
	cmd, out := logServe(t, "--metrics", "127.0.0.1:0", "--loops", "2", "--grace", "1500ms",
		"echo=tcp://127.0.0.1:0", "echo=udp://127.0.0.1:0")
	start := out.next(t)
	if start.str("msg") != "start" || start.str("level") != "INFO" || start.str("engine") != "loop" ||
		start["loops"] != 2.0 || start["pid"] != float64(cmd.Process.Pid) || start.str("version") == "" {
		t.Errorf("start line: %v", start)
	}
	if m := out.until(t, "metrics"); m.str("addr") == "" || m.str("url") != "http://"+m.str("addr")+"/metrics" {
		t.Errorf("metrics line: %v", m)
	}
	for _, nw := range []string{"tcp", "udp"} {
		m := out.until(t, "listening")
		if m.str("service") != "echo" || m.str("network") != nw || m.str("addr") == "" {
			t.Errorf("listening line: %v", m)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	drain := out.until(t, "draining")
	if drain.str("cause") != "terminated signal received" || drain["connections"] != 0.0 || drain.str("grace") != "1.5s" {
		t.Errorf("draining line: %v", drain)
	}
	stop := out.until(t, "stop")
	if stop["status"] != 0.0 || !goDuration.MatchString(stop.str("drain")) {
		t.Errorf("stop line: %v", stop)
	}
	if rest := out.rest(t); len(rest) != 0 {
		t.Errorf("lines after the stop line: %v", rest)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
}

// TestServeLogStartupError: a listener that cannot be opened ends serve
// with exit 1 and one stop line at level ERROR naming the error, in the
// chosen format; under text, as logfmt.
func TestServeLogStartupError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	r := sockitRun(t, "", "serve", "--log-format", "json", "echo=tcp://"+taken)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if r.code != exitFailure || len(lines) != 2 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var stop logLine
	if err := json.Unmarshal([]byte(lines[1]), &stop); err != nil || stop.str("msg") != "stop" || stop.str("level") != "ERROR" ||
		stop["status"] != 1.0 || !strings.Contains(stop.str("err"), "address already in use") {
		t.Errorf("stop line %q: %v", lines[1], err)
	}
	r = sockitRun(t, "", "serve", "echo=tcp://"+taken)
	if r.code != exitFailure || !regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=start version=\S+ engine=loop loops=\d+ pid=\d+\n`+
		`time=\S+ level=ERROR msg=stop status=1 err="echo: listen tcp `+regexp.QuoteMeta(taken)+`: bind: address already in use"\n$`).MatchString(r.stderr) {
		t.Errorf("text: exit %d, stderr %q", r.code, r.stderr)
	}
}
