package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/proto/qotd"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// startServe runs `sockit serve ARGS` in this process and returns the
// announced addresses by "service network"; cancel stops it and returns its
// exit status.
func startServe(t *testing.T, args ...string) (addrs map[string]string, stop func() int) {
	t.Helper()
	want := 0
	for _, a := range args {
		if strings.Contains(a, "=") && !strings.HasPrefix(a, "-") {
			want++
		}
	}
	return startServeN(t, want, args...)
}

// startServeN is startServe waiting for want listeners (those a config
// file names, say).
func startServeN(t *testing.T, want int, args ...string) (addrs map[string]string, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve"}, args...), strings.NewReader(""), io.Discard, pw)
		pw.Close()
	}()
	addrs = map[string]string{}
	re := regexp.MustCompile(`msg=listening service=(\S+) network=(\S+) addr=(\S+)$`)
	reMetrics := regexp.MustCompile(`msg=metrics addr=(\S+) `)
	lines := make(chan string)
	go func() {
		defer close(lines)
		buf := make([]byte, 0, 4096)
		tmp := make([]byte, 1024)
		for {
			n, err := pr.Read(tmp)
			buf = append(buf, tmp[:n]...)
			for {
				i := bytes.IndexByte(buf, '\n')
				if i < 0 {
					break
				}
				lines <- string(buf[:i])
				buf = buf[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	timeout := time.After(10 * time.Second)
	for got := 0; got < want; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve ended before announcing %d listeners (exit %d)", want, <-done)
			}
			if m := re.FindStringSubmatch(l); m != nil {
				addrs[m[1]+" "+m[2]] = m[3]
				got++
			}
			if m := reMetrics.FindStringSubmatch(l); m != nil {
				addrs["metrics"] = m[1]
			}
		case <-timeout:
			t.Fatal("serve did not announce its listeners")
		}
	}
	go func() {
		for range lines {
		}
	}()
	var once sync.Once
	code := 0
	stop = func() int {
		once.Do(func() { cancel(); code = <-done })
		return code
	}
	t.Cleanup(func() { stop() })
	return addrs, stop
}

func TestServeWithNcatAndSocat(t *testing.T) {
	ncat := sockittest.RequireTool(t, "ncat")
	socat := sockittest.RequireTool(t, "socat")
	addrs, stop := startServe(t, "echo=tcp://127.0.0.1:0", "qotd=udp://127.0.0.1:0",
		"daytime=tcp://127.0.0.1:0", "echo=udp://127.0.0.1:0")
	host, port, _ := net.SplitHostPort(addrs["echo tcp"])

	data := sockittest.RandomBytes(1<<20, 31)
	cmd := exec.Command(ncat, host, port)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil || !bytes.Equal(out, data) {
		t.Errorf("ncat through sockit echo: %d of %d bytes back, %v", len(out), len(data), err)
	}

	cmd = exec.Command(socat, "-t", "2", "-", "UDP:"+addrs["qotd udp"])
	cmd.Stdin = strings.NewReader("\n")
	out, err = cmd.Output()
	if err != nil || len(out) == 0 || len(out) >= 512 || !isQuote(string(out)) {
		t.Errorf("socat qotd over UDP: %q, %v", out, err)
	}

	cmd = exec.Command(socat, "-", "TCP:"+addrs["daytime tcp"])
	out, err = cmd.Output()
	if err != nil || !strings.Contains(string(out), "UTC(NIST)") {
		t.Errorf("socat daytime: %q, %v", out, err)
	}

	cmd = exec.Command(socat, "-t", "2", "-", "UDP:"+addrs["echo udp"])
	cmd.Stdin = strings.NewReader("hello there")
	out, err = cmd.Output()
	if err != nil || string(out) != "hello there" {
		t.Errorf("socat echo over UDP: %q, %v", out, err)
	}
	if code := stop(); code != 0 {
		t.Errorf("serve exit %d after cancel, want 0", code)
	}
}

