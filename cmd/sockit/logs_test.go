package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

// logServe runs this test binary as `sockit serve --log-format json ARGS`
// and returns it with its stderr, line by line.
func logServe(t *testing.T, args ...string) (*exec.Cmd, outLines) {
	t.Helper()
	return serveProc(t, append([]string{"--log-format", "json"}, args...)...)
}

// serveProc runs this test binary as `sockit serve ARGS`.
func serveProc(t *testing.T, args ...string) (*exec.Cmd, outLines) {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve"}, args...)...)
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
// chosen format (under text, as logfmt), then the error said as every
// command says its errors, "sockit serve: what".
func TestServeLogStartupError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := ln.Addr().String()
	r := sockitRun(t, "", "serve", "--log-format", "json", "echo=tcp://"+taken)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if r.code != exitFailure || len(lines) != 3 || lines[2] != "sockit serve: echo: listen on "+taken+" (tcp): address already in use" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	var stop logLine
	if err := json.Unmarshal([]byte(lines[1]), &stop); err != nil || stop.str("msg") != "stop" || stop.str("level") != "ERROR" ||
		stop["status"] != 1.0 || !strings.Contains(stop.str("err"), "address already in use") {
		t.Errorf("stop line %q: %v", lines[1], err)
	}
	r = sockitRun(t, "", "serve", "echo=tcp://"+taken)
	if r.code != exitFailure || !regexp.MustCompile(`(?m)^time=\S+ level=INFO msg=start version=\S+ engine=loop loops=\d+ pid=\d+\n`+
		`time=\S+ level=ERROR msg=stop status=1 err="echo: listen on `+regexp.QuoteMeta(taken)+` \(tcp\): address already in use"\n`+
		`sockit serve: echo: listen on `+regexp.QuoteMeta(taken)+` \(tcp\): address already in use\n$`).MatchString(r.stderr) {
		t.Errorf("text: exit %d, stderr %q", r.code, r.stderr)
	}
}

// collect reads lines, each of which must be JSON, until one satisfies
// done; it returns them all.
func (l outLines) collect(t *testing.T, done func(logLine) bool) []logLine {
	t.Helper()
	var all []logLine
	for {
		m := l.next(t)
		all = append(all, m)
		if done(m) {
			return all
		}
	}
}

func isDrop(reason string) func(logLine) bool {
	return func(m logLine) bool { return m.str("reason") == reason }
}

