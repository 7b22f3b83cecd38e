package sockittest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
)

// NetnsSide is one end of a veth pair in a network namespace of its own.
type NetnsSide struct {
	NS   string // namespace name, for ip netns exec
	Link string // interface name inside it
	IP   string // its IPv4 address (10.77.0.1 or 10.77.0.2, /24)
	MAC  net.HardwareAddr
}

// Exec returns a command that runs name inside the side's namespace.
func (s NetnsSide) Exec(name string, args ...string) *exec.Cmd {
	return exec.Command("ip", append([]string{"netns", "exec", s.NS, name}, args...)...)
}

var netnsSeq atomic.Int64

// RequireRoot skips a test that needs root (namespaces, raw sockets) when
// not root, except under CI (which runs as root), where it fails.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("this test needs root, and CI runs as root")
		}
		t.Skip("needs root (network namespaces, packet sockets)")
	}
}

// VethPair creates two network namespaces joined by a veth pair, both ends
// up with IPv4 addresses 10.77.0.1/24 and 10.77.0.2/24 and IPv6 off (no
// router solicitations or DAD frames in the way). Names carry the process
// id, so parallel test binaries do not collide. Everything is removed
// when the test ends.
func VethPair(t testing.TB) (a, b NetnsSide) {
	t.Helper()
	RequireRoot(t)
	ipPath := RequireTool(t, "ip")
	tag := netnsTag()
	a = NetnsSide{NS: "skA" + tag, Link: "skva" + tag, IP: "10.77.0.1"}
	b = NetnsSide{NS: "skB" + tag, Link: "skvb" + tag, IP: "10.77.0.2"}
	ip := func(args ...string) {
		t.Helper()
		runIP(t, ipPath, args...)
	}
	addNetns(t, ipPath, a.NS)
	addNetns(t, ipPath, b.NS)
	ip("-n", a.NS, "link", "add", a.Link, "type", "veth", "peer", "name", b.Link, "netns", b.NS)
	for _, s := range []*NetnsSide{&a, &b} {
		ip("netns", "exec", s.NS, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
		ip("netns", "exec", s.NS, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
		ip("-n", s.NS, "addr", "add", s.IP+"/24", "dev", s.Link)
		ip("-n", s.NS, "link", "set", "lo", "up")
		ip("-n", s.NS, "link", "set", s.Link, "up")
		out, err := exec.Command(ipPath, "-n", s.NS, "-o", "link", "show", s.Link).Output()
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(out))
		for i := range f {
			if f[i] == "link/ether" && i+1 < len(f) {
				s.MAC, _ = net.ParseMAC(f[i+1])
			}
		}
		if s.MAC == nil {
			t.Fatalf("no MAC address for %s in %q", s.Link, out)
		}
	}
	return a, b
}

// Netns creates one network namespace with only its loopback up, for a
// test that must bind fixed ports (a server's defaults) without meeting
// anything else on the host's loopback. It is removed when the test ends.
func Netns(t testing.TB) NetnsSide {
	t.Helper()
	RequireRoot(t)
	ipPath := RequireTool(t, "ip")
	s := NetnsSide{NS: "skN" + netnsTag(), Link: "lo", IP: "127.0.0.1"}
	addNetns(t, ipPath, s.NS)
	runIP(t, ipPath, "-n", s.NS, "link", "set", "lo", "up")
	return s
}

// netnsTag makes namespace names unique: the process id (parallel test
// binaries) and a letter from a sequence (tests in one binary).
func netnsTag() string {
	return fmt.Sprintf("%d%c", os.Getpid()%1000000, 'a'+rune(netnsSeq.Add(1)%26))
}

// addNetns adds the namespace name, deleted when the test ends.
func addNetns(t testing.TB, ipPath, name string) {
	t.Helper()
	runIP(t, ipPath, "netns", "add", name)
	t.Cleanup(func() { _ = exec.Command(ipPath, "netns", "del", name).Run() })
}

// runIP runs ip(8) with args and fails the test with its output on error.
func runIP(t testing.TB, ipPath string, args ...string) {
	t.Helper()
	if out, err := exec.Command(ipPath, args...).CombinedOutput(); err != nil {
		t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}
