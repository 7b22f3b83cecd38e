package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

func TestCheckConfig(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.toml")
	os.WriteFile(bad, []byte("metric = \"x\"\n[guards]\nmax_conns = \"many\"\n[services]\necho = [\"tcp://127.0.0.1:99999\"]\n"), 0o644)
	r := sockitRun(t, "", "serve", "--check-config", bad)
	if r.code == 0 {
		t.Fatalf("check-config of a bad file exited 0: %+v", r)
	}
	for _, want := range []string{bad + ":1:1: metric: unknown key", bad + ":3:1: guards.max_conns: want an integer", bad + ":5:1: services.echo: "} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("check-config output lacks %q:\n%s", want, r.stderr)
		}
	}
	if r := sockitRun(t, "", "serve", "--check-config", "../../deploy/sockit.example.toml"); r.code != 0 || !strings.Contains(r.stdout, ": ok") {
		t.Errorf("check-config of the example: %+v", r)
	}
	// A flag beside the file overrides its key; --check-config checks
	// both, and says every mistake of each.
	r = sockitRun(t, "", "serve", "--check-config", bad, "--max-conns", "0", "--udp-budget", "maybe")
	if want := "\n--max-conns 0: 0 would serve nobody; want 1 or more, or -1 for no bound\n--udp-budget \"maybe\": want on or off\n"; r.code != 1 ||
		!strings.HasPrefix(r.stderr, bad+":1:1: metric: unknown key") || !strings.HasSuffix(r.stderr, want) || strings.Count(r.stderr, "\n") != 5 {
		t.Errorf("check-config with bad flags: %+v", r)
	}
	// A bad file at start is refused, every mistake a log line of its own
	// saying where it is, and the first said on an error line.
	r = sockitRun(t, "", "serve", "--log-format", "json", "--config", bad)
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if r.code != 1 || len(lines) != 4 || !strings.HasPrefix(lines[3], "sockit serve: "+bad+":1:1: metric: unknown key") ||
		!strings.HasSuffix(lines[3], "(and 2 more mistakes, each logged above)") {
		t.Fatalf("serve --config with a bad file: %+v", r)
	}
	for i, want := range []string{"1 1 metric", "3 1 guards.max_conns", "5 1 services.echo"} {
		var l struct {
			Level, Msg, File, Key, Err string
			Line, Col                  int
		}
		json.Unmarshal([]byte(lines[i]), &l)
		if l.Level != "ERROR" || l.Msg != "config refused" || l.File != bad || fmt.Sprint(l.Line, " ", l.Col, " ", l.Key) != want || l.Err == "" {
			t.Errorf("line %q, want ERROR config refused at %s", lines[i], want)
		}
	}
}

// echoOnce makes one echo request on a new connection.
func echoOnce(addr string, msg []byte) error {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(msg); err != nil {
		return err
	}
	c.(*net.TCPConn).CloseWrite()
	back, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if !bytes.Equal(back, msg) {
		return fmt.Errorf("echo changed the bytes")
	}
	return nil
}

