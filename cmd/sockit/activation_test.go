package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

// notifySocket is a NOTIFY_SOCKET owned by the test: every datagram sockit
// sends is a line on the returned channel.
func notifySocket(t *testing.T) (path string, states <-chan string) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "notify")
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan string, 100)
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, _, err := c.ReadFrom(buf)
			if err != nil {
				return
			}
			for _, l := range strings.Split(string(buf[:n]), "\n") {
				select {
				case ch <- l:
				default:
				}
			}
		}
	}()
	t.Cleanup(func() { c.Close(); <-done })
	return path, ch
}

func waitState(t *testing.T, states <-chan string, want string) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case s := <-states:
			if s == want {
				return
			}
		case <-deadline:
			t.Fatalf("no %s on NOTIFY_SOCKET", want)
		}
	}
}

// sockets returns the socket inodes process pid holds.
func sockets(t *testing.T, pid int) map[string]bool {
	t.Helper()
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := map[string]bool{}
	for _, e := range ents {
		if l, err := os.Readlink(filepath.Join(dir, e.Name())); err == nil && strings.HasPrefix(l, "socket:") {
			s[l] = true
		}
	}
	return s
}

// outLines is a process's output, line by line, for waiting on.
type outLines chan string

func readLines(r io.Reader) outLines {
	ch := make(outLines, 1024)
	go func() {
		defer close(ch)
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
	}()
	return ch
}

// wait returns the submatches of the next line matching re.
func (l outLines) wait(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case line, ok := <-l:
			if !ok {
				t.Fatalf("output ended before a line matching %s", re)
			}
			if m := re.FindStringSubmatch(line); m != nil {
				return m
			}
		case <-deadline:
			t.Fatalf("no line matching %s", re)
		}
	}
}

// activate starts systemd-socket-activate with args, running this test
// binary as `sockit serve` (see TestMain) once a client connects, and waits
// until it listens on all n addresses.
func activate(t *testing.T, n int, args ...string) (*exec.Cmd, outLines) {
	t.Helper()
	return activateServe(t, n, args, "--grace", "5s")
}

