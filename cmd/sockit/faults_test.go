package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

// testHost is a network namespace this test made, joined to the test's own
// namespace by a veth pair: a second host on a real (virtual) link, whose
// path the test can impair. Traffic goes only to its address.
type testHost struct {
	name      string // namespace
	hostAddr  string // the test's side of the link
	peerAddr  string // the namespace's side
	hostIface string
}

// newTestHost makes the namespace, or skips with a clear message when this
// is not possible here (not root, no ip(8), no netns support).
func newTestHost(t *testing.T) *testHost {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("fault tests need root to create network namespaces (CI runs them as root)")
	}
	ip := sockittest.RequireTool(t, "ip")
	var b [3]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	// A /30 of its own in 198.18.0.0/15 (RFC 2544's benchmarking range):
	// the host side lives in the root namespace, where another test run
	// may hold a link of its own at the same time.
	second, fourth := 18+int(b[0]&1), int(b[2]&^3)
	h := &testHost{name: "sockit-" + id, hostIface: "sk" + id + "a",
		hostAddr: fmt.Sprintf("198.%d.%d.%d", second, b[1], fourth+1),
		peerAddr: fmt.Sprintf("198.%d.%d.%d", second, b[1], fourth+2)}
	run := func(args ...string) error {
		out, err := exec.Command(ip, args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	peerIface := "sk" + id + "b"
	steps := [][]string{
		{"netns", "add", h.name},
		{"link", "add", h.hostIface, "type", "veth", "peer", "name", peerIface},
		{"link", "set", peerIface, "netns", h.name},
		{"addr", "add", h.hostAddr + "/30", "dev", h.hostIface},
		{"link", "set", h.hostIface, "up"},
		{"-n", h.name, "addr", "add", h.peerAddr + "/30", "dev", peerIface},
		{"-n", h.name, "link", "set", peerIface, "up"},
		{"-n", h.name, "link", "set", "lo", "up"},
	}
	t.Cleanup(func() {
		exec.Command(ip, "link", "del", h.hostIface).Run()
		exec.Command(ip, "netns", "del", h.name).Run()
	})
	for _, s := range steps {
		if err := run(s...); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatal(err)
			}
			t.Skipf("cannot build a test host here: %v", err)
		}
	}
	return h
}

// exec runs a command inside the namespace.
func (h *testHost) exec(t *testing.T, name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", h.name, name}, args...)...)
}

// nft loads an nftables ruleset into the namespace.
func (h *testHost) nft(t *testing.T, rules string) {
	t.Helper()
	nft := sockittest.RequireTool(t, "nft")
	cmd := exec.Command("ip", "netns", "exec", h.name, nft, "-f", "-")
	cmd.Stdin = strings.NewReader(rules)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("nft: %v: %s", err, out)
	}
}

// serve starts this test binary as `sockit serve ARGS` in the namespace and
// returns the announced addresses by "service network".
func (h *testHost) serve(t *testing.T, args ...string) map[string]string {
	t.Helper()
	cmd := h.exec(t, os.Args[0], append([]string{"serve"}, args...)...)
	cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addrs := map[string]string{}
	re := regexp.MustCompile(`msg=listening service=(\S+) network=(\S+) addr=(\S+)$`)
	want := 0
	for _, a := range args {
		if strings.Contains(a, "=") && !strings.HasPrefix(a, "-") {
			want++
		}
	}
	lines := make(chan []string, want)
	go func() {
		buf := make([]byte, 0, 4096)
		tmp := make([]byte, 512)
		for {
			n, err := stderr.Read(tmp)
			buf = append(buf, tmp[:n]...)
			for {
				i := bytes.IndexByte(buf, '\n')
				if i < 0 {
					break
				}
				if m := re.FindStringSubmatch(string(buf[:i])); m != nil {
					lines <- m
				}
				buf = buf[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	for len(addrs) < want {
		select {
		case m := <-lines:
			addrs[m[1]+" "+m[2]] = m[3]
		case <-time.After(10 * time.Second):
			t.Fatal("serve in the namespace did not announce its listeners")
		}
	}
	return addrs
}

// TestEchoAcrossRateLimitedLink sends 50 MiB through `sockit connect` to
// `sockit serve` on the other side of a veth link shaped by tbf, and
// expects every byte back in order.
func TestEchoAcrossRateLimitedLink(t *testing.T) {
	h := newTestHost(t)
	if out, err := exec.Command("tc", "qdisc", "add", "dev", h.hostIface, "root", "tbf", "rate", "400mbit", "burst", "256kb", "latency", "50ms").CombinedOutput(); err != nil {
		t.Skipf("tbf is not available here: %v: %s", err, out)
	}
	addrs := h.serve(t, "echo=tcp://"+h.peerAddr+":0")
	data := sockittest.RandomBytes(50<<20, 77)
	var out bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var errb bytes.Buffer
	code := run(ctx, []string{"connect", "tcp://" + addrs["echo tcp"]}, bytes.NewReader(data), &out, &errb)
	if code != 0 {
		t.Fatalf("connect exit %d: %s", code, errb.String())
	}
	if !bytes.Equal(out.Bytes(), data) {
		t.Fatalf("50 MiB across the shaped link: got %d bytes back, want %d identical", out.Len(), len(data))
	}
}

// TestUDPClientsUnderLoss drops 30 % of the datagrams reaching the server
// (nftables, numgen) and runs each UDP client 20 times: every run must
// succeed within its retry budget, and the resends must show on stderr.
func TestUDPClientsUnderLoss(t *testing.T) {
	h := newTestHost(t)
	addrs := h.serve(t, "--udp-burst", "1000000", "qotd=udp://"+h.peerAddr+":0", "daytime=udp://"+h.peerAddr+":0", "time=udp://"+h.peerAddr+":0")
	h.nft(t, `table inet sockit_loss {
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport 1024-65535 numgen random mod 100 < 30 drop
	}
}
`)
	resends := 0
	for _, svc := range []string{"qotd", "daytime", "time"} {
		for i := range 20 {
			r := sockitRun(t, "", svc, "--timeout", "150ms", "--retries", "15", "udp://"+addrs[svc+" udp"])
			if r.code != 0 {
				t.Fatalf("%s run %d under 30%% loss: exit %d: %s", svc, i, r.code, r.stderr)
			}
			resends += strings.Count(r.stderr, "resending")
		}
	}
	t.Logf("60 queries under 30%% loss: %d resends, all answered", resends)
	if resends == 0 {
		t.Error("no resend in 60 queries at 30% loss: the loss rule did not apply")
	}
}

// TestConnectTimeoutToBlackhole drops every TCP SYN to a port on the test
// host: connect must give up at its timeout with a clear error.
func TestConnectTimeoutToBlackhole(t *testing.T) {
	h := newTestHost(t)
	h.nft(t, `table inet sockit_hole {
	chain in {
		type filter hook input priority 0; policy accept;
		tcp dport 9 drop
	}
}
`)
	start := time.Now()
	r := sockitRun(t, "", "connect", "--timeout", "500ms", "tcp://"+h.peerAddr+":9")
	el := time.Since(start)
	if r.code != exitTimeout || !strings.Contains(r.stderr, "sockit connect: connect to "+h.peerAddr+":9 (tcp): timed out\n") {
		t.Fatalf("blackholed connect: exit %d, %q", r.code, r.stderr)
	}
	if el > 5*time.Second {
		t.Errorf("connect to a blackhole took %v with --timeout 500ms", el)
	}
	t.Logf("blackholed connect gave up after %v", el.Round(time.Millisecond))
}
