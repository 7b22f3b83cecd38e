package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

// sockitProcess starts the test binary as sockit with args; stdin is a pipe
// the test keeps open (as a terminal would be).
func sockitProcess(t *testing.T, args ...string) (cmd *exec.Cmd, stderr *bufio.Reader, stderrAll func() string) {
	t.Helper()
	cmd = exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	br := bufio.NewReader(pr)
	return cmd, br, func() string {
		var b strings.Builder
		for {
			line, err := br.ReadString('\n')
			b.WriteString(line)
			if err != nil {
				return b.String()
			}
		}
	}
}

func exitStatus(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	err := cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

// TestInterruptIsQuiet: SIGINT or SIGTERM to a client waiting on the
// network ends it at once, with exit 130 and nothing on stderr ("context
// canceled" and "use of closed network connection" were printed, exit 1).
func TestInterruptIsQuiet(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
		args []string
	}{
		{"connect", os.Interrupt.(syscall.Signal), []string{"connect", ln.Addr().String()}},
		{"echo tcp", syscall.SIGTERM, []string{"echo", "--timeout", "30s", "tcp://" + ln.Addr().String(), "hi"}},
		{"qotd udp", os.Interrupt.(syscall.Signal), []string{"qotd", "--timeout", "30s", "udp://" + pc.LocalAddr().String()}},
		{"listen", os.Interrupt.(syscall.Signal), []string{"listen", "127.0.0.1:0"}},
		// (resolve -4: one query, one connection; A and AAAA go at once.)
		// A server that accepts and never answers; the HTTP clients said
		// "context canceled" and exited 1, resolve over TCP waited out
		// --timeout.
		{"get", os.Interrupt.(syscall.Signal), []string{"get", "http://" + ln.Addr().String() + "/"}},
		{"head -o", syscall.SIGTERM, []string{"head", "-o", filepath.Join(t.TempDir(), "h"), "http://" + ln.Addr().String() + "/"}},
		{"resolve tcp", os.Interrupt.(syscall.Signal), []string{"resolve", "-4", "--timeout", "30s", "--server", "tcp://" + ln.Addr().String(), "a.test"}},
		// Connected, then reading a stdin that never ends: discard sat in
		// its read until killed.
		{"discard stdin", os.Interrupt.(syscall.Signal), []string{"discard", "tcp://" + ln.Addr().String()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd, stderr, rest := sockitProcess(t, tc.args...)
			// Wait until the client is at the network: accepted, its
			// datagram in, or its listening line out.
			switch tc.name {
			case "listen":
				if line, err := stderr.ReadString('\n'); err != nil || !strings.HasPrefix(line, "listening tcp ") {
					t.Fatalf("listen: %q %v", line, err)
				}
			case "qotd udp":
				pc.SetReadDeadline(time.Now().Add(20 * time.Second))
				if _, _, err := pc.ReadFrom(make([]byte, 512)); err != nil {
					t.Fatal(err)
				}
			default:
				ln.(*net.TCPListener).SetDeadline(time.Now().Add(20 * time.Second))
				c, err := ln.Accept()
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if tc.name != "connect" && tc.name != "discard stdin" {
					// Its request is in: the client waits for the answer.
					c.SetReadDeadline(time.Now().Add(20 * time.Second))
					if _, err := c.Read(make([]byte, 512)); err != nil {
						t.Fatal(err)
					}
				}
			}
			t0 := time.Now()
			cmd.Process.Signal(tc.sig)
			kill := time.AfterFunc(15*time.Second, func() { cmd.Process.Kill() }) // a client that ignores the signal
			defer kill.Stop()
			out := rest()
			if code := exitStatus(t, cmd); code != exitInterrupted || out != "" || time.Since(t0) > 10*time.Second {
				t.Errorf("after %v: exit %d in %v, stderr %q; want 130 at once and nothing", tc.sig, code, time.Since(t0), out)
			}
		})
	}
}