func TestServeMetrics(t *testing.T) {
	port := sockittest.FreePort(t)
	addrs, _ := startServe(t, "--metrics", "127.0.0.1:"+strconv.Itoa(port), "echo=tcp://127.0.0.1:0")
	r := sockitRun(t, "", "echo", "tcp://"+addrs["echo tcp"], "hi")
	if r.code != 0 {
		t.Fatalf("echo: %+v", r)
	}
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{
		`sockit_connections_total{network="tcp",result="accepted",service="echo"} 1`,
		`sockit_bytes_total{direction="in",network="tcp",service="echo"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestServeHealthProbes checks /healthz and /readyz beside /metrics:
// both 200 while serving; once shutdown begins, readiness turns 503 while
// liveness stays 200, for as long as a connection keeps the server draining.
func TestServeHealthProbes(t *testing.T) {
	addrs, stop := startServe(t, "--metrics", "127.0.0.1:0", "--grace", "30s", "echo=tcp://127.0.0.1:0")
	status := func(path string) int {
		resp, err := http.Get("http://" + addrs["metrics"] + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// The listening lines come out while services.Start runs; readiness is
	// set once it returns: wait for it (bounded), as a kubelet would.
	for deadline := time.Now().Add(10 * time.Second); status("/readyz") != 200 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if h, r := status("/healthz"), status("/readyz"); h != 200 || r != 200 {
		t.Fatalf("serving: healthz %d, readyz %d; want 200, 200", h, r)
	}
	c, err := net.Dial("tcp", addrs["echo tcp"])
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("x"))
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Fatal(err)
	}
	exit := make(chan int, 1)
	go func() { exit <- stop() }()
	sockittest.Eventually(t, 10*time.Second, "readyz 503 while draining", func() bool { return status("/readyz") == 503 })
	if h := status("/healthz"); h != 200 {
		t.Errorf("draining: healthz %d, want 200", h)
	}
	// The held connection still works, then its close ends the drain.
	c.Write([]byte("y"))
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		t.Errorf("the held connection while draining: %v", err)
	}
	c.Close()
	if code := <-exit; code != 0 {
		t.Errorf("serve exit %d", code)
	}
}

func isQuote(s string) bool {
	for _, q := range qotd.Default() {
		if q == s {
			return true
		}
	}
	return false
}

func TestServeUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "nosuch=127.0.0.1:1"},
		{"serve", "gopher"}, // a bare name serves it: TestServeBareServiceNames
		{"serve", "--udp-budget", "maybe"},
		{"serve", "--daytime-format", "iso"},
		{"serve", "--quotes", "/nonexistent"},
	} {
		if r := sockitRun(t, "", args...); r.code != exitUsage {
			t.Errorf("%v: exit %d, stderr %q", args, r.code, r.stderr)
		}
	}
	// A port that is taken is a network failure: exit 1.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	r := sockitRun(t, "", "serve", "echo=tcp://"+ln.Addr().String())
	if r.code != exitFailure || !strings.Contains(r.stderr, "address already in use") {
		t.Errorf("taken port: exit %d, %q", r.code, r.stderr)
	}
}

func TestDemo(t *testing.T) {
	r := sockitRun(t, "", "demo")
	if r.code != 0 {
		t.Fatalf("demo exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "steps ok") || strings.Contains(r.stdout, "FAILED") {
		t.Errorf("demo output:\n%s", r.stdout)
	}
}

// TestSIGTERMDuringTransfers runs this test binary as sockit (see
// TestMain), starts 100 echo transfers, sends SIGTERM while they are in
// flight, and expects every byte back and exit status 0.
func TestSIGTERMDuringTransfers(t *testing.T) {
	cmd := exec.Command(os.Args[0], "serve", "echo=tcp://127.0.0.1:0", "--grace", "20s")
	cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	m := sockittest.WaitLine(t, stderr, regexp.MustCompile(`msg=listening service=echo network=tcp addr=(\S+)$`), 10*time.Second)
	addr := m[1]

	const clients, size = 100, 512 << 10
	var inFlight, wg sync.WaitGroup
	release := make(chan struct{})
	errs := make(chan error, clients)
	for i := range clients {
		inFlight.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := sockittest.RandomBytes(size, uint64(100+i))
			c, err := net.Dial("tcp", addr)
			if err != nil {
				inFlight.Done()
				errs <- err
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(30 * time.Second))
			c.Write(msg[:4096])
			head := make([]byte, 4096)
			_, err = io.ReadFull(c, head)
			inFlight.Done()
			if err != nil {
				errs <- err
				return
			}
			<-release
			go func() { c.Write(msg[4096:]); c.(*net.TCPConn).CloseWrite() }()
			rest, err := io.ReadAll(c)
			if got := append(head, rest...); err != nil || !bytes.Equal(got, msg) {
				// Say which: an error (a timeout is slowness, not loss: see
				// RELIABILITY.md) or bytes that differ.
				errs <- fmt.Errorf("an echo transfer lost or changed bytes across SIGTERM: %d of %d bytes back, equal %v, err %v",
					len(got), len(msg), bytes.Equal(got, msg), err)
			}
		}()
	}
	inFlight.Wait()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("sockit serve after SIGTERM: %v, want exit 0", err)
	}
}

// TestSIGTERMClosesIdleKeepAlive runs this test binary as sockit, holds 100
// keep-alive HTTP connections idle between requests, one 8 MiB response in
// flight to a client that has stopped reading, and one request half sent,
// then sends SIGTERM with a grace of five minutes: the idle connections
// see EOF at once (while the large response is still unread), the half
// request is answered with Connection: close, the large response arrives
// whole, and the process exits 0 right after it, long before the grace.
// Over every engine.
func TestSIGTERMClosesIdleKeepAlive(t *testing.T) {
	dir := t.TempDir()
	big := sockittest.RandomBytes(8<<20, 7)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			metrics := "127.0.0.1:" + strconv.Itoa(sockittest.FreePort(t))
			cmd := exec.Command(os.Args[0], "serve", "http=tcp://127.0.0.1:0", "--http-root", dir, "--grace", "5m",
				"--engine", engine, "--metrics", metrics)
			cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
			stderr, _ := cmd.StderrPipe()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			m := sockittest.WaitLine(t, stderr, regexp.MustCompile(`msg=listening service=http network=tcp addr=(\S+)$`), 10*time.Second)
			scene := sockittest.NewShutdownScene(t, m[1], 100, "/big.bin")
			// Every connection accepted (the half one too), so that none is
			// still in the listen queue when the listener closes.
			sockittest.Eventually(t, 10*time.Second, "102 connections open", func() bool {
				resp, err := http.Get("http://" + metrics + "/metrics")
				if err != nil {
					return false
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				return strings.Contains(string(body), `sockit_connections_active{network="tcp",service="http"} 102`)
			})
			exited := make(chan error, 1)
			if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			go func() { exited <- cmd.Wait() }()
			if err := scene.IdleClosed(10 * time.Second); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				t.Fatalf("sockit serve exited (%v) with a response in flight", err)
			default:
			}
			if err := scene.FinishHalf(httpraw.Page()); err != nil {
				t.Fatal(err)
			}
			if err := scene.ReadLarge(big); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-exited:
				if err != nil {
					t.Errorf("sockit serve after SIGTERM: %v, want exit 0", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("sockit serve still running a minute after its last response (grace 5m)")
			}
		})
	}
}

// TestServeShortNamesEveryService: serve's one-line summary (sockit
// --help, the man page's NAME) names every service it serves, http too.
func TestServeShortNamesEveryService(t *testing.T) {
	r := sockitRun(t, "", "--help")
	var line string
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "serve ") {
			line = l
		}
	}
	for _, name := range []string{"echo", "discard", "daytime", "qotd", "chargen", "time", "http"} {
		if !strings.Contains(line, name) {
			t.Errorf("serve's summary %q does not name %s", line, name)
		}
	}
}