// TestConfigReload runs `sockit serve --config` as a process and reloads it
// with SIGHUP under a bounded echo load: no request fails; a connection
// established before the reload keeps working under its old guards; a
// listener the new file drops closes, one it adds opens, a changed guard
// (idle timeout) applies to new connections; and a bad file is refused
// while the running configuration stays.
func TestConfigReload(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "sockit.toml")
	write := func(s string) {
		if err := os.WriteFile(file, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(`[services]
echo = ["tcp://127.0.0.1:0"]
daytime = ["tcp://127.0.0.1:0"]
`)
	cmd, out := serveProcess(t, exec.Command(os.Args[0], "serve", "--config", file))
	addrs := map[string]string{}
	re := regexp.MustCompile(`msg=listening service=(\S+) network=(\S+) addr=(\S+)$`)
	for range 2 {
		m := out.wait(t, re)
		addrs[m[1]+" "+m[2]] = m[3]
	}
	echoAddr, daytimeAddr := addrs["echo tcp"], addrs["daytime tcp"]

	// A connection established before any reload.
	held, err := net.Dial("tcp", echoAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	roundTrip := func(c net.Conn, s string) error {
		c.SetDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Write([]byte(s)); err != nil {
			return err
		}
		b := make([]byte, len(s))
		if _, err := io.ReadFull(c, b); err != nil || string(b) != s {
			return fmt.Errorf("%q, %v", b, err)
		}
		return nil
	}
	if err := roundTrip(held, "before"); err != nil {
		t.Fatal(err)
	}

	// Bounded load across every reload: 4 clients, at most 3000 requests each.
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := []byte(fmt.Sprintf("request from client %d", w))
			for range 3000 {
				select {
				case <-stop:
					return
				default:
				}
				if err := echoOnce(echoAddr, msg); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				} else {
					ok.Add(1)
				}
			}
		}()
	}

	// Reload 1: daytime goes, qotd over UDP comes, new connections idle out after 1s.
	write(`[guards]
idle_timeout = "1s"

[services]
echo = ["tcp://127.0.0.1:0"]
qotd = ["udp://127.0.0.1:0"]
`)
	cmd.Process.Signal(syscall.SIGHUP)
	qotdAddr := out.wait(t, regexp.MustCompile(`msg=listening service=qotd network=udp addr=(\S+)$`))[1]
	out.wait(t, regexp.MustCompile(`msg=closed service=daytime network=tcp addr=`+regexp.QuoteMeta(daytimeAddr)+`$`))
	out.wait(t, regexp.MustCompile(`msg=reloaded `))
	if r := sockitRun(t, "", "qotd", "udp://"+qotdAddr); r.code != 0 || r.stdout == "" {
		t.Errorf("qotd added by the reload: %+v", r)
	}
	// The removed listener closes (its socket a moment after the old
	// generation stopped accepting on it).
	sockittest.Eventually(t, 5*time.Second, "daytime's removed listener refuses connections", func() bool {
		c, err := net.DialTimeout("tcp", daytimeAddr, 2*time.Second)
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	// The new idle timeout closes a new silent connection...
	fresh, err := net.Dial("tcp", echoAddr)
	if err != nil {
		t.Fatal(err)
	}
	fresh.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	if _, err := fresh.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("a new idle connection: %v, want EOF from the 1s idle timeout", err)
	}
	fresh.Close()
	// ...while the old connection, idle as long, still has its 5 minutes.
	if err := roundTrip(held, "after reload"); err != nil {
		t.Errorf("the connection established before the reload: %v", err)
	}
	t.Logf("new connection idled out after %v", time.Since(start).Round(time.Millisecond))

	// Reload 2: a bad file is refused; everything keeps running.
	write("[guards]\nmax_conn = 5\n")
	cmd.Process.Signal(syscall.SIGHUP)
	out.wait(t, regexp.MustCompile(`msg="reload refused; the running configuration stays" file=\S+ line=\d+ col=\d+ key=guards\.max_conn err="unknown key`))
	if r := sockitRun(t, "", "qotd", "udp://"+qotdAddr); r.code != 0 {
		t.Errorf("qotd after a refused reload: %+v", r)
	}

	close(stop)
	wg.Wait()
	if failed.Load() != 0 || ok.Load() == 0 {
		t.Errorf("load across the reloads: %d ok, %d failed (first: %v)", ok.Load(), failed.Load(), firstErr.Load())
	}
	t.Logf("load across the reloads: %d requests ok, %d failed", ok.Load(), failed.Load())
	if err := roundTrip(held, "at the end"); err != nil {
		t.Errorf("the held connection at the end: %v", err)
	}
	held.Close()
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
}

