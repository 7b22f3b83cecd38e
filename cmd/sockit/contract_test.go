package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sockit/sockit/proto/chargen"
	"github.com/sockit/sockit/proto/daytime"
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
		{"", []string{"get", "-sS", "-o", "/dev/null", "-w", "%{http_code}", http}}, // -s alone silences it, as curl's
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

// TestClientsCannotHang runs every client command against the four
// misbehaving servers (sockittest.Misbehave: silent, stalled after half a
// reply, trickling a byte every 250 ms — faster than --timeout, so only
// the 1 KiB rule ends it — and hanging up mid-reply), over TCP and UDP:
// each ends within --timeout plus a margin, with one line per message,
// each with its prefix, and its documented exit status: 28 for a timeout.
// echo, daytime, time, chargen, discard and qotd tcp:// waited forever on
// the silent server.
func TestClientsCannotHang(t *testing.T) {
	const timeout = time.Second
	const margin = 2 * time.Second // a loaded machine; the bound itself is --timeout
	every := 250 * time.Millisecond
	same := func(req []byte) []byte { return req }
	fixed := func(b []byte) func([]byte) []byte { return func([]byte) []byte { return b } }
	quote := []byte("A quote that is neither short nor long.\r\n")
	line := []byte(daytime.Format(time.Now(), "nist") + "\n")
	stamp := []byte{0xe9, 0x8a, 0x1c, 0x00}
	pattern := chargen.Append(nil, 0, 7400)
	response := []byte("HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n" + strings.Repeat("x", 2000))
	const (
		T = exitTimeout
		F = exitFailure
	)
	type want [4]int // exit status for silent, stall, trickle, hangup
	for _, tc := range []struct {
		network string
		script  sockittest.Script
		stdin   string
		args    []string // the endpoint is appended, or put where "@" is
		want    want
	}{
		{"tcp", sockittest.Script{Request: true, Reply: same}, "", []string{"echo", "@", "hello"}, want{T, T, T, F}},
		{"udp", sockittest.Script{Reply: same}, "", []string{"echo", "@", "hello"}, want{T, F, F, F}},
		{"tcp", sockittest.Script{Request: true}, "hello", []string{"discard"}, want{T, T, T, 0}},
		{"tcp", sockittest.Script{Reply: fixed(pattern)}, "", []string{"chargen"}, want{T, T, T, F}},
		{"udp", sockittest.Script{Reply: fixed(pattern[:512])}, "", []string{"chargen"}, want{T, 0, 0, F}},
		{"tcp", sockittest.Script{Reply: fixed(quote)}, "", []string{"qotd"}, want{T, T, T, 0}},
		{"udp", sockittest.Script{Reply: fixed(quote)}, "", []string{"qotd"}, want{T, 0, 0, F}},
		{"tcp", sockittest.Script{Reply: fixed(line)}, "", []string{"daytime"}, want{T, T, T, 0}},
		{"udp", sockittest.Script{Reply: fixed(line)}, "", []string{"daytime"}, want{T, 0, F, F}}, // NIST's line begins "\n": a 1-byte trickle is empty
		{"tcp", sockittest.Script{Reply: fixed(stamp)}, "", []string{"time"}, want{T, T, T, F}},
		{"udp", sockittest.Script{Reply: fixed(stamp)}, "", []string{"time"}, want{T, F, F, F}},
		{"tcp", sockittest.Script{Request: true, Reply: fixed(quote)}, "hello", []string{"connect"}, want{T, T, T, 0}},
		// nc -u -w: idle for --timeout after stdin ended is the end, not a
		// failure; each datagram is a whole message, so a trickle of them
		// keeps the relay going as long as they come (skip: -1); a closed
		// port is ICMP's connection refused.
		{"udp", sockittest.Script{Reply: fixed(quote)}, "hello", []string{"connect"}, want{0, 0, -1, F}},
		{"udp", sockittest.Script{}, "hello", []string{"discard"}, want{0, 0, 0, 0}}, // awaits nothing
		// Half of the response is in its body (curl's 18), half of its head is not (8).
		{"tcp", sockittest.Script{Request: true, Reply: fixed(response)}, "", []string{"get", "-o", "/dev/null", "http://@/"}, want{T, T, T, exitPartial}},
		{"tcp", sockittest.Script{Request: true, Reply: fixed(response[:40])}, "", []string{"get", "-o", "/dev/null", "http://@/"}, want{T, T, T, exitMalformed}},
		{"tcp", sockittest.Script{Request: true, Reply: fixed(response[:40])}, "", []string{"head", "http://@/"}, want{T, T, T, exitMalformed}},
		{"tcp", sockittest.Script{Request: true, Reply: dnsReply(t, true)}, "", []string{"resolve", "--server", "tcp://@", "a.test"}, want{T, T, T, F}},
		// A datagram that is not a DNS answer is ignored (anyone can send
		// one): the query then times out.
		{"udp", sockittest.Script{Reply: dnsReply(t, false)}, "", []string{"resolve", "--retries", "0", "--server", "udp://@", "a.test"}, want{T, T, T, F}},
	} {
		for i, how := range sockittest.Misbehaviours {
			tc.script.Every = every
			name := tc.network + " " + strings.Join(tc.args, " ") + "/" + how.String()
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				if tc.want[i] < 0 {
					t.Skip("no bound to check: the server's datagrams keep the relay going")
				}
				addr := sockittest.Misbehave(t, tc.network, how, tc.script)
				args := append([]string{tc.args[0], "--timeout", fmt.Sprint(timeout.Seconds())}, tc.args[1:]...)
				if !slices.ContainsFunc(args, func(a string) bool { return strings.Contains(a, "@") }) {
					args = append(args, "@")
				}
				for i, a := range args {
					if a == "@" {
						a = tc.network + "://@"
					}
					args[i] = strings.Replace(a, "@", addr, 1)
				}
				if tc.args[0] != "connect" && tc.args[0] != "get" && tc.args[0] != "head" && tc.args[0] != "discard" && tc.args[0] != "resolve" {
					args = slices.Insert(args, 1, "--retries", "0")
				}
				start := time.Now()
				r := sockitRun(t, tc.stdin, args...)
				el := time.Since(start)
				t.Logf("exit %d after %v: %q", r.code, el.Round(time.Millisecond), r.stderr)
				if r.code != tc.want[i] || el > timeout+margin {
					t.Errorf("%v: exit %d after %v, stderr %q; want %d within %v", args, r.code, el.Round(time.Millisecond), r.stderr, tc.want[i], timeout+margin)
				}
				for _, l := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
					if r.code != 0 && !strings.HasPrefix(l, "sockit "+tc.args[0]+": ") {
						t.Errorf("%v: stderr line %q lacks the prefix", args, l)
					}
				}
				if r.code == T && !strings.Contains(r.stderr, "timed out") && !strings.Contains(r.stderr, "no reply") {
					t.Errorf("%v: a timeout that does not say so: %q", args, r.stderr)
				}
			})
		}
	}
}

