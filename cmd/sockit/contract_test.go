package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

// runTo is sockitRun with stdout given: a file (/dev/full) as a shell
// redirection gives it.
func runTo(t *testing.T, stdout io.Writer, stdin string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errb bytes.Buffer
	code := run(ctx, args, strings.NewReader(stdin), stdout, &errb)
	return result{code: code, stderr: errb.String()}
}

// TestLostOutputFails sweeps every command that prints on stdout with a
// stdout that takes nothing (/dev/full: ENOSPC): each says so in one line
// with its prefix and exits 23. qotd, chargen -p ("pattern ok"),
// interfaces and bench exited 0; connect blamed the socket ("read from …:
// invalid argument", a failed splice).
func TestLostOutputFails(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	defer full.Close()
	addrs, _ := startServe(t, "echo=tcp://127.0.0.1:0", "chargen=tcp://127.0.0.1:0", "qotd=udp://127.0.0.1:0",
		"qotd=tcp://127.0.0.1:0", "daytime=tcp://127.0.0.1:0", "time=udp://127.0.0.1:0", "http=tcp://127.0.0.1:0",
		"discard=tcp://127.0.0.1:0")
	http := "http://" + addrs["http tcp"] + "/"
	const lost = "write to stdout: no space left on device\n"
	for _, tc := range []struct {
		stdin string
		args  []string
	}{
		{"", []string{"version"}},
		{"", []string{"--help"}},
		{"", []string{"echo", "--help"}},
		{"", []string{"interfaces"}},
		{"", []string{"interfaces", "--json"}},
		{"", []string{"resolve", "localhost"}},
		{"", []string{"resolve", "--json", "localhost"}},
		{"", []string{"echo", "tcp://" + addrs["echo tcp"], "hello"}},
		{"", []string{"chargen", "-p", "tcp://" + addrs["chargen tcp"]}},
		{"", []string{"chargen", "--json", "tcp://" + addrs["chargen tcp"]}},
		{"", []string{"qotd", "udp://" + addrs["qotd udp"]}},
		{"", []string{"qotd", "tcp://" + addrs["qotd tcp"]}},
		{"", []string{"daytime", "tcp://" + addrs["daytime tcp"]}},
		{"", []string{"time", "udp://" + addrs["time udp"]}},
		{"x", []string{"discard", "--json", "tcp://" + addrs["discard tcp"]}},
		{"", []string{"connect", "tcp://" + addrs["chargen tcp"]}},
		{"hello", []string{"connect", "tcp://" + addrs["echo tcp"]}},
		{"", []string{"get", http}},
		{"", []string{"head", http}},
		{"", []string{"get", "-s", "-o", "/dev/null", "-w", "%{http_code}", http}},
		{"", []string{"bench", "-n", "5", "-c", "1", http}},
	} {
		r := runTo(t, full, tc.stdin, tc.args...)
		name := tc.args[0]
		if strings.HasPrefix(name, "-") {
			name = ""
		} else {
			name = " " + name
		}
		if r.code != exitWrite || !strings.HasSuffix(r.stderr, "sockit"+name+": "+lost) {
			t.Errorf("%v > /dev/full: exit %d, stderr %q; want %d and %q", tc.args, r.code, r.stderr, exitWrite, "sockit"+name+": "+lost)
		}
	}

	// listen: a peer's bytes, relayed to a full stdout.
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- run(ctx, []string{"listen", "tcp://127.0.0.1:0"}, strings.NewReader(""), full, io.MultiWriter(pw, &errb))
		pw.Close()
	}()
	m := sockittest.WaitLine(t, pr, regexp.MustCompile(`^listening tcp (\S+)$`), 10*time.Second)
	if r := sockitRun(t, "to a full stdout", "connect", m[1]); r.code != 0 {
		t.Errorf("connect to listen: %d %q", r.code, r.stderr)
	}
	if code := <-done; code != exitWrite || !strings.HasSuffix(errb.String(), "sockit listen: "+lost) {
		t.Errorf("listen > /dev/full: exit %d, stderr %q", code, errb.String())
	}
}