// TestServeHUPWithoutConfig: SIGHUP to a serve started without --config
// does not end it (it used to exit 129, with no drain and no stop line):
// it reads the files the flags name again (the quotes, the http root) and
// says so; a quotes file broken meanwhile is refused and the running
// quotes stay; SIGTERM still drains and ends with the stop line, status 0.
// (Connections idle at a reload close, as nginx's old workers close
// theirs; a connection in the middle of an exchange keeps its generation:
// TestConfigReload.)
func TestServeHUPWithoutConfig(t *testing.T) {
	dir := t.TempDir()
	quotes, root := filepath.Join(dir, "quotes"), filepath.Join(dir, "www")
	os.Mkdir(root, 0o755)
	os.WriteFile(quotes, []byte("the first quote\n"), 0o644)
	os.WriteFile(filepath.Join(root, "index.html"), []byte("first page\n"), 0o644)
	cmd, out := serveProcess(t, exec.Command(os.Args[0], "serve", "--quotes", quotes, "--http-root", root,
		"qotd=tcp://127.0.0.1:0", "http=tcp://127.0.0.1:0"))
	addrs := map[string]string{}
	for range 2 {
		m := out.wait(t, regexp.MustCompile(`msg=listening service=(\S+) network=tcp addr=(\S+)$`))
		addrs[m[1]] = m[2]
	}
	check := func(when, quote, page string) {
		t.Helper()
		if r := sockitRun(t, "", "qotd", "tcp://"+addrs["qotd"]); r.code != 0 || strings.TrimRight(r.stdout, "\r\n") != quote {
			t.Errorf("%s: qotd %+v, want %q", when, r, quote)
		}
		if r := sockitRun(t, "", "get", "http://"+addrs["http"]+"/"); r.code != 0 || !strings.HasSuffix(r.stdout, page+"\n") {
			t.Errorf("%s: get %+v, want %q", when, r, page)
		}
	}
	check("at start", "the first quote", "first page")

	os.WriteFile(quotes, []byte("the second quote\n"), 0o644)
	os.WriteFile(filepath.Join(root, "index.html"), []byte("second page\n"), 0o644)
	cmd.Process.Signal(syscall.SIGHUP)
	out.wait(t, regexp.MustCompile(`msg=reloaded quotes=`+regexp.QuoteMeta(quotes)+` http_root=`+regexp.QuoteMeta(root)+`$`))
	check("after SIGHUP", "the second quote", "second page")

	os.WriteFile(quotes, []byte(strings.Repeat("x", 600)+"\n"), 0o644) // longer than RFC 865 allows
	cmd.Process.Signal(syscall.SIGHUP)
	out.wait(t, regexp.MustCompile(`level=ERROR msg="reload refused; the running configuration stays" err="--quotes \\"`+regexp.QuoteMeta(quotes)+`\\": quote at line 1 is 602 bytes`))
	check("after a refused reload", "the second quote", "second page")

	cmd.Process.Signal(syscall.SIGTERM)
	out.wait(t, regexp.MustCompile(`msg=draining cause="terminated signal received"`))
	out.wait(t, regexp.MustCompile(`msg=stop status=0 drain=`))
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGHUPs and SIGTERM: %v, want exit 0", err)
	}
}

// TestServeHUPWithNothingToReread: SIGHUP to a bare serve restarts its
// generation and says so; the listeners keep their sockets.
func TestServeHUPWithNothingToReread(t *testing.T) {
	cmd, out := serveProcess(t, exec.Command(os.Args[0], "serve", "echo=tcp://127.0.0.1:0"))
	addr := out.wait(t, regexp.MustCompile(`msg=listening service=echo network=tcp addr=(\S+)$`))[1]
	for range 3 {
		cmd.Process.Signal(syscall.SIGHUP)
		out.wait(t, regexp.MustCompile(`msg=reloaded$`))
		if err := echoOnce(addr, []byte("still here")); err != nil {
			t.Fatalf("echo after SIGHUP: %v", err)
		}
	}
	cmd.Process.Signal(syscall.SIGTERM)
	out.wait(t, regexp.MustCompile(`msg=stop status=0`))
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGHUP and SIGTERM: %v", err)
	}
}
