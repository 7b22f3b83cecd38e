package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

// abShape blanks the figures of an ab-style report, keeping its layout;
// ab's notes on noisy figures (which come and go with the noise) go too.
func abShape(s string) string {
	s = regexp.MustCompile(`(?m)^(WARNING|ERROR): The median and mean for .*\n.*\n`).ReplaceAllString(s, "")
	// Figures differ in width from run to run: the padding before one
	// goes too (abFieldWidths checks the tables' widths).
	return regexp.MustCompile(` *[0-9]+(\.[0-9]+)?`).ReplaceAllString(s, " N")
}

// abTableRow and abPercentRow are ab's fixed-width table lines: a 12-column
// label then %5 %4 %5.1f %6 %7, and "  %d%%  %5".
var (
	abTableRow   = regexp.MustCompile(`^(Connect: {4}|Processing: |Waiting: {4}|Total: {6})[ \d]{5} [ \d]{4} [ \d.]{5} [ \d]{6} [ \d]{7}$`)
	abNoConfRow  = regexp.MustCompile(`(?m)^(Connect: {4}|Processing: |Waiting: {4}|Total: {6})[ \d]{5} [ \d]{5}[ \d]{5}$`) // -S: %5 %5%5
	abPercentRow = regexp.MustCompile(`^(  \d\d%  [ \d]{5}| 100%  [ \d]{5} \(longest request\))$`)
)

// abFieldWidths checks that the report's tables have ab's column widths.
func abFieldWidths(t *testing.T, report string) {
	t.Helper()
	rows, pcts := 0, 0
	for _, l := range strings.Split(report, "\n") {
		switch {
		case abTableRow.MatchString(l):
			rows++
		case abPercentRow.MatchString(l):
			pcts++
		}
	}
	if rows != 4 || pcts != 9 {
		t.Errorf("%d table rows and %d percentile rows in ab's widths, want 4 and 9:\n%s", rows, pcts, report)
	}
}

// abReport runs the real ab and returns its report without its banner.
func abReport(t *testing.T, args ...string) string {
	t.Helper()
	ab := sockittest.RequireTool(t, "ab")
	out, err := exec.Command(ab, args...).Output()
	if err != nil {
		t.Fatalf("ab %v: %v", args, err)
	}
	_, rep, ok := strings.Cut(string(out), "(be patient)")
	if !ok {
		t.Fatalf("ab printed no report: %s", out)
	}
	_, rep, _ = strings.Cut(rep, "\n\n\n")
	return rep
}

// 200 × 404: ab's accounting (0 failed, the 404 page's length as Document
// Length, a Non-2xx line) and ab's layout exactly, on both engines.
func TestBenchNon2xxMatchesAb(t *testing.T) {
	addrs, _ := startServe(t, "http=tcp://127.0.0.1:0")
	url := "http://" + addrs["http tcp"] + "/nope"
	want := abReport(t, "-n", "200", "-c", "4", url)
	if !strings.Contains(want, "Non-2xx responses:      200") {
		t.Fatalf("ab's report has no Non-2xx line:\n%s", want)
	}
	for _, engine := range []string{"goroutine", "loop"} {
		r := sockitRun(t, "", "bench", "--engine", engine, "-n", "200", "-c", "4", url)
		if r.code != 0 {
			t.Fatalf("%s: exit %d %s", engine, r.code, r.stderr)
		}
		for _, line := range []string{"Failed requests:        0\n", "Non-2xx responses:      200\n", "Complete requests:      200\n"} {
			if !strings.Contains(r.stdout, line) {
				t.Errorf("%s: report lacks %q:\n%s", engine, line, r.stdout)
			}
		}
		if got, wantLen := docLength(r.stdout), docLength(want); got != wantLen || got == "0" {
			t.Errorf("%s: Document Length %s, ab says %s", engine, got, wantLen)
		}
		abFieldWidths(t, want)
		abFieldWidths(t, r.stdout)
		if abShape(r.stdout) != abShape(want) {
			t.Errorf("%s: layout differs from ab's:\n%s", engine, lineDiff(abShape(r.stdout), abShape(want)))
		}
		if !strings.Contains(r.stderr, "sockit: engine "+engine) {
			t.Errorf("%s: sockit's extra lines are not on stderr: %q", engine, r.stderr)
		}
	}
}

