package sockittest

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"
)

// RequireTool returns the path of an external program a test talks to. When
// it is missing the test is skipped — except under CI (CI=true), whose
// .ci/run installs every peer, where a missing one fails the test.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not installed; .ci/run should have installed it", name)
		}
		t.Skipf("%s is not installed (apt-get install it to run this interop test)", name)
	}
	return p
}

// WaitLine reads r until a line matches re and returns the submatches; the
// rest of r is drained in the background so the writer never blocks. It fails
// the test if r ends or timeout passes first.
func WaitLine(t testing.TB, r io.Reader, re *regexp.Regexp, timeout time.Duration) []string {
	t.Helper()
	found := make(chan []string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		sent := false
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil && !sent {
				found <- m
				sent = true
			}
		}
		if !sent {
			close(found)
		}
	}()
	select {
	case m, ok := <-found:
		if !ok {
			t.Fatalf("output ended before a line matching %s", re)
		}
		return m
	case <-time.After(timeout):
		t.Fatalf("no line matching %s within %v", re, timeout)
	}
	return nil
}

// FreePort returns a port on 127.0.0.1 that was free for both TCP and UDP a
// moment ago, for peers such as ncat and xinetd that cannot report the port
// they bind for port 0.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, pc := ListenTCPAndUDP(t)
	defer ln.Close()
	defer pc.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// ListenTCPAndUDP binds a TCP listener and a UDP socket on one port of
// 127.0.0.1, for servers that answer on both (DNS). The port is chosen by
// the kernel for TCP; when another test already holds that port for UDP it
// tries again with a new one, up to 50 times.
func ListenTCPAndUDP(t testing.TB) (net.Listener, net.PacketConn) {
	t.Helper()
	var lastErr error
	for range 50 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pc, err := net.ListenPacket("udp", ln.Addr().String())
		if err == nil {
			return ln, pc
		}
		ln.Close()
		lastErr = err
	}
	t.Fatalf("no port free for both TCP and UDP: %v", lastErr)
	return nil, nil
}

// RandomBytes returns n bytes from a seeded generator, so a failure repeats.
func RandomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

// Eventually polls cond until it holds, failing the test after timeout. It
// is for state with no event to wait on (a counter another process owns);
// where there is an event, wait on it instead.
func Eventually(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v still not: %s", timeout, what)
		}
		<-tick.C
	}
}

// TCPPeer listens on 127.0.0.1:0 and runs answer on every connection, one
// at a time, closing it after; answer bounds its own reads (the test waits
// for it to return). It returns the address; the peer stops with the test.
func TCPPeer(t testing.TB, answer func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			answer(c.(*net.TCPConn))
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return ln.Addr().String()
}

// CannedServer listens on 127.0.0.1:0 and answers every connection, once
// its request head (up to a blank line) has arrived, with response written
// in pieces of at most chunk bytes (0: one write), then closes. It returns
// the address; the server stops with the test.
func CannedServer(t testing.TB, response []byte, chunk int) string {
	t.Helper()
	return TCPPeer(t, func(c *net.TCPConn) {
		buf := make([]byte, 4096)
		got := 0
		for !bytes.Contains(buf[:got], []byte("\r\n\r\n")) && got < len(buf) {
			n, err := c.Read(buf[got:])
			if err != nil {
				break
			}
			got += n
		}
		for b := response; len(b) > 0; {
			n := len(b)
			if chunk > 0 {
				n = min(n, chunk)
			}
			if _, err := c.Write(b[:n]); err != nil {
				break
			}
			b = b[n:]
		}
	})
}