// TestErrorForms: one prefix, "sockit CMD: ", never doubled, never missing;
// cobra's suggestions for a mistyped command or flag; `help frob` fails.
func TestErrorForms(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"conect", "x:1"}, exitUsage, `sockit: unknown command "conect" (did you mean connect?)`},
		{[]string{"connect", "--timout", "1s", "x:1"}, exitUsage, "sockit connect: unknown flag: --timout (did you mean --timeout?)\n"},
		{[]string{"connect"}, exitUsage, "sockit connect: wants 1 argument(s), got 0"},
		{[]string{"listen", "-4", "-6", "x:1"}, exitUsage, "sockit listen: -4 and -6 exclude each other\n"},
		{[]string{"help", "frob"}, exitUsage, `sockit help: unknown help topic "frob"`},
		{[]string{"packet", "captur"}, exitUsage, `sockit packet: unknown command "captur" (did you mean capture?)`},
		{[]string{"bench", "merge"}, exitUsage, "sockit bench merge: no report given\n"},
		{[]string{"bench", "-c", "x", "http://127.0.0.1:1/"}, exitUsage, `sockit bench: invalid argument "x" for "-c, --concurrency" flag: not a number`},
		{[]string{"serve", "--log-level", "loud"}, exitUsage, "sockit serve: --log-level is"},
		{[]string{"echo", "127.0.0.1:0", "hi"}, exitUsage, "sockit echo: tcp://127.0.0.1:0: port 0 is no target"},
		{[]string{"connect", "udp://127.0.0.1:0"}, exitUsage, "sockit connect: udp://127.0.0.1:0: port 0 is no target"},
		{[]string{"connect", "-6", "127.0.0.1:7"}, exitUsage, "sockit connect: tcp://127.0.0.1:7: -6 with an IPv4 address\n"},
		{[]string{"qotd", "-4", "udp://[::1]:17"}, exitUsage, "sockit qotd: udp://[::1]:17: -4 with an IPv6 address\n"},
	} {
		r := sockitRun(t, "", tc.args...)
		if r.code != tc.code || !strings.HasPrefix(r.stderr, tc.want) || strings.Contains(r.stderr, ": sockit") {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, tc.code, tc.want)
		}
		if strings.Contains(r.stderr, "strconv") {
			t.Errorf("%v: Go internals in %q", tc.args, r.stderr)
		}
	}
	if r := sockitRun(t, "", "help", "connect"); r.code != 0 || !strings.Contains(r.stdout, "hello there") {
		t.Errorf("help connect: %d %q", r.code, r.stdout)
	}
}

// TestVersionAndCompletion: --version and version agree and name the
// commit and Go version; completion offers the enums; `sockit man DIR`
// writes a page per command.
func TestVersionAndCompletion(t *testing.T) {
	a, b := sockitRun(t, "", "--version"), sockitRun(t, "", "version")
	if a.code != 0 || a.stdout != b.stdout || !strings.Contains(a.stdout, "(commit ") || !strings.Contains(a.stdout, " go1.") {
		t.Errorf("--version %q, version %q", a.stdout, b.stdout)
	}
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"__complete", "serve", "--log-level", ""}, []string{"debug", "info", "warn", "error"}},
		{[]string{"__complete", "serve", "--log-format", ""}, []string{"text", "json"}},
		{[]string{"__complete", "serve", "--daytime-format", ""}, []string{"nist", "rfc822", "ctime"}},
		{[]string{"__complete", "serve", "qo"}, []string{"qotd", "qotd="}}, // bare: on its default endpoints
		{[]string{"__complete", "serve", "ec"}, []string{"echo", "echo="}},
		{[]string{"__complete", "serve", "--engine", ""}, []string{"loop", "goroutine"}},
		{[]string{"__complete", "bench", "--engine", ""}, []string{"loop", "goroutine"}},
		{[]string{"__complete", "serve", "--udp-budget", ""}, []string{"on", "off"}},
		{[]string{"__complete", "bench", "--proto", ""}, []string{"echo", "qotd", "chargen"}},
		{[]string{"__complete", "serve", "--inetd", ""}, []string{"echo", "daytime", "http"}},
		{[]string{"__complete", "packet", "capture", "-i", ""}, []string{"lo"}},
		{[]string{"__complete", "packet", "send", "--interface", ""}, []string{"lo"}},
		{[]string{"__complete", "help", "con"}, []string{"connect"}},
	} {
		r := sockitRun(t, "", tc.args...)
		for _, w := range tc.want {
			if !strings.Contains(r.stdout, w+"\n") && !strings.Contains(r.stdout, w+"\t") {
				t.Errorf("%v: %q lacks %q", tc.args, r.stdout, w)
			}
		}
	}
	dir := t.TempDir()
	if r := sockitRun(t, "", "man", dir); r.code != 0 {
		t.Fatalf("man: %d %s", r.code, r.stderr)
	}
	for _, page := range []string{"sockit.1", "sockit-connect.1", "sockit-serve.1", "sockit-echo.1"} {
		b, err := os.ReadFile(filepath.Join(dir, page))
		if err != nil || !strings.Contains(string(b), ".TH \"SOCKIT") {
			t.Errorf("%s: %v %.80q", page, err, b)
		}
	}
}