func docLength(report string) string {
	m := regexp.MustCompile(`Document Length: +(\d+) bytes`).FindStringSubmatch(report)
	if m == nil {
		return ""
	}
	return m[1]
}

// Bodies of another length than the first are Length failures, as in ab,
// unless -l; the Failed requests breakdown is ab's.
func TestBenchLengthFailures(t *testing.T) {
	var n atomic.Int64
	addr, _ := sockittest.ScriptedHTTP(t, nil, func(*sockittest.HTTPRequest) string {
		body := "short"
		if n.Add(1)%2 == 0 {
			body = "a longer body"
		}
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
	})
	url := "http://" + addr + "/"
	r := sockitRun(t, "", "bench", "-n", "20", "-c", "1", url)
	if !strings.Contains(r.stdout, "Failed requests:        10\n   (Connect: 0, Receive: 0, Length: 10, Exceptions: 0)\n") ||
		!strings.Contains(r.stdout, "Document Length:        5 bytes") || r.code != 0 {
		t.Errorf("exit %d:\n%s", r.code, r.stdout)
	}
	// ab on the same server counts the same.
	want := abReport(t, "-n", "20", "-c", "1", url)
	if !strings.Contains(want, "   (Connect: 0, Receive: 0, Length: 10, Exceptions: 0)") || abShape(want) != abShape(r.stdout) {
		t.Errorf("ab differs:\n%s\n%s", want, lineDiff(abShape(r.stdout), abShape(want)))
	}
	r = sockitRun(t, "", "bench", "-l", "-n", "20", "-c", "1", url)
	if !strings.Contains(r.stdout, "Failed requests:        0\n") {
		t.Errorf("-l:\n%s", r.stdout)
	}
}

// --warmup requests are extra: exactly -n are measured after it.
func TestBenchWarmupIsExtra(t *testing.T) {
	addrs, _ := startServe(t, "http=tcp://127.0.0.1:0", "echo=tcp://127.0.0.1:0")
	for _, args := range [][]string{
		{"--engine", "goroutine", "-k", "-c", "2", "http://" + addrs["http tcp"] + "/"},
		{"--engine", "loop", "-k", "-c", "2", "http://" + addrs["http tcp"] + "/"},
		{"--engine", "goroutine", "--rate", "500", "-c", "2", "tcp://" + addrs["echo tcp"]},
	} {
		r := sockitRun(t, "", append([]string{"bench", "--json", "--warmup", "200ms", "-n", "100"}, args...)...)
		var j struct {
			Requests int64
			WarmupS  float64 `json:"warmup_s"`
			Failures map[string]int64
		}
		if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || r.code != 0 {
			t.Fatalf("%v: exit %d %v %s", args, r.code, err, r.stderr)
		}
		if j.Requests != 100 || len(j.Failures) != 0 || j.WarmupS != 0.2 {
			t.Errorf("%v: %d requests measured (%v failed), warm-up %v; want 100 after 0.2 s", args, j.Requests, j.Failures, j.WarmupS)
		}
	}
}