// promValue reads one sample of serve's /metrics.
func promValue(t *testing.T, metricsAddr, series string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

// TestServeLogDropsJSON drives each kind of drop at a real `sockit serve
// --log-format json` and reads its stderr: a connection refused by
// --max-conns, one closed by --idle-timeout, a burst of 1,000 datagrams
// the UDP budget mostly drops, and SIGTERM. Every line is JSON; the burst
// gives at most two lines (one at once, the rest at the stop), whose
// counts add up to the drops /metrics counted.
func TestServeLogDropsJSON(t *testing.T) {
	cmd, out := logServe(t, "--metrics", "127.0.0.1:0", "--max-conns", "1", "--idle-timeout", "1s",
		"echo=tcp://127.0.0.1:0", "qotd=udp://127.0.0.1:0")
	out.until(t, "start")
	metricsAddr := out.until(t, "metrics").str("addr")
	echoAddr := out.until(t, "listening").str("addr")
	qotdAddr := out.until(t, "listening").str("addr")

	refused := refuseOne(t, echoAddr)
	lines := out.collect(t, isDrop("max-conns"))
	r := lines[len(lines)-1]
	if r.str("level") != "WARN" || r.str("msg") != "connections refused" || r.str("service") != "echo" || r.str("network") != "tcp" ||
		r["count"] != 1.0 || r.str("source") != refused.LocalAddr().String() {
		t.Errorf("refusal line: %v", r)
	}
	lines = out.collect(t, isDrop("idle-timeout"))
	if r := lines[len(lines)-1]; r.str("msg") != "connections closed" || r.str("level") != "INFO" || r["count"] != 1.0 || r.str("source") != "127.0.0.1" {
		t.Errorf("idle close line: %v", r)
	}

	c := dialT(t, "udp", qotdAddr)
	for range 1000 {
		c.Write([]byte("?"))
	}
	dgramsIn := `sockit_datagrams_total{direction="in",network="udp",service="qotd"}`
	sockittest.Eventually(t, 10*time.Second, "1,000 datagrams received", func() bool { return promValue(t, metricsAddr, dgramsIn) == 1000 })
	drops := promValue(t, metricsAddr, `sockit_drops_total{network="udp",reason="source-budget",service="qotd"}`)
	if drops < 900 {
		t.Fatalf("the budget dropped %v replies of 1,000; want most", drops)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	lines = append(out.collect(t, func(m logLine) bool { return m.str("msg") == "stop" }), out.rest(t)...)
	var budget []logLine
	total := 0.0
	for _, l := range lines {
		if l.str("reason") == "source-budget" {
			budget = append(budget, l)
			total += l["count"].(float64)
			if l.str("msg") != "replies dropped" || l.str("source") != c.LocalAddr().String() {
				t.Errorf("budget line: %v", l)
			}
		}
	}
	t.Logf("%v of 1,000 replies dropped by the budget, in %d lines", drops, len(budget))
	if len(budget) == 0 || len(budget) > 2 || total != drops {
		t.Errorf("%d budget lines counting %v drops; want 1 or 2 counting %v: %v", len(budget), total, drops, budget)
	}
	if last := lines[len(lines)-1]; last.str("msg") != "stop" {
		t.Errorf("last line %v, want the stop line", last)
	}
}

// TestServeLogDropsText: the same refusal line in the default format is
// logfmt a person reads.
func TestServeLogDropsText(t *testing.T) {
	_, out := serveProc(t, "--max-conns", "1", "echo=tcp://127.0.0.1:0")
	addr := out.wait(t, regexp.MustCompile(`^time=\S+ level=INFO msg=listening service=echo network=tcp addr=(\S+)$`))[1]
	refused := refuseOne(t, addr)
	out.wait(t, regexp.MustCompile(`^time=\S+ level=WARN msg="connections refused" service=echo network=tcp reason=max-conns count=1 source=`+
		regexp.QuoteMeta(refused.LocalAddr().String())+`$`))
}

// refuseOne holds one echo connection open at addr (a serve with
// --max-conns 1) and returns a second, which the server has closed.
func refuseOne(t *testing.T, addr string) net.Conn {
	t.Helper()
	held := dialT(t, "tcp", addr)
	held.Write([]byte("x"))
	if _, err := io.ReadFull(held, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	refused := dialT(t, "tcp", addr)
	refused.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := refused.Read(make([]byte, 1)); n != 0 || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a connection past --max-conns 1 was not closed: %v", err)
	}
	return refused
}

// dialT connects to addr; the connection closes when the test ends.
func dialT(t *testing.T, network, addr string) net.Conn {
	t.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestServeAccessLogReopen: `serve --access-log FILE` writes a combined
// line per response to FILE (at least every second); after logrotate's
// move and SIGUSR1 the lines go to a new FILE; at SIGTERM what is
// buffered is written out before serve exits.
func TestServeAccessLogReopen(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "access.log")
	cmd, out := logServe(t, "--access-log", file, "http=tcp://127.0.0.1:0")
	addr := out.until(t, "listening", "start").str("addr")
	get := func(path, agent string) {
		t.Helper()
		c := dialT(t, "tcp", addr)
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: x\r\nUser-Agent: %s\r\nConnection: close\r\n\r\n", path, agent)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
	}
	lineRE := func(path, agent string, status int) *regexp.Regexp {
		return regexp.MustCompile(`^127\.0\.0\.1 - - \[[^]]+\] "GET ` + regexp.QuoteMeta(path) + ` HTTP/1\.1" ` + strconv.Itoa(status) + ` \d+ "-" "` + regexp.QuoteMeta(agent) + `"$`)
	}
	fileLines := func(name string) []string {
		b, _ := os.ReadFile(name)
		return strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	}
	get("/", "before/1")
	get("/missing", "before/2")
	sockittest.Eventually(t, 5*time.Second, "two lines in the access log", func() bool { return len(fileLines(file)) == 2 })
	if l := fileLines(file); !lineRE("/", "before/1", 200).MatchString(l[0]) || !lineRE("/missing", "before/2", 404).MatchString(l[1]) {
		t.Errorf("access log %q", l)
	}
	rotated := file + ".1"
	if err := os.Rename(file, rotated); err != nil {
		t.Fatal(err)
	}
	cmd.Process.Signal(syscall.SIGUSR1)
	out.until(t, "access log reopened")
	get("/", "after/1")
	cmd.Process.Signal(syscall.SIGTERM)
	out.until(t, "stop", "draining")
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if l := fileLines(file); len(l) != 1 || !lineRE("/", "after/1", 200).MatchString(l[0]) {
		t.Errorf("new access log %q", l)
	}
	if l := fileLines(rotated); len(l) != 2 {
		t.Errorf("rotated access log %q", l)
	}
}

// TestServeUSR1WithoutAccessLog: logrotate's SIGUSR1 to a serve with no
// access log is logged and does not end it (nginx treats USR1 the same
// whatever it logs).
func TestServeUSR1WithoutAccessLog(t *testing.T) {
	cmd, out := logServe(t, "echo=tcp://127.0.0.1:0")
	addr := out.until(t, "listening", "start").str("addr")
	cmd.Process.Signal(syscall.SIGUSR1)
	out.until(t, "SIGUSR1: no access log to reopen")
	c := dialT(t, "tcp", addr)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprint(c, "still here")
	buf := make([]byte, len("still here"))
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "still here" {
		t.Fatalf("echo after SIGUSR1: %q, %v", buf, err)
	}
	c.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	out.until(t, "stop", "draining")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("serve after SIGUSR1 and SIGTERM: %v", err)
	}
}

// TestServeAccessLogNeedsHTTP: --access-log without http served is a
// usage error, as access_log is in a file.
func TestServeAccessLogNeedsHTTP(t *testing.T) {
	if r := sockitRun(t, "", "serve", "--access-log", "-", "echo=tcp://127.0.0.1:0"); r.code != exitUsage || !strings.Contains(r.stderr, "--access-log is for http") {
		t.Errorf("serve --access-log without http: %+v", r)
	}
	file := filepath.Join(t.TempDir(), "a.toml")
	os.WriteFile(file, []byte("access_log = \"/tmp/x.log\"\n[services]\necho = [\"tcp://127.0.0.1:0\"]\n"), 0o644)
	if r := sockitRun(t, "", "serve", "--check-config", file); r.code != 1 || !strings.Contains(r.stderr, ":1:1: access_log: set, but http is not served") {
		t.Errorf("access_log without http: %+v", r)
	}
}

// TestServeLogJournal: with stderr the stream JOURNAL_STREAM names (as
// systemd sets it), text lines carry no time=, since journald stamps each
// line; JSON lines keep theirs.
func TestServeLogJournal(t *testing.T) {
	for _, format := range []string{"text", "json"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(int(r.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "serve", "--log-format", format, "echo=tcp://127.0.0.1:0")
		cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1", fmt.Sprintf("JOURNAL_STREAM=%d:%d", st.Dev, st.Ino))
		cmd.Stderr = w
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		w.Close()
		out := readLines(r)
		want := regexp.MustCompile(`^level=INFO msg=listening service=echo network=tcp addr=\S+$`)
		if format == "json" {
			want = regexp.MustCompile(`^\{"time":"[^"]+","level":"INFO","msg":"listening"`)
		}
		out.wait(t, want)
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		r.Close()
	}
}

// TestServeStderrStalled: with stderr a pipe nobody reads any more (full,
// as with a stuck journald), serve keeps serving, and SIGTERM ends it
// within --grace and the 2s its log gets for its last lines: no log line
// makes an event loop, the drain or the exit wait.
func TestServeStderrStalled(t *testing.T) {
	r, w, size := smallPipe(t)
	cmd := exec.Command(os.Args[0], "serve", "--log-format", "json", "--grace", "1s", "--max-conns", "1", "echo=tcp://127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
	cmd.Stderr = w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() { cmd.Process.Kill(); <-exited }()
	br := bufio.NewReader(r)
	var addr string
	for addr == "" {
		s, err := br.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		var m logLine
		json.Unmarshal([]byte(s), &m)
		if m.str("msg") == "listening" {
			addr = m.str("addr")
		}
	}
	// From here on nobody reads r; fill the pipe from this side.
	filled := make(chan struct{})
	go func() {
		defer close(filled)
		for {
			if _, err := w.Write(make([]byte, 512)); err != nil {
				return // r closed
			}
		}
	}()
	defer func() { r.Close(); <-filled }()
	sockittest.Eventually(t, 10*time.Second, "stderr's pipe full", func() bool {
		n, err := inputPending(int(r.Fd()))
		return err == nil && n >= size
	})
	// An echo connection is served, and one past --max-conns refused: a
	// drop line serve cannot write. The echo connection is still open at
	// SIGTERM, so the drain takes the whole --grace.
	refuseOne(t, addr)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
		if waitErr != nil {
			t.Errorf("serve after SIGTERM with stderr full: %v", waitErr)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not exit within 15s of SIGTERM with its stderr full (--grace 1s)")
	}
}

// TestServeAccessLogStalledReopen: with `--access-log -` and standard
// output a pipe nobody reads (full), a SIGUSR1 (logrotate) while a line
// waits to be written does not hang serve: SIGTERM still ends it, with
// status 0, a line saying the access log's last lines are lost, and the
// stop line.
func TestServeAccessLogStalledReopen(t *testing.T) {
	_, w, size := smallPipe(t)
	if _, err := w.Write(make([]byte, size)); err != nil { // full before serve starts
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "serve", "--log-format", "json", "--access-log", "-", "http=tcp://127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
	cmd.Stdout = w
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var waitErr error
	exited := make(chan struct{})
	out := readLines(stderr)
	go func() { waitErr = cmd.Wait(); close(exited) }()
	defer func() { cmd.Process.Kill(); <-exited }()
	addr := out.until(t, "listening", "start").str("addr")
	c := dialT(t, "tcp", addr)
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	io.Copy(io.Discard, c) // the response is sent, its line buffered
	cmd.Process.Signal(syscall.SIGUSR1)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not exit within 15s of SIGTERM after a SIGUSR1 with its access log stalled")
	}
	if waitErr != nil {
		t.Errorf("serve: %v", waitErr)
	}
	lines := out.rest(t)
	if len(lines) == 0 || lines[len(lines)-1].str("msg") != "stop" || lines[len(lines)-1]["status"] != 0.0 {
		t.Fatalf("lines after listening: %v; want the stop line last, status 0", lines)
	}
	if l := lines[len(lines)-2]; l.str("msg") != "access log not closed; its last lines are lost" {
		t.Errorf("line before the stop line: %v", l)
	}
}