// dnsReply answers a DNS query with one A record (over TCP, with the
// length prefix).
func dnsReply(t *testing.T, tcp bool) func([]byte) []byte {
	return func(req []byte) []byte {
		if tcp && len(req) >= 2 {
			req = req[2:]
		}
		q := new(dns.Msg)
		if err := q.Unpack(req); err != nil {
			return []byte("not dns")
		}
		m := new(dns.Msg)
		m.SetReply(q)
		if q.Question[0].Qtype == dns.TypeA {
			rr, _ := dns.NewRR(q.Question[0].Name + " 60 IN A 192.0.2.1")
			m.Answer = append(m.Answer, rr)
		}
		b, _ := m.Pack()
		if tcp {
			b = append([]byte{byte(len(b) >> 8), byte(len(b))}, b...)
		}
		return b
	}
}

// TestOneVoice runs the error paths of every command and fails on Go's
// or a package's own words in what they print, and on a line without the
// command's prefix: every message is worded in one place (internal/cli)
// and said as "sockit CMD: …".
func TestOneVoice(t *testing.T) {
	refused := sockittest.FreePort(t)
	dead := fmt.Sprintf("127.0.0.1:%d", refused)
	reset := sockittest.TCPPeer(t, func(c *net.TCPConn) { readSome(c); c.SetLinger(0) })
	closer := sockittest.TCPPeer(t, func(c *net.TCPConn) { readSome(c) })
	garbage := sockittest.TCPPeer(t, func(c *net.TCPConn) { readSome(c); c.Write([]byte("SSH-2.0-OpenSSH\r\n\r\n")) })
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	inUse := taken.Addr().String()
	missing := filepath.Join(t.TempDir(), "missing")
	for _, args := range [][]string{
		{"frob"},
		{"help", "frob"},
		{"connect"},
		{"connect", "tcp://" + dead},
		{"connect", "tcp://127.0.0.1:99999"},
		{"connect", "--timeout", "x", "tcp://" + dead},
		{"connect", "tcp://" + reset},
		{"connect", "unix://" + missing},
		{"connect", "nosuch.invalid:80"},
		{"listen", "tcp://" + inUse},
		{"listen", "unix:///proc/x/y"},
		{"echo", "tcp://" + dead, "hi"},
		{"echo", "tcp://" + reset, "hi"},
		{"echo", "--timeout", "0.3", "--retries", "0", "udp://" + dead, "hi"},
		{"discard", "tcp://" + dead},
		{"chargen", "--bytes", "x", "tcp://" + dead},
		{"chargen", "tcp://" + closer},
		{"qotd", "a", "b"},
		{"qotd", "udp://" + dead},
		{"qotd", "tcp://" + closer},
		{"daytime", "tcp://" + dead},
		{"daytime", "localhost:nosuchsvc"},
		{"time", "tcp://" + closer},
		{"time", "udp://" + dead},
		{"get", "http://127.0.0.1:99999/"},
		{"get", "http://a b/"},
		{"get", "http://[::1/"},
		{"get", "ftp://x/"},
		{"get", "http://" + dead + "/"},
		{"get", "http://" + closer + "/"},
		{"get", "http://" + reset + "/"},
		{"get", "http://" + garbage + "/"},
		{"get", "http://nosuch.invalid/"},
		{"get", "-d", "@" + missing, "http://" + dead + "/"},
		{"get", "--cacert", missing, "https://" + dead + "/"},
		{"get", "-w", "@" + missing, "http://" + dead + "/"},
		{"get", "--unix-socket", missing, "http://x/"},
		{"get", "-m", "x", "http://x/"},
		{"get", "-x", "ftp://p", "http://x/"},
		{"get", "-x", dead, "http://x/"},
		{"get", "-x", closer, "https://x/"},
		{"get", "-b", missing, "http://x/"},
		{"get", "-O", "http://" + dead + "/"},
		{"get", "unix://" + missing},
		{"get", "--resolve", "x", "http://x/"},
		{"get", "--retry", "-1", "http://x/"},
		{"head", "http://" + closer + "/"},
		{"resolve", "-f", missing},
		{"resolve", "--server", "127.0.0.1:99999", "a.test"},
		{"resolve", "--server", "tcp://" + closer, "a.test"},
		{"resolve", "--server", "tcp://" + dead, "a.test"},
		{"resolve", "-x", "nosuch"},
		{"resolve", "-4", "::1"},
		{"interfaces", "x"},
		{"bench", "-n", "x", "http://a/"},
		{"bench", "merge", missing},
		{"serve", "--frob"},
		{"serve", "echo=tcp://" + inUse},
		{"discard", "--retries", "1"},
		{"packet", "read", missing},
	} {
		r := sockitRun(t, "", args...)
		path := "sockit"
		if args[0] != "frob" {
			path += " " + args[0]
		}
		if args[0] == "bench" && args[1] == "merge" || args[0] == "packet" {
			path += " " + args[1]
		}
		t.Logf("%v: exit %d: %s", args, r.code, r.stderr)
		if r.code == 0 || r.stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want a failure said", args, r.code, r.stderr)
		}
		said := false
		for _, l := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
			if args[0] == "serve" && strings.HasPrefix(l, "time=") {
				continue // serve's log (start, stop), beside its error line
			}
			said = true
			if !strings.HasPrefix(l, path+": ") {
				t.Errorf("%v: line %q lacks the prefix %q", args, l, path+": ")
			}
			for _, words := range []string{"EOF", "dial tcp", "dial udp", "route ip+net", "httpraw:", `parse "`,
				`invalid port "`, "strconv", "context canceled", "context deadline", "i/o timeout", "use of closed",
				"lookup ", "read tcp", "write tcp", "read udp", "sockit: sockit", "open /"} {
				if strings.Contains(l, words) {
					t.Errorf("%v: Go's or a package's words %q in %q", args, words, l)
				}
			}
		}
		if !said {
			t.Errorf("%v: no line says the failure with the prefix %q", args, path+": ")
		}
	}
}