// Every bad value is a usage error naming its flag, without Go's internals.
func TestBenchFlagValidation(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "0"}, "-n"}, {[]string{"-c", "0"}, "-c"}, {[]string{"-t", "0"}, "-t"},
		{[]string{"-d", "-1s"}, "-d"}, {[]string{"-s", "0"}, "-s"}, {[]string{"-n", "ten"}, `"ten" for "-n, --requests" flag: not a number`},
		{[]string{"--rate", "0"}, "--rate"}, {[]string{"--warmup", "-1s"}, "--warmup"},
		{[]string{"--proto", "qotd"}, "--proto: applies to raw targets"}, {[]string{"--size", "10"}, "--size"},
		{[]string{"-n", "2", "-c", "5"}, "-c: 5 connections for 2 requests"},
		{[]string{"-p", "/dev/null", "-u", "/dev/null"}, "-u: cannot go with -p"}, {[]string{"-i", "-p", "/dev/null"}, "-p: cannot go with -i"},
	} {
		r := sockitRun(t, "", append(append([]string{"bench"}, tc.args...), "http://127.0.0.1:1/")...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || strings.Contains(r.stderr, "strconv") || r.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
	}
	for _, flag := range [][]string{{"-H", "A: b"}, {"-p", "/dev/null"}, {"-u", "/dev/null"}, {"-C", "a=b"}, {"-A", "u:p"}, {"-P", "u:p"}, {"-X", "127.0.0.1:1"}, {"-l"}} {
		r := sockitRun(t, "", append(append([]string{"bench"}, flag...), "tcp://127.0.0.1:1")...)
		if r.code != exitUsage || !strings.Contains(r.stderr, flag[0]+": applies to HTTP targets") {
			t.Errorf("%v on a raw target: exit %d, stderr %q", flag, r.code, r.stderr)
		}
	}
}