// activateServe is activate with serve's arguments.
func activateServe(t *testing.T, n int, args []string, serveArgs ...string) (*exec.Cmd, outLines) {
	t.Helper()
	sa := sockittest.RequireTool(t, "systemd-socket-activate")
	cmd := exec.Command(sa, append(append(append([]string{"-E", "SOCKIT_BE_MAIN=1"}, args...), os.Args[0], "serve"), serveArgs...)...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	out := readLines(stderr)
	for range n {
		out.wait(t, regexp.MustCompile(`^Listening on \S+ as \d+\.$`))
	}
	return cmd, out
}

// TestSocketActivation runs `sockit serve` under the real
// systemd-socket-activate with TCP and unix sockets named echo, daytime and
// metrics, talks to them with ncat and sockit's clients, follows READY=1,
// WATCHDOG=1 and STOPPING=1 on a NOTIFY_SOCKET the test owns, and checks
// that sockit opened no listening socket of its own.
func TestSocketActivation(t *testing.T) {
	ncat := sockittest.RequireTool(t, "ncat")
	notify, states := notifySocket(t)
	echoPort, daytimePort, metricsPort := sockittest.FreePort(t), sockittest.FreePort(t), sockittest.FreePort(t)
	unixPath := filepath.Join(t.TempDir(), "echo.sock")
	cmd, stderr := activate(t, 4,
		"-l", "127.0.0.1:"+strconv.Itoa(echoPort), "-l", "127.0.0.1:"+strconv.Itoa(daytimePort),
		"-l", unixPath, "-l", "127.0.0.1:"+strconv.Itoa(metricsPort),
		"--fdname=echo:daytime:echo:metrics",
		"-E", "NOTIFY_SOCKET="+notify, "-E", "WATCHDOG_USEC=200000")
	passed := sockets(t, cmd.Process.Pid) // systemd-socket-activate execs sockit in this process

	// ncat's connection is the one that starts sockit.
	data := sockittest.RandomBytes(256<<10, 41)
	nc := exec.Command(ncat, "127.0.0.1", strconv.Itoa(echoPort))
	nc.Stdin = bytes.NewReader(data)
	if out, err := nc.Output(); err != nil || !bytes.Equal(out, data) {
		t.Errorf("ncat through activated echo: %d of %d bytes, %v", len(out), len(data), err)
	}
	waitState(t, states, "READY=1")
	stderr.wait(t, regexp.MustCompile(`msg=listening service=echo network=unix addr=`+regexp.QuoteMeta(unixPath)+`$`))

	if r := sockitRun(t, "", "daytime", "127.0.0.1:"+strconv.Itoa(daytimePort)); r.code != 0 || !strings.Contains(r.stdout, "UTC(NIST)") {
		t.Errorf("daytime over the activated socket: %+v", r)
	}
	if r := sockitRun(t, "", "echo", "unix://"+unixPath, "over", "unix"); r.code != 0 || r.stdout != "over unix\n" {
		t.Errorf("echo over the activated unix socket: %+v", r)
	}
	if r := sockitRun(t, "", "get", "-f", fmt.Sprintf("http://127.0.0.1:%d/readyz", metricsPort)); r.code != 0 {
		t.Errorf("readyz on the activated metrics socket: %+v", r)
	}
	waitState(t, states, "WATCHDOG=1")
	waitState(t, states, "WATCHDOG=1")

	// Every socket sockit holds now is one it was given (the clients'
	// connections are closed, perhaps a moment after they returned).
	sockittest.Eventually(t, 10*time.Second, "sockit holds only the passed sockets", func() bool {
		for s := range sockets(t, cmd.Process.Pid) {
			if !passed[s] {
				return false
			}
		}
		return true
	})

	cmd.Process.Signal(syscall.SIGTERM)
	waitState(t, states, "STOPPING=1")
	if err := cmd.Wait(); err != nil {
		t.Errorf("activated serve after SIGTERM: %v, want exit 0", err)
	}
}

// TestSocketActivationUDP passes one UDP socket (-d): the datagram that
// wakes sockit is answered, and the server opens no sibling socket of its
// own for its other loops.
func TestSocketActivationUDP(t *testing.T) {
	port := sockittest.FreePort(t)
	cmd, _ := activate(t, 1, "-d", "-l", "127.0.0.1:"+strconv.Itoa(port), "--fdname=echo")
	passed := sockets(t, cmd.Process.Pid)
	r := sockitRun(t, "", "echo", "--retries", "5", "udp://127.0.0.1:"+strconv.Itoa(port), "datagram")
	if r.code != 0 || r.stdout != "datagram\n" {
		t.Fatalf("echo over the activated UDP socket: %+v", r)
	}
	for s := range sockets(t, cmd.Process.Pid) {
		if !passed[s] {
			t.Errorf("sockit opened a socket of its own: %s", s)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("activated serve after SIGTERM: %v", err)
	}
}

// TestSocketActivationWithConfig runs serve as deploy/systemd/sockit.service
// does: activated, with the example config file, reloaded by SIGHUP (the
// passed socket carries on in the new generation).
func TestSocketActivationWithConfig(t *testing.T) {
	port := sockittest.FreePort(t)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	notify, states := notifySocket(t)
	cmd, out := activateServe(t, 1, []string{"-l", addr, "--fdname=echo", "-E", "NOTIFY_SOCKET=" + notify}, "--config", "../../deploy/sockit.example.toml")
	if err := echoOnce(addr, []byte("first")); err != nil {
		t.Fatal(err)
	}
	out.wait(t, regexp.MustCompile(`msg=listening service=echo network=tcp addr=`+regexp.QuoteMeta(addr)+`$`))
	waitState(t, states, "READY=1")
	cmd.Process.Signal(syscall.SIGHUP)
	out.wait(t, regexp.MustCompile(`msg=reloaded `))
	waitState(t, states, "RELOADING=1") // Type=notify-reload's protocol: RELOADING=1 with MONOTONIC_USEC, then READY=1
	waitState(t, states, "READY=1")
	if err := echoOnce(addr, []byte("after the reload")); err != nil {
		t.Errorf("echo on the passed socket after a reload: %v", err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v", err)
	}
}

// TestSocketActivationUnknownName: a socket named for no service is an
// error that says so, not a socket silently served as something.
func TestSocketActivationUnknownName(t *testing.T) {
	port := sockittest.FreePort(t)
	cmd, stderr := activate(t, 1, "-l", "127.0.0.1:"+strconv.Itoa(port), "--fdname=gopher")
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		defer c.Close()
	}
	stderr.wait(t, regexp.MustCompile(`named "gopher", which is no service`))
	if err := cmd.Wait(); err == nil {
		t.Error("serve with a socket named gopher exited 0")
	}
}

// TestInetdUnderXinetd runs `sockit serve --inetd` as xinetd `server =`
// entries: echo, daytime and chargen over TCP (wait = no: one process per
// connection on standard input) and echo over UDP (wait = yes: the socket
// itself, served until idle), each checked byte for byte.
func TestInetdUnderXinetd(t *testing.T) {
	bin := sockittest.RequireTool(t, "xinetd")
	if os.Geteuid() != 0 {
		t.Skip("xinetd needs root")
	}
	ports := map[string]int{}
	var conf strings.Builder
	conf.WriteString("defaults\n{\n\tbind = 127.0.0.1\n\tinstances = 50\n\tlog_type = FILE /dev/stderr\n\tlog_on_success = PID EXIT\n}\n")
	entry := func(id, sock, proto, wait, serverArgs string) {
		ports[id] = sockittest.FreePort(t)
		fmt.Fprintf(&conf, "service %s\n{\n\ttype = UNLISTED\n\tsocket_type = %s\n\tprotocol = %s\n\tport = %d\n\twait = %s\n\tuser = root\n\tserver = %s\n\tserver_args = %s\n\tenv = SOCKIT_BE_MAIN=1\n}\n",
			id, sock, proto, ports[id], wait, os.Args[0], serverArgs)
	}
	entry("sockit-echo", "stream", "tcp", "no", "serve --inetd echo")
	entry("sockit-daytime", "stream", "tcp", "no", "serve --inetd daytime")
	entry("sockit-chargen", "stream", "tcp", "no", "serve --inetd chargen")
	entry("sockit-echo-udp", "dgram", "udp", "yes", "serve --inetd echo --idle-timeout 1s")
	stderr, _ := sockittest.StartXinetd(t, bin, conf.String())
	log := readLines(stderr)
	if m := log.wait(t, regexp.MustCompile(`Started working: (\d+) available services`)); m[1] != "4" {
		t.Fatalf("xinetd started %s services, want 4 (is a port taken?)", m[1])
	}
	addr := func(id string) string { return "127.0.0.1:" + strconv.Itoa(ports[id]) }
	dial := func(id string) *net.TCPConn {
		c, err := net.Dial("tcp", addr(id))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(30 * time.Second))
		return c.(*net.TCPConn)
	}

	t.Run("echo", func(t *testing.T) {
		msg := sockittest.RandomBytes(1<<20, 51)
		c := dial("sockit-echo")
		defer c.Close()
		go func() { c.Write(msg); c.CloseWrite() }()
		back, err := io.ReadAll(c)
		if err != nil || !bytes.Equal(back, msg) {
			t.Errorf("echo under xinetd: %d of %d bytes, %v", len(back), len(msg), err)
		}
	})
	t.Run("daytime", func(t *testing.T) {
		c := dial("sockit-daytime")
		defer c.Close()
		line, err := io.ReadAll(c)
		if err != nil || !regexp.MustCompile(`^\n\d{5} \d\d-\d\d-\d\d \d\d:\d\d:\d\d \d\d \d \d +\d+\.\d UTC\(NIST\) \* ?\r?\n$`).Match(line) {
			t.Errorf("daytime under xinetd: %q, %v", line, err)
		}
		if r := sockitRun(t, "", "daytime", addr("sockit-daytime")); r.code != 0 {
			t.Errorf("sockit daytime client against it: %+v", r)
		}
	})
	t.Run("chargen", func(t *testing.T) {
		// The same bytes as `sockit serve` sends itself. (xinetd's own
		// chargen starts its ring at '!' where RFC 864's character 0 is
		// the space, so it is one character ahead of both.)
		addrs, _ := startServe(t, "chargen=tcp://127.0.0.1:0")
		const n = 50000
		read := func(a string) []byte {
			c, err := net.Dial("tcp", a)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			b := make([]byte, n)
			if _, err := io.ReadFull(c, b); err != nil {
				t.Fatalf("%s: %v", a, err)
			}
			return b
		}
		inetd, direct := read(addr("sockit-chargen")), read(addrs["chargen tcp"])
		if !bytes.Equal(inetd, direct) {
			i := 0
			for i < n && inetd[i] == direct[i] {
				i++
			}
			t.Errorf("chargen under xinetd differs from serve's at byte %d", i)
		}
		if r := sockitRun(t, "", "chargen", "--bytes", "100000", addr("sockit-chargen")); r.code != 0 {
			t.Errorf("sockit chargen client (checks RFC 864's pattern) against it: %+v", r)
		}
	})
	t.Run("echo-udp", func(t *testing.T) {
		for i := range 2 {
			msg := fmt.Sprintf("datagram %d", i)
			if r := sockitRun(t, "", "echo", "--retries", "5", "udp://"+addr("sockit-echo-udp"), msg); r.code != 0 || r.stdout != msg+"\n" {
				t.Fatalf("UDP echo under xinetd: %+v", r)
			}
			// Idle for --idle-timeout, sockit gives the socket back to
			// xinetd, which starts it again for the next datagram.
			log.wait(t, regexp.MustCompile(`EXIT: sockit-echo-udp status=0`))
		}
	})
}
