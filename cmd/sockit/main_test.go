package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockit/sockit/sockittest"
)

func TestMain(m *testing.M) {
	// The test binary doubles as sockit for tests that need a real process
	// (signals, exit status).
	if os.Getenv("SOCKIT_BE_MAIN") == "1" {
		main()
		return
	}
	goleak.VerifyTestMain(m)
}

// result is one in-process run of the command line.
type result struct {
	code           int
	stdout, stderr string
}

func sockitRun(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), &out, &errb)
	return result{code, out.String(), errb.String()}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{

		{[]string{"connect"}, "wants 1 argument"},
		{[]string{"connect", "tcp://host:99999"}, `port "99999"`},
		{[]string{"connect", "unix://"}, "no socket path"},
		{[]string{"connect", "foo://x"}, `unknown scheme "foo"`},
		{[]string{"connect", "--nosuchflag", "x:1"}, "unknown flag"},
		{[]string{"listen", "-4", "-6", "x:1"}, "exclude each other"},
		{[]string{"resolve"}, "no NAME"},
		{[]string{"resolve", "-f", "/nonexistent/file"}, "no such file"},
	}
	for _, tt := range tests {
		r := sockitRun(t, "", tt.args...)
		if r.code != exitUsage {
			t.Errorf("%v: exit %d, want %d (stderr %q)", tt.args, r.code, exitUsage, r.stderr)
		}
		if !strings.HasPrefix(r.stderr, "sockit "+tt.args[0]+": ") || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: stderr %q, want 'sockit %s: …%s…'", tt.args, r.stderr, tt.args[0], tt.want)
		}
	}
}

func TestNetworkErrorExit(t *testing.T) {
	port := sockittest.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	r := sockitRun(t, "", "connect", addr)
	// nc's words ("connect to ADDR (tcp) failed"), not Go's ("dial tcp ADDR: connect: ...").
	want := "sockit connect: connect to " + addr + " (tcp): connection refused\n"
	if r.code != exitFailure || r.stderr != want {
		t.Errorf("exit %d stderr %q; want 1 and %q", r.code, r.stderr, want)
	}
}

func TestHelpAndVersion(t *testing.T) {
	r := sockitRun(t, "", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "resolve") || !strings.Contains(r.stdout, "connect") {
		t.Errorf("--help: exit %d, %q", r.code, r.stdout)
	}
	r = sockitRun(t, "", "connect", "--help")
	if r.code != 0 || !strings.Contains(r.stdout, "hello there") {
		t.Errorf("connect --help lacks the brief's example: %q", r.stdout)
	}
	r = sockitRun(t, "", "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "sockit ") {
		t.Errorf("version: %d %q", r.code, r.stdout)
	}
	r = sockitRun(t, "", "completion", "bash")
	if r.code != 0 || !strings.Contains(r.stdout, "bash completion") {
		t.Errorf("completion bash: exit %d", r.code)
	}
}

func TestResolveCommand(t *testing.T) {
	r := sockitRun(t, "", "resolve", "-4", "localhost")
	if r.code != 0 || r.stdout != "127.0.0.1\n" {
		t.Errorf("resolve -4 localhost: %d %q %q", r.code, r.stdout, r.stderr)
	}
	// Names from /etc/hosts and literals only: no test asks the system's DNS
	// server (the failure cases are in TestResolveServerCommand).
	r = sockitRun(t, "", "resolve", "-4", "-H", "localhost", "127.0.0.2")
	if r.code != 0 || r.stdout != "localhost 127.0.0.1\n127.0.0.2 127.0.0.2\n" || r.stderr != "" {
		t.Errorf("several names: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = sockitRun(t, "localhost\n# a comment\n\n::1\n", "resolve", "-f", "-", "--json")
	var got []struct {
		Name      string   `json:"name"`
		Addresses []string `json:"addresses"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.code != 0 {
		t.Fatalf("--json: %d %v %q", r.code, err, r.stdout)
	}
	if len(got) != 2 || got[0].Name != "localhost" || got[1].Addresses[0] != "::1" {
		t.Errorf("--json = %+v", got)
	}
	r = sockitRun(t, "", "resolve", "-x", "127.0.0.1")
	if r.code != 0 || !strings.Contains(r.stdout, "localhost") {
		t.Errorf("resolve -x 127.0.0.1: %d %q %q", r.code, r.stdout, r.stderr)
	}
}

// TestConnectListenCommands runs `sockit listen` and `sockit connect` against
// each other in one process, 1 MiB each way, found through the announce line.
func TestConnectListenCommands(t *testing.T) {
	up, down := sockittest.RandomBytes(1<<20, 7), sockittest.RandomBytes(1<<20, 8)
	pr, pw := io.Pipe()
	var listenOut bytes.Buffer
	done := make(chan int, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- run(ctx, []string{"listen", "tcp://127.0.0.1:0"}, bytes.NewReader(down), &listenOut, pw)
		pw.Close()
	}()
	m := sockittest.WaitLine(t, pr, regexp.MustCompile(`^listening tcp (\S+)$`), 10*time.Second)
	var connectOut bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code := run(ctx, []string{"connect", m[1]}, bytes.NewReader(up), &connectOut, io.Discard); code != 0 {
		t.Fatalf("connect exit %d", code)
	}
	if code := <-done; code != 0 {
		t.Fatalf("listen exit %d", code)
	}
	if !bytes.Equal(listenOut.Bytes(), up) || !bytes.Equal(connectOut.Bytes(), down) {
		t.Errorf("listen got %d bytes, connect %d; want 1 MiB each, identical", listenOut.Len(), connectOut.Len())
	}
}