// An output that cannot be written fails before the run: no request sent.
func TestBenchOutputsOpenedFirst(t *testing.T) {
	var n atomic.Int64
	addr, _ := sockittest.ScriptedHTTP(t, nil, func(*sockittest.HTTPRequest) string {
		n.Add(1)
		return "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	})
	bad := filepath.Join(t.TempDir(), "no", "such", "dir", "out")
	for _, flag := range []string{"--html", "--csv", "-e", "-g", "--openmetrics"} {
		r := sockitRun(t, "", "bench", flag, bad, "-n", "5", "http://"+addr+"/")
		if r.code != exitUsage || !strings.Contains(r.stderr, flag+": ") || r.stdout != "" || n.Load() != 0 {
			t.Errorf("%s: exit %d, stderr %q, stdout %q, %d requests sent", flag, r.code, r.stderr, r.stdout, n.Load())
		}
	}
}

// -C, -A and -X put ab's headers and request target on the wire; -e and -g
// write ab's file formats.
func TestBenchAbRequestFlagsAndFiles(t *testing.T) {
	addr, reqs := sockittest.ScriptedHTTP(t, nil, func(*sockittest.HTTPRequest) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
	})
	dir := t.TempDir()
	pct, gnu := filepath.Join(dir, "p.csv"), filepath.Join(dir, "g.tsv")
	r := sockitRun(t, "", "bench", "-n", "10", "-C", "a=1", "-A", "user:pw", "-P", "proxy:pw", "-X", addr, "-e", pct, "-g", gnu, "http://example.test/x")
	if r.code != 0 {
		t.Fatalf("exit %d %s", r.code, r.stderr)
	}
	got := reqs()
	if len(got) != 10 {
		t.Fatalf("%d requests reached the proxy", len(got))
	}
	cookie, _ := got[0].Get("Cookie")
	authz, _ := got[0].Get("Authorization")
	proxyAuthz, _ := got[0].Get("Proxy-Authorization")
	if got[0].Target != "http://example.test/x" || cookie != "a=1" || authz != "Basic "+base64.StdEncoding.EncodeToString([]byte("user:pw")) ||
		proxyAuthz != "Basic "+base64.StdEncoding.EncodeToString([]byte("proxy:pw")) {
		t.Errorf("request: target %q, cookie %q, authorization %q, proxy authorization %q", got[0].Target, cookie, authz, proxyAuthz)
	}
	p, _ := os.ReadFile(pct)
	lines := strings.Split(strings.TrimSpace(string(p)), "\n")
	if len(lines) != 102 || lines[0] != "Percentage served,Time in ms" || !regexp.MustCompile(`^100,\d+\.\d{3}$`).MatchString(lines[101]) {
		t.Errorf("-e file:\n%s", p)
	}
	g, _ := os.ReadFile(gnu)
	lines = strings.Split(strings.TrimSpace(string(g)), "\n")
	if len(lines) != 11 || lines[0] != "starttime\tseconds\tctime\tdtime\tttime\twait" ||
		!regexp.MustCompile(`^\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}\t\d+\t\d+\t\d+\t\d+\t\d+$`).MatchString(lines[1]) {
		t.Errorf("-g file:\n%s", g)
	}
	// The same two files from the real ab have the same shape.
	abP, abG := filepath.Join(dir, "ab.csv"), filepath.Join(dir, "ab.tsv")
	abReport(t, "-n", "10", "-e", abP, "-g", abG, "http://"+addr+"/")
	ap, _ := os.ReadFile(abP)
	ag, _ := os.ReadFile(abG)
	if abShape(string(ap)) != abShape(string(p)) || strings.Split(string(ag), "\n")[0] != strings.Split(string(g), "\n")[0] {
		t.Errorf("ab's files differ in shape:\n%s\n%s", ap, ag)
	}
}

// Every request failing is exit 1; the JSON names its schema and version.
func TestBenchAllFailedAndJSONVersion(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // a port that refuses
	// As ab exits with the socket error, bench says why, on both engines.
	for _, engine := range []string{"goroutine", "loop"} {
		r := sockitRun(t, "", "bench", "--engine", engine, "-n", "3", "http://"+addr+"/")
		if r.code != exitFailure || !strings.HasSuffix(r.stderr, "sockit bench: every request failed (connect 3): connect to "+addr+" (tcp): connection refused\n") ||
			!strings.Contains(r.stdout, "Failed requests:        3") || !strings.Contains(r.stderr, "sockit: first connect failure: connect to "+addr) {
			t.Errorf("%s: exit %d, stderr %q", engine, r.code, r.stderr)
		}
		// A server that takes the request and never answers: -s runs out.
		silent := sockittest.TCPPeer(t, func(c *net.TCPConn) {
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			io.Copy(io.Discard, c) // until bench gives up and closes
		})
		r = sockitRun(t, "", "bench", "--engine", engine, "-n", "2", "-s", "200ms", "http://"+silent+"/")
		if !strings.HasSuffix(r.stderr, "sockit bench: every request failed (timeout 2): read from "+silent+" (tcp): timed out\n") {
			t.Errorf("%s, silent server: exit %d, stderr %q", engine, r.code, r.stderr)
		}
		r = sockitRun(t, "", "bench", "--json", "--engine", engine, "-n", "3", "tcp://"+addr)
		var j struct {
			FirstError string `json:"first_error"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j.FirstError != "connect to "+addr+" (tcp): connection refused" {
			t.Errorf("%s --json: first_error %q (%v)", engine, j.FirstError, err)
		}
	}
	addrs, _ := startServe(t, "echo=tcp://127.0.0.1:0")
	r := sockitRun(t, "", "bench", "--json", "-n", "3", "tcp://"+addrs["echo tcp"])
	var j struct {
		SchemaVersion int        `json:"schema_version"`
		Version       string     `json:"version"`
		Start         *time.Time `json:"start"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil || j.SchemaVersion != 1 || j.Version == "" || j.Start == nil {
		t.Errorf("JSON: %v %+v", err, j)
	}
}

// Ctrl-C against a silent UDP port with -s 30 stops at once: the report of
// what completed, marked interrupted, the cut request counted, exit 130.
func TestBenchInterruptedUDP(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // a qotd port that never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"bench", "--proto", "qotd", "-s", "30", "-c", "2", "-n", "10", "udp://" + pc.LocalAddr().String()},
			strings.NewReader(""), &out, &errb)
	}()
	buf := make([]byte, 512)
	for range 2 { // both workers have a request in flight
		if _, _, err := pc.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Now()
	cancel()
	code := <-done
	if took := time.Since(t0); took > 5*time.Second {
		t.Errorf("Ctrl-C took %v to stop the run", took)
	}
	if code != exitInterrupted || !strings.Contains(out.String(), "Complete requests:      0") ||
		!strings.Contains(errb.String(), "sockit: interrupted") || !strings.Contains(errb.String(), "2 in flight were cut off") {
		t.Errorf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errb.String())
	}
}

// Against sockit serve's default UDP budget, bench says why replies stop;
// with the budget off, as the help's example runs it, every request succeeds.
func TestBenchUDPBudgetHint(t *testing.T) {
	addrs, _ := startServe(t, "qotd=udp://127.0.0.1:0")
	r := sockitRun(t, "", "bench", "--proto", "qotd", "-c", "8", "-n", "300", "-s", "100ms", "udp://"+addrs["qotd udp"])
	if !strings.Contains(r.stderr, "dropped by the server's budget?") || !strings.Contains(r.stderr, "--udp-budget off") {
		t.Errorf("no hint:\n%s\n%s", r.stdout, r.stderr)
	}
	addrs, _ = startServe(t, "--udp-budget", "off", "qotd=udp://127.0.0.1:0")
	r = sockitRun(t, "", "bench", "--proto", "qotd", "-c", "8", "-n", "1000", "udp://"+addrs["qotd udp"])
	if r.code != 0 || !strings.Contains(r.stdout, "Failed requests:        0") || strings.Contains(r.stderr, "budget?") {
		t.Errorf("budget off: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
}

// Every flag that changes ab's report (-k, -p/-u with -T, -i, -H, -l, one
// request, non-2xx answers) at several concurrencies: sockit's layout is
// the real ab's against the same server, on both engines, and the figures
// that do not depend on timing or on the request's own bytes are ab's too.
func TestBenchLayoutMatchesAbAcrossFlags(t *testing.T) {
	addrs, _ := startServe(t, "http=tcp://127.0.0.1:0")
	dir := t.TempDir()
	body, empty := filepath.Join(dir, "body.json"), filepath.Join(dir, "empty")
	if err := os.WriteFile(body, bytes.Repeat([]byte(`{"k":"v"}`), 300), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for i, tc := range []struct {
		args []string
		want []string // lines both reports hold
	}{
		{[]string{"-k"}, []string{"Keep-Alive requests:    20\n"}},
		{[]string{"-p", body, "-T", "application/json"}, []string{"Total body sent:        ", " kb/s sent\n", " kb/s total\n"}},
		{[]string{"-k", "-u", body, "-T", "application/json"}, []string{"Keep-Alive requests:    20\n", "Total body sent:        ", " kb/s total\n"}},
		{[]string{"-u", empty}, []string{"Total body sent:        "}},
		{[]string{"-i"}, []string{"HTML transferred:       0 bytes\n"}},
		{[]string{"-k", "-i"}, []string{"Keep-Alive requests:    20\n"}},
		{[]string{"-H", "X-Trace: 1"}, nil},
		{[]string{"-l"}, []string{"Document Length:        Variable\n"}},
		{[]string{"-n", "1"}, []string{"Complete requests:      1\n"}},
		{[]string{"-S"}, []string{"              min   avg   max\n"}},
	} {
		c := []string{"1", "4", "20"}[i%3]
		for _, path := range []string{"/", "/nope"} {
			args := append([]string{"-n", "20", "-c", c}, tc.args...)
			if tc.args[0] == "-n" {
				args = append([]string{"-c", "1"}, tc.args...)
			}
			url := "http://" + addrs["http tcp"] + path
			want := abReport(t, append(args, url)...)
			for _, engine := range []string{"goroutine", "loop"} {
				r := sockitRun(t, "", append(append([]string{"bench", "--engine", engine}, args...), url)...)
				if r.code != 0 {
					t.Fatalf("%v %s: exit %d %s", args, engine, r.code, r.stderr)
				}
				if abShape(r.stdout) != abShape(want) {
					t.Errorf("%v %s %s: layout differs from ab's:\n%s", args, path, engine, lineDiff(abShape(r.stdout), abShape(want)))
				}
				for _, l := range tc.want {
					if !strings.Contains(r.stdout, l) || !strings.Contains(want, l) {
						t.Errorf("%v %s %s: %q not in both reports:\n%s\nab:\n%s", args, path, engine, l, r.stdout, want)
					}
				}
				if tc.args[0] == "-S" && (len(abNoConfRow.FindAllString(r.stdout, -1)) != 4 || len(abNoConfRow.FindAllString(want, -1)) != 4) {
					t.Errorf("-S %s: the table is not in ab's widths:\n%s\nab:\n%s", engine, r.stdout, want)
				}
				if got, abs := abFigures(r.stdout), abFigures(want); got != abs {
					t.Errorf("%v %s %s: figures differ from ab's:\n%s", args, path, engine, lineDiff(got, abs))
				}
			}
		}
	}
}

// abFigures keeps a report's lines whose figures depend neither on timing
// nor on the request's bytes (ab's request line and headers are not
// sockit's, so Total body sent differs).
func abFigures(report string) string {
	var keep []string
	for _, l := range strings.Split(report, "\n") {
		for _, p := range []string{"Server Software:", "Document ", "Concurrency Level:", "Complete requests:",
			"Failed requests:", "   (", "Non-2xx", "Keep-Alive", "Total transferred:", "HTML transferred:"} {
			if strings.HasPrefix(l, p) {
				keep = append(keep, l)
			}
		}
	}
	return strings.Join(keep, "\n")
}

// -k against a server that closes every connection: "Keep-Alive requests:
// 0", as ab prints it (ab prints the line whenever -k is given), and the
// Server field's first word as ab's Server Software.
func TestBenchKeepAliveRefusedMatchesAb(t *testing.T) {
	addr, _ := sockittest.ScriptedHTTP(t, nil, func(*sockittest.HTTPRequest) string {
		return "HTTP/1.0 200 OK\r\nServer: Scripted/1.0 (test build)\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
	})
	url := "http://" + addr + "/"
	want := abReport(t, "-k", "-n", "10", "-c", "2", url)
	for _, engine := range []string{"goroutine", "loop"} {
		r := sockitRun(t, "", "bench", "--engine", engine, "-k", "-n", "10", "-c", "2", url)
		for _, l := range []string{"Keep-Alive requests:    0\n", "Server Software:        Scripted/1.0\n"} {
			if !strings.Contains(r.stdout, l) || !strings.Contains(want, l) {
				t.Errorf("%s: %q not in both reports:\n%s\nab:\n%s", engine, l, r.stdout, want)
			}
		}
		if abShape(r.stdout) != abShape(want) || r.code != 0 {
			t.Errorf("%s: exit %d, layout differs from ab's:\n%s", engine, r.code, lineDiff(abShape(r.stdout), abShape(want)))
		}
	}
}

// The server killed in the middle of a run: the requests after it fail
// (connection refused), and the report keeps ab's layout for a run with
// failures, as ab -r prints it against a server that dies the same way.
func TestBenchServerDiesMidRunMatchesAb(t *testing.T) {
	sockittest.RequireTool(t, "ab")
	layout := func(run func(url string) string) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { // answers 30 requests, one at a time, then is gone: later connects are refused
			defer close(done)
			for n := 1; n <= 30; n++ {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				buf := make([]byte, 4096)
				c.Read(buf)
				if n == 30 {
					ln.Close() // before the last answer, so no later connect can be queued
				}
				io.WriteString(c, "HTTP/1.0 200 OK\r\nServer: dying\r\nContent-Length: 2\r\n\r\nok")
				c.Close()
			}
		}()
		out := run("http://" + ln.Addr().String() + "/")
		ln.Close()
		<-done
		return out
	}
	want := layout(func(url string) string { return abReport(t, "-r", "-n", "60", url) })
	for _, engine := range []string{"goroutine", "loop"} {
		var code int
		got := layout(func(url string) string {
			r := sockitRun(t, "", "bench", "--engine", engine, "-n", "60", url)
			code = r.code
			return r.stdout
		})
		if code != 0 || !strings.Contains(got, "Complete requests:      60\n") ||
			!strings.Contains(got, "Failed requests:        30\n   (Connect: 30, Receive: 0, Length: 0, Exceptions: 0)\n") {
			t.Errorf("%s: exit %d\n%s", engine, code, got)
		}
		if abShape(got) != abShape(want) {
			t.Errorf("%s: layout differs from ab's:\n%s", engine, lineDiff(abShape(got), abShape(want)))
		}
	}
}

// lineDiff lists the lines where got and want differ.
func lineDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	var b strings.Builder
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			fmt.Fprintf(&b, "line %d:\n  sockit %q\n  ab     %q\n", i+1, gl, wl)
		}
	}
	return b.String()
}
