package server

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/sockittest"
)

// reply is one datagram for a batch: where to and what.
type reply struct {
	to   *net.UDPConn
	data []byte
}

// loadBatch queues replies in b.send as prepareReplies would and returns
// how many.
func loadBatch(t *testing.T, b *udpBatch, replies []reply) int {
	t.Helper()
	b.send.Reset()
	addrs := make([]unix.RawSockaddrInet4, len(replies)) // kept by the batch until sent
	for i, r := range replies {
		ap := r.to.LocalAddr().(*net.UDPAddr).AddrPort()
		sa := &addrs[i]
		sa.Family = unix.AF_INET
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		p[0], p[1] = byte(ap.Port()>>8), byte(ap.Port())
		sa.Addr = ap.Addr().As4()
		b.send.Add(r.data, (*byte)(unsafe.Pointer(sa)), unix.SizeofSockaddrInet4)
	}
	return len(replies)
}

// expectReplies reads, on each receiver, the datagrams sent to it, in order.
func expectReplies(t *testing.T, replies []reply) {
	t.Helper()
	buf := make([]byte, 70000)
	for i, r := range replies {
		r.to.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := r.to.Read(buf)
		if err != nil {
			t.Fatalf("reply %d: %v", i, err)
		}
		if !bytes.Equal(buf[:n], r.data) {
			t.Fatalf("reply %d: got %d bytes %.20q…, want %d bytes %.20q…", i, n, buf[:n], len(r.data), r.data)
		}
	}
}

func udpSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func socketFD(t *testing.T, c *net.UDPConn) int {
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd
}

// sentCounter is a ListenerRecorder that counts the datagrams sent.
type sentCounter struct{ dgrams atomic.Int64 }

func (*sentCounter) Accepted()               {}
func (*sentCounter) Closed()                 {}
func (*sentCounter) Received(int, int)       {}
func (c *sentCounter) Sent(datagrams, _ int) { c.dgrams.Add(int64(datagrams)) }
func (*sentCounter) Dropped(string, int)     {}

// TestCoalesceKeepsEveryDatagram: runs of replies to one address leave as
// segmented messages, and each receiver still gets every datagram, byte for
// byte, in order.
func TestCoalesceKeepsEveryDatagram(t *testing.T) {
	snd, r1, r2 := udpSocket(t), udpSocket(t), udpSocket(t)
	data := func(n int, seed uint64) []byte { return sockittest.RandomBytes(n, seed) }
	var replies []reply
	for i := range 5 {
		replies = append(replies, reply{r1, data(64, uint64(i))}) // one message…
	}
	replies = append(replies,
		reply{r1, data(30, 10)},   // …ended by a shorter last segment
		reply{r1, data(64, 11)},   // a new message
		reply{r1, data(64, 12)},   //
		reply{r2, data(100, 13)},  // another address: a new message
		reply{r2, data(100, 14)},  //
		reply{r2, data(120, 15)},  // longer than the segment: a new message
		reply{r1, data(2000, 16)}, // too large to segment: alone
		reply{r2, nil},            // an empty datagram: alone
		reply{r2, data(8, 17)},
	)
	b := newUDPBatch()
	k := loadBatch(t, b, replies)
	m := b.send.Coalesce(true)
	if want := 7; m != want {
		t.Errorf("coalesce made %d messages of %d replies, want %d", m, k, want)
	}
	var sent sentCounter
	b.sendAll(socketFD(t, snd), m, &counters{r: &sent})
	var mine, theirs []reply
	for _, r := range replies {
		if r.to == r1 {
			mine = append(mine, r)
		} else {
			theirs = append(theirs, r)
		}
	}
	expectReplies(t, mine)
	expectReplies(t, theirs)
	if got := sent.dgrams.Load(); got != int64(k) {
		t.Errorf("datagrams counted out: %v, want %d", got, k)
	}
}

// TestCoalesceFallsBack: where the path cannot carry a segment (here a
// loopback whose MTU is below the segment size, in a network namespace of
// the test's own), the kernel refuses the segmented message; its datagrams
// are then sent one by one (and fragmented), and none is lost.
func TestCoalesceFallsBack(t *testing.T) {
	ip, err := exec.LookPath("ip")
	if os.Geteuid() != 0 || err != nil {
		t.Skip("needs root and ip(8) for a network namespace")
	}
	ns := fmt.Sprintf("sockit-gso-%d", os.Getpid())
	if out, err := exec.Command(ip, "netns", "add", ns).CombinedOutput(); err != nil {
		t.Skipf("no network namespaces here: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command(ip, "netns", "del", ns).Run() })
	if out, err := exec.Command(ip, "-n", ns, "link", "set", "lo", "mtu", "1000", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo in %s: %v %s", ns, err, out)
	}
	var snd, rcv *net.UDPConn
	inNamespace(t, ns, func() { snd, rcv = udpSocket(t), udpSocket(t) })
	var replies []reply
	for i := range 3 {
		replies = append(replies, reply{rcv, sockittest.RandomBytes(1200, uint64(i))})
	}
	b := newUDPBatch()
	loadBatch(t, b, replies)
	if m := b.send.Coalesce(true); m != 1 {
		t.Fatalf("coalesce made %d messages, want 1", m)
	}
	var sent sentCounter
	b.sendAll(socketFD(t, snd), 1, &counters{r: &sent})
	expectReplies(t, replies)
	if got := sent.dgrams.Load(); got != 3 {
		t.Errorf("datagrams counted out: %v, want 3", got)
	}
}

// inNamespace runs f on a thread switched into network namespace ns, so the
// sockets f opens live there.
func inNamespace(t *testing.T, ns string, f func()) {
	t.Helper()
	runtime.LockOSThread()
	self, err := os.Open("/proc/thread-self/ns/net")
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer self.Close()
	target, err := os.Open("/run/netns/" + ns)
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	defer target.Close()
	if err := unix.Setns(int(target.Fd()), unix.CLONE_NEWNET); err != nil {
		runtime.UnlockOSThread()
		t.Fatal(err)
	}
	f()
	if err := unix.Setns(int(self.Fd()), unix.CLONE_NEWNET); err != nil {
		// The thread stays locked, so Go ends it with this goroutine.
		t.Fatalf("back to the test's namespace: %v", err)
	}
	runtime.UnlockOSThread()
}