// TestVersionStamped: a build with VCS stamping off still says the version
// and commit -ldflags gave it.
func TestVersionStamped(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "sockit")
	build := exec.Command("go", "build", "-buildvcs=false", "-ldflags", "-X main.buildVersion=v9.8.7 -X main.buildCommit=0123456789abcdef", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	for _, arg := range []string{"--version", "version"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil || !strings.HasPrefix(string(out), "sockit v9.8.7 (commit 0123456789ab, go1.") {
			t.Errorf("%s: %v %q", arg, err, out)
		}
	}
}

// TestClientHabits: empty stdin to connect over UDP is one empty datagram
// (the QOTD query its help shows); a UDP client that gets no reply exits 28
// as get does; `listen PORT` is nc -l PORT.
func TestClientHabits(t *testing.T) {
	addrs, _ := startServe(t, "qotd=udp://127.0.0.1:0")
	r := sockitRun(t, "", "connect", "--wait", "200ms", "udp://"+addrs["qotd udp"])
	if r.code != 0 || len(r.stdout) == 0 {
		t.Errorf("printf '' | connect udp://qotd: exit %d, %d bytes out, %q", r.code, len(r.stdout), r.stderr)
	}

	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	r = sockitRun(t, "", "qotd", "--timeout", "50ms", "--retries", "1", "udp://"+pc.LocalAddr().String())
	if r.code != exitTimeout || !strings.HasPrefix(r.stderr, "sockit qotd: no reply from") || strings.Contains(r.stderr, "sockit: sockit") {
		t.Errorf("silent UDP peer: exit %d, %q; want 28", r.code, r.stderr)
	}

	cmd, stderr, _ := sockitProcess(t, "listen", "0")
	line, err := stderr.ReadString('\n')
	m := regexp.MustCompile(`^listening tcp \S*:(\d+)\n$`).FindStringSubmatch(line)
	if err != nil || m == nil {
		t.Fatalf("listen 0: %q %v", line, err)
	}
	c, err := net.Dial("tcp", "127.0.0.1:"+m[1])
	if err != nil {
		t.Fatalf("listen 0 listens on every address, so on loopback: %v", err)
	}
	c.Close()
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
}

