package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/miekg/dns"

	"github.com/sockit/sockit/sockittest"
)

// resolveDNS serves host.test (A answered, AAAA refused), ok.test (A and
// AAAA) and a PTR for 192.0.2.1, and counts the queries that came over TCP.
func resolveDNS(t *testing.T) (addr string, tcp *atomic.Int64) {
	tcp = new(atomic.Int64)
	addr = sockittest.ServeDNS(t, dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		if w.RemoteAddr().Network() == "tcp" {
			tcp.Add(1)
		}
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		add := func(s string) {
			rr, err := dns.NewRR(s)
			if err != nil {
				panic(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		switch {
		case q.Name == "host.test." && q.Qtype == dns.TypeA:
			add("host.test. 60 IN A 192.0.2.1")
		case q.Name == "host.test." && q.Qtype == dns.TypeAAAA:
			m.Rcode = dns.RcodeRefused
		case q.Name == "ok.test." && q.Qtype == dns.TypeA:
			add("ok.test. 60 IN A 192.0.2.2")
		case q.Name == "ok.test." && q.Qtype == dns.TypeAAAA:
			add("ok.test. 60 IN AAAA 2001:db8::2")
		case q.Name == "1.2.0.192.in-addr.arpa." && q.Qtype == dns.TypePTR:
			add("1.2.0.192.in-addr.arpa. 60 IN PTR host.test.")
		default:
			m.Rcode = dns.RcodeNameError
		}
		w.WriteMsg(m)
	}))
	return addr, tcp
}

func TestResolveServerCommand(t *testing.T) {
	addr, tcp := resolveDNS(t)

	// A refused AAAA query keeps the A answer, says so on stderr, exit 0.
	r := sockitRun(t, "", "resolve", "--server", addr, "host.test")
	if r.code != 0 || r.stdout != "192.0.2.1\n" ||
		!strings.Contains(r.stderr, "sockit resolve: host.test: AAAA query") || !strings.Contains(r.stderr, "REFUSED") {
		t.Errorf("refused AAAA: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// The shape does not depend on how many names: ADDR alone by default,
	// NAME ADDR with -H for one name as for several.
	r = sockitRun(t, "", "resolve", "--server", addr, "ok.test", "ok.test")
	if r.code != 0 || r.stdout != "192.0.2.2\n2001:db8::2\n192.0.2.2\n2001:db8::2\n" {
		t.Errorf("two names: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = sockitRun(t, "", "resolve", "-4", "-H", "--server", addr, "ok.test")
	if r.code != 0 || r.stdout != "ok.test 192.0.2.2\n" {
		t.Errorf("-H one name: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// A name with no answer at all is exit 1.
	r = sockitRun(t, "", "resolve", "--server", addr, "ok.test", "nosuch.test")
	if r.code != 1 || r.stderr != "sockit resolve: nosuch.test: no such host\n" {
		t.Errorf("NXDOMAIN: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// -x prints host names without the trailing dot, with or without --server.
	r = sockitRun(t, "", "resolve", "-x", "--server", addr, "192.0.2.1")
	if r.code != 0 || r.stdout != "host.test\n" {
		t.Errorf("-x --server: %d %q %q", r.code, r.stdout, r.stderr)
	}
	r = sockitRun(t, "", "resolve", "-x", "127.0.0.1")
	if r.code != 0 || strings.Contains(r.stdout, ".\n") || !strings.Contains(r.stdout, "localhost\n") {
		t.Errorf("-x system: %d %q %q", r.code, r.stdout, r.stderr)
	}

	// The server in endpoint notation; tcp:// and --tcp ask over TCP only.
	r = sockitRun(t, "", "resolve", "-4", "--server", "udp://"+addr, "ok.test")
	if r.code != 0 || r.stdout != "192.0.2.2\n" || tcp.Load() != 0 {
		t.Errorf("udp:// server: %d %q %q (tcp queries %d)", r.code, r.stdout, r.stderr, tcp.Load())
	}
	r = sockitRun(t, "", "resolve", "-4", "--server", "tcp://"+addr, "ok.test")
	if r.code != 0 || r.stdout != "192.0.2.2\n" || tcp.Load() != 1 {
		t.Errorf("tcp:// server: %d %q %q (tcp queries %d)", r.code, r.stdout, r.stderr, tcp.Load())
	}
	r = sockitRun(t, "", "resolve", "-4", "--tcp", "--server", addr, "ok.test")
	if r.code != 0 || r.stdout != "192.0.2.2\n" || tcp.Load() != 2 {
		t.Errorf("--tcp: %d %q %q (tcp queries %d)", r.code, r.stdout, r.stderr, tcp.Load())
	}
}

func TestResolveUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"resolve", "-x", "localhost"}, "not an IP address"},
		{[]string{"resolve", "--concurrency", "0", "-f", "-"}, "--concurrency 0"},
		{[]string{"resolve", "--concurrency", "-3", "x"}, "--concurrency -3"},
		{[]string{"resolve", "--timeout", "0s", "x"}, "--timeout"},
		{[]string{"resolve", "--server", "unix:///tmp/x", "x"}, "--server"},
		{[]string{"resolve", "--server", "udp://127.0.0.1:99999", "x"}, "--server"},
		{[]string{"resolve", "--tcp", "x"}, "--tcp needs --server"},
	}
	for _, tt := range tests {
		r := sockitRun(t, "", tt.args...)
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, "sockit resolve: ") || !strings.Contains(r.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, r.code, r.stderr, exitUsage, tt.want)
		}
	}
}

// TestResolveBulkCommand runs -f through the bulk path (--server over UDP):
// input order, -H, stdin, and the errors of a name reported on stderr.
func TestResolveBulkCommand(t *testing.T) {
	addr, _ := resolveDNS(t)
	var in strings.Builder
	var want strings.Builder
	for range 300 {
		in.WriteString("ok.test\nnosuch.test\nhost.test\n")
		want.WriteString("ok.test 192.0.2.2\nok.test 2001:db8::2\nhost.test 192.0.2.1\n")
	}
	r := sockitRun(t, in.String(), "resolve", "-H", "--server", addr, "-f", "-", "--concurrency", "50", "--rate", "100000")
	if r.code != 1 || r.stdout != want.String() {
		t.Errorf("exit %d, stdout %d bytes, want %d in order", r.code, len(r.stdout), want.Len())
	}
	if n := strings.Count(r.stderr, "sockit resolve: nosuch.test: no such host\n"); n != 300 ||
		strings.Count(r.stderr, "sockit resolve: host.test: AAAA query: server "+addr+" answered REFUSED\n") != 300 {
		t.Errorf("stderr: %d NXDOMAIN lines; %q...", n, r.stderr[:min(len(r.stderr), 300)])
	}
	r = sockitRun(t, "ok.test\nok.test\n", "resolve", "-4", "--unordered", "--json", "--server", addr, "-f", "-")
	if r.code != 0 || r.stdout != "[\n  {\n    \"name\": \"ok.test\",\n    \"addresses\": [\n      \"192.0.2.2\"\n    ]\n  },\n  {\n    \"name\": \"ok.test\",\n    \"addresses\": [\n      \"192.0.2.2\"\n    ]\n  }\n]\n" {
		t.Errorf("--json: %d %q %q", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"--rate", "-1"}, {"--retries", "-1"}} {
		r = sockitRun(t, "", append([]string{"resolve", "--server", addr, "ok.test"}, args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, args[0]) {
			t.Errorf("%v: %d %q", args, r.code, r.stderr)
		}
	}
}

// A list that cannot be read to its end (a line past 64 KiB) is an error
// that says so, after the names before it, not a silent stop.
func TestResolveListTooLongLine(t *testing.T) {
	addr, _ := resolveDNS(t)
	long := strings.Repeat("x", 70000)
	for _, tt := range []struct {
		args       []string
		in, stdout string
	}{
		{[]string{"--server", addr}, "ok.test\n" + long + "\nok.test\n", "192.0.2.2\n"},
		// The system resolver's path, with a name from /etc/hosts only.
		{nil, "localhost\n" + long + "\nlocalhost\n", "127.0.0.1\n"},
	} {
		r := sockitRun(t, tt.in, append([]string{"resolve", "-4", "-f", "-"}, tt.args...)...)
		if r.code != 1 || !strings.Contains(r.stderr, "sockit resolve: -: a line longer than 64 KiB") || r.stdout != tt.stdout {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", tt.args, r.code, r.stdout, r.stderr)
		}
	}
}

// Ctrl-C (the context's end) during a bulk run: quiet, exit 130.
func TestResolveInterrupted(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0") // a server that never answers
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- run(ctx, []string{"resolve", "--server", pc.LocalAddr().String(), "a.test", "b.test"}, strings.NewReader(""), &out, &errb)
	}()
	buf := make([]byte, 512)
	if _, _, err := pc.ReadFrom(buf); err != nil { // the run has started
		t.Fatal(err)
	}
	cancel()
	if code := <-done; code != exitInterrupted || errb.Len() != 0 {
		t.Errorf("exit %d, stderr %q; want 130 and nothing", code, errb.String())
	}
}

// TestResolvePresentation (issue 22 item 15): a name that is not
// printable ASCII is shown as dig shows it (\255\254), never raw; an
// address of the family -4/-6 excludes names the mismatch; --json -x lists
// an address's names under "names", not "addresses".
func TestResolvePresentation(t *testing.T) {
	addr, _ := resolveDNS(t)
	r := sockitRun(t, "", "resolve", "-4", "-H", "--server", "tcp://"+addr, "\xff\xfea b.test")
	if r.code != 1 || r.stderr != `sockit resolve: \255\254a\032b.test: no such host`+"\n" {
		t.Errorf("non-UTF-8 name: %d %q", r.code, r.stderr)
	}
	r = sockitRun(t, "", "resolve", "--json", "-4", "--server", "tcp://"+addr, "\xffx.test")
	if r.code != 1 || !strings.Contains(r.stdout, `"name": "\\255x.test"`) {
		t.Errorf("non-UTF-8 name --json: %d %q", r.code, r.stdout)
	}
	for _, tc := range []struct{ flag, addr, want string }{
		{"-4", "::1", "sockit resolve: ::1: an IPv6 address, and only IPv4 was asked for\n"},
		{"-6", "127.0.0.1", "sockit resolve: 127.0.0.1: an IPv4 address, and only IPv6 was asked for\n"},
	} {
		if r := sockitRun(t, "", "resolve", tc.flag, tc.addr); r.code != 1 || r.stderr != tc.want {
			t.Errorf("resolve %s %s: %d %q", tc.flag, tc.addr, r.code, r.stderr)
		}
	}
	r = sockitRun(t, "", "resolve", "--json", "-x", "--server", addr, "192.0.2.1")
	if r.code != 0 || r.stdout != "[\n  {\n    \"address\": \"192.0.2.1\",\n    \"names\": [\n      \"host.test\"\n    ]\n  }\n]\n" {
		t.Errorf("--json -x: %d %q", r.code, r.stdout)
	}
}