// TestBareHostRule (issue 22 point 11): one rule for every client — the
// first argument is the ENDPOINT, and a bare host (localhost, an /etc/hosts
// name) uses the service's well-known port: `sockit echo localhost hi`
// asks localhost:7 (it sent "localhost hi" to 127.0.0.1:8001), as
// `sockit qotd localhost` asks localhost:17. Nothing listens on those
// ports here, so each client's error names the port it tried (a client
// that got an answer, from some local service, passes too).
func TestBareHostRule(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"echo", "localhost", "hi"}, ":7 (tcp)"},
		{[]string{"echo", "udp://localhost", "hi"}, ":7 (udp)"},
		{[]string{"discard", "localhost"}, ":9 (tcp)"},
		{[]string{"chargen", "localhost"}, ":19 (tcp)"},
		{[]string{"qotd", "localhost"}, ":17 (udp)"},
		{[]string{"daytime", "localhost"}, ":13 (tcp)"},
		{[]string{"time", "localhost"}, ":37 (tcp)"},
	} {
		r := sockitRun(t, "", append([]string{tc.args[0], "--timeout", "1s"}, tc.args[1:]...)...)
		if r.code != 0 && !strings.Contains(r.stderr, tc.want+": ") || strings.Contains(r.stderr, ":80") {
			t.Errorf("%v: exit %d %q %q; want an answer from, or an error naming, localhost%s", tc.args, r.code, r.stdout, r.stderr, tc.want)
		}
	}
	addrs, _ := startServe(t, "echo=tcp://127.0.0.1:0")
	r := sockitRun(t, "", "echo", "tcp://"+addrs["echo tcp"], "hello", "there")
	if r.code != 0 || r.stdout != "hello there\n" {
		t.Errorf("echo ENDPOINT hello there: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// discard awaits no reply: it has no --retries to offer (point 16).
	if r := sockitRun(t, "", "discard", "--retries", "2", "localhost"); r.code != exitUsage || !strings.Contains(r.stderr, "unknown flag: --retries") {
		t.Errorf("discard --retries: exit %d %q", r.code, r.stderr)
	}
}

// TestDaytimeParsesServeFormats: daytime -v and --json read each line
// sockit serve --daytime-format sends (they failed on rfc822 and ctime).
func TestDaytimeParsesServeFormats(t *testing.T) {
	for _, f := range []string{"nist", "rfc822", "ctime"} {
		addrs, _ := startServe(t, "--daytime-format", f, "daytime=tcp://127.0.0.1:0", "daytime=udp://127.0.0.1:0")
		for _, ep := range []string{"tcp://" + addrs["daytime tcp"], "udp://" + addrs["daytime udp"]} {
			r := sockitRun(t, "", "daytime", "--json", ep)
			var got struct {
				Endpoint, Format string
				Time             time.Time
				OffsetS          *float64 `json:"offset_s"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || got.Format != f ||
				got.Endpoint != ep || got.OffsetS == nil || *got.OffsetS > 5 || *got.OffsetS < -5 ||
				time.Since(got.Time).Abs() > time.Minute {
				t.Errorf("%s daytime --json %s: exit %d %q %q (%v)", f, ep, r.code, r.stdout, r.stderr, err)
			}
			// -v (issue 22 point 12): the line on stdout, as without -v;
			// the details on stderr, NIST's dst the number --json gives.
			var nist struct{ DST *int }
			json.Unmarshal([]byte(r.stdout), &nist)
			r = sockitRun(t, "", "daytime", "-v", ep)
			if r.code != 0 || strings.Count(r.stdout, "\n") != 1 || strings.Contains(r.stdout, "format") ||
				!strings.HasPrefix(r.stderr, "sockit daytime: format "+f+", utc ") || !strings.HasSuffix(r.stderr, "s from the local clock\n") ||
				f == "nist" && (nist.DST == nil || !strings.Contains(r.stderr, fmt.Sprintf(", dst %d, ", *nist.DST))) {
				t.Errorf("%s daytime -v %s: exit %d %q %q", f, ep, r.code, r.stdout, r.stderr)
			}
		}
	}
}

// TestClientSummariesAndJSON: chargen -p and discard keep their summary on
// stderr (it was glued to the data on stdout); every small-service client
// has --json (one object on stdout) and -v (details on stderr); --timeout
// 0 and --retries -1 are usage errors naming the flag.
func TestClientSummariesAndJSON(t *testing.T) {
	addrs, _ := startServe(t, "echo=tcp://127.0.0.1:0", "discard=tcp://127.0.0.1:0", "chargen=tcp://127.0.0.1:0",
		"qotd=udp://127.0.0.1:0", "time=udp://127.0.0.1:0", "daytime=tcp://127.0.0.1:0")
	ep := func(key string) string { // "echo tcp" -> tcp://127.0.0.1:PORT
		_, network, _ := strings.Cut(key, " ")
		return network + "://" + addrs[key]
	}
	chargen, discard := ep("chargen tcp"), ep("discard tcp")

	r := sockitRun(t, "", "chargen", "-p", "--bytes", "740", chargen)
	if r.code != 0 || len(r.stdout) != 740 || strings.Contains(r.stdout, "chargen") ||
		!strings.HasPrefix(r.stderr, "sockit chargen: 740 bytes from "+addrs["chargen tcp"]+" (tcp)") {
		t.Errorf("chargen -p: exit %d, %d bytes out, stderr %q", r.code, len(r.stdout), r.stderr)
	}
	r = sockitRun(t, "hello", "discard", discard)
	if r.code != 0 || r.stdout != "" || !strings.HasPrefix(r.stderr, "sockit discard: sent 5 bytes to "+addrs["discard tcp"]+" (tcp)") {
		t.Errorf("discard: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	for _, tc := range []struct {
		stdin string
		args  []string
		bytes float64
		key   string
	}{
		{"", []string{"echo", ep("echo tcp"), "hi", "there"}, 8, "match"},
		{"hello", []string{"discard", discard}, 5, ""},
		{"", []string{"chargen", "--bytes", "148", chargen}, 148, "pattern_ok"},
		{"", []string{"qotd", ep("qotd udp")}, -1, "quote"},
		{"", []string{"time", ep("time udp")}, 4, "offset_s"},
		{"", []string{"daytime", ep("daytime tcp")}, -1, "mjd"},
	} {
		args := append([]string{tc.args[0], "--json"}, tc.args[1:]...)
		r := sockitRun(t, tc.stdin, args...)
		var obj map[string]any
		err := json.Unmarshal([]byte(r.stdout), &obj)
		if r.code != 0 || err != nil || obj["endpoint"] != tc.args[len(tc.args)-1] && tc.args[0] != "echo" ||
			obj["duration_s"] == nil || (tc.bytes >= 0 && obj["bytes"] != tc.bytes) || (tc.key != "" && obj[tc.key] == nil) ||
			strings.Count(strings.TrimSpace(r.stdout), "\n") != 0 {
			t.Errorf("%v: exit %d %q %q (%v)", args, r.code, r.stdout, r.stderr, err)
		}
		if tc.args[0] == "echo" && (obj["match"] != true || obj["reply"] != "hi there") {
			t.Errorf("echo --json: %v", obj)
		}
		args = append([]string{tc.args[0], "-v"}, tc.args[1:]...)
		r = sockitRun(t, tc.stdin, args...)
		if r.code != 0 || !strings.HasPrefix(r.stderr, "sockit "+tc.args[0]+": ") || strings.Contains(r.stdout, tc.args[0]+": ") {
			t.Errorf("%v: exit %d %q %q", args, r.code, r.stdout, r.stderr)
		}
	}
	if r := sockitRun(t, "", "chargen", "-p", "--json", chargen); r.code != exitUsage {
		t.Errorf("chargen -p --json: exit %d %q", r.code, r.stderr)
	}
	for _, tc := range [][]string{{"--timeout", "0", "--timeout"}, {"--retries", "-1", "--retries"}} {
		r := sockitRun(t, "", "qotd", tc[0], tc[1], ep("qotd udp"))
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, "sockit qotd: "+tc[2]+" must be") {
			t.Errorf("qotd %s %s: exit %d %q", tc[0], tc[1], r.code, r.stderr)
		}
	}
}

// TestServiceNameEndpoints: a port may be a service name from
// /etc/services (localhost:echo is port 7); an unknown one is a usage
// error naming it, said before any dial.
func TestServiceNameEndpoints(t *testing.T) {
	r := sockitRun(t, "", "echo", "--timeout", "1s", "tcp://127.0.0.1:echo", "hi")
	if (r.code == 0) != (r.stdout == "hi\n") || (r.code != 0 && !strings.HasPrefix(r.stderr, "sockit echo: connect to 127.0.0.1:7 (tcp): ")) {
		t.Errorf("echo tcp://127.0.0.1:echo: exit %d %q %q; want hi echoed by port 7 or its dial error", r.code, r.stdout, r.stderr)
	}
	r = sockitRun(t, "", "daytime", "--timeout", "1s", "localhost:nosuchsvc")
	if r.code != exitUsage || !strings.Contains(r.stderr, `unknown service name "nosuchsvc"`) {
		t.Errorf("daytime localhost:nosuchsvc: exit %d %q", r.code, r.stderr)
	}
}

// readSome waits (5 s at most) for the first bytes of a request.
func readSome(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	c.Read(make([]byte, 512))
}

// lineServer answers every TCP connection with line and closes it.
func lineServer(t *testing.T, line string) string {
	return sockittest.TCPPeer(t, func(c *net.TCPConn) { c.Write([]byte(line)) })
}

// TestDaytimeOtherLines: xinetd's daytime line is read (exit 1 before, on
// a peer sockit is measured against), a line in no known format is shown
// as "unknown" and is no failure (RFC 867 sets no syntax), and an empty
// reply is one, for daytime and qotd alike (exit 0 and nothing, before).
func TestDaytimeOtherLines(t *testing.T) {
	now := time.Now().UTC()
	xinetd := lineServer(t, strings.ToUpper(now.Format("02 Jan 2006 15:04:05"))+" UTC\r\n")
	r := sockitRun(t, "", "daytime", "--json", "tcp://"+xinetd)
	var got struct {
		Format  string
		Time    time.Time
		OffsetS *float64 `json:"offset_s"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || got.Format != "xinetd" ||
		got.OffsetS == nil || got.Time.Sub(now).Abs() > time.Minute {
		t.Errorf("xinetd line --json: exit %d %q %q (%v)", r.code, r.stdout, r.stderr, err)
	}
	odd := lineServer(t, "Tea time, roughly\r\n")
	r = sockitRun(t, "", "daytime", "--json", "tcp://"+odd)
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 || got.Format != "unknown" {
		t.Errorf("odd line --json: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = sockitRun(t, "", "daytime", "-v", "tcp://"+odd)
	if r.code != 0 || r.stdout != "Tea time, roughly\n" || !strings.HasPrefix(r.stderr, "sockit daytime: format unknown") {
		t.Errorf("odd line -v: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	empty := lineServer(t, "")
	for _, tc := range []struct{ cmd, want string }{
		{"daytime", "sockit daytime: empty reply (RFC 867 sends the date and time)\n"},
		{"qotd", "sockit qotd: empty reply (RFC 865 sends a quote)\n"},
	} {
		if r := sockitRun(t, "", tc.cmd, "tcp://"+empty); r.code != exitFailure || r.stderr != tc.want || r.stdout != "" {
			t.Errorf("%s, empty reply: exit %d %q %q", tc.cmd, r.code, r.stdout, r.stderr)
		}
	}
}

// TestNoGoInternalsInMessages: what the network does wrong is said in nc's
// words with the one "sockit CMD: " prefix, never in Go's ("writeto tcp
// A->B: read tcp A->B: read: connection reset by peer", "EOF", "sockit:
// listen tcp ...").
func TestNoGoInternalsInMessages(t *testing.T) {
	// reset resets every connection once the request is in; closer
	// closes it (a FIN) without an answer.
	reset := sockittest.TCPPeer(t, func(c *net.TCPConn) { readSome(c); c.SetLinger(0) })
	closer := sockittest.TCPPeer(t, func(c *net.TCPConn) { readSome(c) })
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := pc.LocalAddr().String()
	pc.Close() // a UDP port that answers with ICMP port unreachable
	// connect's output is a file (splice(2) from the socket): the reset is
	// still the socket's ("write /dev/stdout: splice: ..." before). It may
	// come before the dial has seen its connection complete.
	rst := sockittest.TCPPeer(t, func(c *net.TCPConn) { c.SetLinger(0) })
	for range 5 {
		cmd, _, rest := sockitProcess(t, "connect", "tcp://"+rst)
		out := rest()
		if exitStatus(t, cmd) != exitFailure || !regexp.MustCompile(`^sockit connect: (read from|connect to) `+
			regexp.QuoteMeta(rst)+` \(tcp\): connection reset by peer\n$`).MatchString(out) {
			t.Errorf("connect to a reset: %q", out)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"echo", "tcp://" + reset, "hi"}, "sockit echo: read from " + reset + " (tcp): connection reset by peer\n"},
		{[]string{"time", "udp://" + refused}, "sockit time: read from " + refused + " (udp): connection refused\n"},
		{[]string{"listen", "tcp://" + reset}, "sockit listen: listen on " + reset + " (tcp): address already in use\n"},
		{[]string{"resolve", "--server", "tcp://" + closer, "a.test"}, "sockit resolve: a.test: A query: server " + closer + " closed the connection without an answer\n"},
		{[]string{"get", "http://" + refused + "/"}, "sockit get: http://" + refused + "/: connect to " + refused + " (tcp): connection refused\n"},
	} {
		r := sockitRun(t, "", tc.args...)
		if r.code == 0 || r.stderr != tc.want {
			t.Errorf("%v: exit %d, stderr %q; want %q", tc.args, r.code, r.stderr, tc.want)
		}
		for _, internal := range []string{"dial ", "tcp 127", "udp 127", "EOF", "context canceled", "closed network connection", "strconv"} {
			if strings.Contains(r.stderr, internal) {
				t.Errorf("%v: Go's words %q in %q", tc.args, internal, r.stderr)
			}
		}
	}
}

// TestNegativeBoundsRefused: a bound below what its help allows is a usage
// error naming the flag, said before any traffic (a negative connect
// timeout "timed out" at once, --wait 0 meant 2s, capture's -B named -c).
func TestNegativeBoundsRefused(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"connect", "--timeout", "-1", "127.0.0.1:1"}, "sockit connect: --timeout -1s: want 0 (no bound) or more\n"},
		{[]string{"connect", "--wait", "0", "udp://127.0.0.1:1"}, "sockit connect: --wait 0s: want a positive time"},
		{[]string{"get", "--connect-timeout", "-1", "http://127.0.0.1:1/"}, "sockit get: --connect-timeout -1s: want 0 (no bound) or more\n"},
		{[]string{"get", "-m", "-1", "http://127.0.0.1:1/"}, "sockit get: -m -1s: want 0 (no bound) or more\n"},
		{[]string{"get", "--max-bytes", "-5", "http://127.0.0.1:1/"}, "sockit get: --max-bytes -5: want 0 (no bound) or more\n"},
		{[]string{"head", "--retry", "-2", "http://127.0.0.1:1/"}, "sockit head: --retry -2: want 0 or more\n"},
		{[]string{"get", "--max-redirs", "-3", "http://127.0.0.1:1/"}, "sockit get: --max-redirs -3: want -1 (no bound) or more\n"},
		{[]string{"packet", "capture", "-i", "lo", "-B", "-1"}, "sockit packet capture: -B -1: want at least 128 (KiB)\n"},
		{[]string{"packet", "capture", "-i", "lo", "-c", "-1"}, "sockit packet capture: -c -1: want 0 (until interrupted) or more\n"},
	} {
		r := sockitRun(t, "", tc.args...)
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}
