package main

import (
	"encoding/json"
	"errors"
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

	"github.com/sockit/sockit/internal/serve"
	"github.com/sockit/sockit/sockittest"
)

// settingTOML writes one of serve's settings as a file sets it.
func settingTOML(f serve.Field, v string) string {
	if f.Type() == "time" {
		v = fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("%s = %s\n", f.Key, v) // a dotted key: guards.max_conns = 1
}

// boundFields are serve's settings that are counts or durations with a
// bound, and a key.
func boundFields() []serve.Field {
	var fs []serve.Field
	for _, f := range serve.Fields() {
		if _, _, ok := f.Bound(); ok && f.Key != "" {
			fs = append(fs, f)
		}
	}
	return fs
}

// TestServeBounds: every bound refuses the same values as a flag (a usage
// error naming the flag and what it takes) and in a file (--check-config
// names the key, line and column), and takes -1 where -1 means "no bound"
// or "never" and 0 where 0 is a choice.
func TestServeBounds(t *testing.T) {
	dir := t.TempDir()
	fields := boundFields()
	if len(fields) < 8 {
		t.Fatalf("only %d bounded settings", len(fields))
	}
	for _, s := range fields {
		b, dur, _ := s.Bound()
		bad := []string{"-5"}
		if b.Min > 0 {
			bad = append(bad, "0")
		}
		if b.Minus1 == "" {
			bad = append(bad, "-1")
		}
		for _, v := range bad {
			if dur {
				v += "s"
			}
			r := sockitRun(t, "", "serve", "--"+s.Flag, v, "echo=tcp://127.0.0.1:0")
			if r.code != exitUsage || !strings.HasPrefix(r.stderr, "sockit serve: --"+s.Flag+" ") || !strings.Contains(r.stderr, "want ") {
				t.Errorf("serve --%s %s: exit %d, %q; want exit 2 naming the flag and what it takes", s.Flag, v, r.code, r.stderr)
			}
			file := filepath.Join(dir, s.Flag+".toml")
			os.WriteFile(file, []byte("# a bound\n"+settingTOML(s, v)), 0o644)
			r = sockitRun(t, "", "serve", "--check-config", file)
			if want := fmt.Sprintf("%s:2:1: %s: ", file, s.Key); r.code != 1 || !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, "want ") {
				t.Errorf("%s = %s: exit %d, %q; want exit 1 and %q…", s.Key, v, r.code, r.stderr, want)
			}
		}
	}
	// What is allowed at the edges serves.
	args := []string{"echo=tcp://127.0.0.1:0", "echo=udp://127.0.0.1:0"}
	file := filepath.Join(dir, "edges.toml")
	var toml strings.Builder
	for _, s := range fields {
		b, dur, _ := s.Bound()
		v := fmt.Sprint(b.Min)
		if b.Minus1 != "" {
			v = "-1"
		}
		if dur {
			v += "s"
		}
		args = append(args, "--"+s.Flag, v)
		toml.WriteString(settingTOML(s, v))
	}
	addrs, stop := startServe(t, args...)
	if err := echoOnce(addrs["echo tcp"], []byte("edges")); err != nil {
		t.Errorf("serve %v: %v", args, err)
	}
	if code := stop(); code != 0 {
		t.Errorf("serve %v: exit %d", args, code)
	}
	toml.WriteString("[services]\necho = [\"tcp://127.0.0.1:0\"]\n")
	os.WriteFile(file, []byte(toml.String()), 0o644)
	if r := sockitRun(t, "", "serve", "--check-config", file); r.code != 0 {
		t.Errorf("check-config of the edges:\n%s\n%+v", toml.String(), r)
	}
	if r := sockitRun(t, "", "serve", "--loops", "-1"); r.code != exitUsage || !strings.Contains(r.stderr, "--loops -1: want") {
		t.Errorf("serve --loops -1: %+v", r)
	}
}

// TestServeSettingWithoutItsService: --quotes, --http-root and
// --daytime-format (and their keys) are mistakes when their service is
// not served, and fine when it is, or when the default set serves all.
func TestServeSettingWithoutItsService(t *testing.T) {
	dir := t.TempDir()
	quotes := filepath.Join(dir, "quotes")
	os.WriteFile(quotes, []byte("one\n%\ntwo\n"), 0o644)
	for _, tt := range []struct {
		flag, value, service, key string
	}{
		{"quotes", quotes, "qotd", "quotes"},
		{"http-root", dir, "http", "http_root"},
		{"daytime-format", "ctime", "daytime", "daytime_format"},
	} {
		r := sockitRun(t, "", "serve", "--"+tt.flag, tt.value, "echo=tcp://127.0.0.1:0")
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, "sockit serve: --"+tt.flag+" is for "+tt.service+", which is not served") {
			t.Errorf("serve --%s without %s: %+v", tt.flag, tt.service, r)
		}
		// A bare name serves it, and so does the default set (checked
		// with --check-config of a file without [services]).
		addrs, stop := startServe(t, "--"+tt.flag, tt.value, tt.service+"=tcp://127.0.0.1:0")
		if addrs[tt.service+" tcp"] == "" {
			t.Errorf("serve --%s %s=…: not announced", tt.flag, tt.service)
		}
		stop()
		file := filepath.Join(dir, tt.key+".toml")
		set := fmt.Sprintf("%s = %q\n", tt.key, tt.value)
		os.WriteFile(file, []byte(set+"[services]\necho = [\"tcp://127.0.0.1:0\"]\n"), 0o644)
		if r := sockitRun(t, "", "serve", "--check-config", file); r.code != 1 || !strings.HasPrefix(r.stderr, file+":1:1: "+tt.key+": set, but "+tt.service+" is not served") {
			t.Errorf("%s without %s in [services]: %+v", tt.key, tt.service, r)
		}
		os.WriteFile(file, []byte(set), 0o644)
		if r := sockitRun(t, "", "serve", "--check-config", file); r.code != 0 {
			t.Errorf("%s with the default services: %+v", tt.key, r)
		}
	}
	// The default daytime format changes nothing: no error without daytime.
	addrs, stop := startServe(t, "--daytime-format", "nist", "echo=tcp://127.0.0.1:0")
	if addrs["echo tcp"] == "" {
		t.Error("serve --daytime-format nist echo=…: not announced")
	}
	stop()
	// --inetd serves one service: the others' settings are mistakes.
	if r := sockitRun(t, "", "serve", "--inetd", "echo", "--quotes", quotes); r.code != exitUsage || !strings.Contains(r.stderr, "--quotes is for qotd") {
		t.Errorf("serve --inetd echo --quotes: %+v", r)
	}
	if r := sockitRun(t, "", "serve", "--inetd", "gopher"); r.code != exitUsage || !strings.Contains(r.stderr, `--inetd "gopher": unknown service`) {
		t.Errorf("serve --inetd gopher: %+v", r)
	}
}

// TestServeMetricsNamesTheFlag: a bad --metrics address is a usage error
// that names the flag; one that cannot be bound names it too (exit 1).
func TestServeMetricsNamesTheFlag(t *testing.T) {
	r := sockitRun(t, "", "serve", "--metrics", "bogus", "echo=tcp://127.0.0.1:0")
	if r.code != exitUsage || !strings.HasPrefix(r.stderr, `sockit serve: --metrics "bogus": `) {
		t.Errorf("serve --metrics bogus: %+v", r)
	}
	addrs, stop := startServe(t, "echo=tcp://127.0.0.1:0")
	defer stop()
	// Past the command line, the error is serve's stop line, then an
	// error line.
	r = sockitRun(t, "", "serve", "--log-format", "json", "--metrics", addrs["echo tcp"], "echo=tcp://127.0.0.1:0")
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	var stopLine logLine
	json.Unmarshal([]byte(lines[len(lines)-2]), &stopLine)
	want := fmt.Sprintf("--metrics %q: ", addrs["echo tcp"])
	if r.code != exitFailure || stopLine.str("msg") != "stop" || !strings.HasPrefix(stopLine.str("err"), want) || !strings.Contains(stopLine.str("err"), "address already in use") ||
		lines[len(lines)-1] != "sockit serve: "+stopLine.str("err") {
		t.Errorf("serve --metrics on a port in use: %+v", r)
	}
	file := filepath.Join(t.TempDir(), "m.toml")
	os.WriteFile(file, []byte("metrics = \"bogus\"\n"), 0o644)
	if r := sockitRun(t, "", "serve", "--check-config", file); r.code != 1 || !strings.HasPrefix(r.stderr, file+`:1:1: metrics: "bogus": want HOST:PORT`) {
		t.Errorf("metrics = bogus: %+v", r)
	}
}

// TestServeBareServiceNames runs `sockit serve echo daytime http` in a
// network namespace of its own (the default ports are fixed, and the
// host's loopback is shared with other tests): each name is served where
// the no-argument default serves it, TCP and UDP where the service has
// both, and answers there. An unknown name is a usage error listing the
// services.
func TestServeBareServiceNames(t *testing.T) {
	if r := sockitRun(t, "", "serve", "echo", "gopher"); r.code != exitUsage || !strings.Contains(r.stderr, `"gopher" is neither a service nor SERVICE=ENDPOINT (services: `) || !strings.Contains(r.stderr, "echo, discard, daytime, qotd, chargen, time, http") {
		t.Errorf("serve gopher: %+v", r)
	}
	ns := sockittest.Netns(t)
	_, out := serveProcess(t, ns.Exec("env", "SOCKIT_BE_MAIN=1", os.Args[0], "serve", "echo", "daytime", "http"))
	var got []string
	for range 5 {
		m := out.wait(t, regexp.MustCompile(`msg=listening service=(\S+) network=(\S+) addr=(\S+)$`))
		got = append(got, strings.Join(m[1:], " "))
	}
	want := []string{
		"echo tcp 127.0.0.1:8001", "echo udp 127.0.0.1:8001",
		"daytime tcp 127.0.0.1:8013", "daytime udp 127.0.0.1:8013",
		"http tcp 127.0.0.1:8080",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("serve echo daytime http announced\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, client := range [][]string{{"daytime"}, {"daytime", "udp://127.0.0.1:8013"}, {"echo", "127.0.0.1:8001", "hi"}, {"head", "http://127.0.0.1:8080/"}} {
		c := ns.Exec("env", append([]string{"SOCKIT_BE_MAIN=1", os.Args[0]}, client...)...)
		if b, err := c.CombinedOutput(); err != nil || len(b) == 0 {
			t.Errorf("sockit %v in the namespace: %v\n%s", client, err, b)
		}
	}
}

// TestServeUnixMode: --unix-mode sets the mode of every unix and unixgram
// socket file serve creates, narrower or wider than the umask gives; a
// mode that is not octal permission bits is a usage error, and the same
// as a config key.
func TestServeUnixMode(t *testing.T) {
	dir := t.TempDir()
	for _, mode := range []os.FileMode{0o600, 0o666} {
		stream := filepath.Join(dir, fmt.Sprintf("s%o.sock", mode))
		dgram := filepath.Join(dir, fmt.Sprintf("d%o.sock", mode))
		addrs, stop := startServe(t, "--unix-mode", fmt.Sprintf("0%o", mode), "echo=unix://"+stream, "echo=unixgram://"+dgram)
		for _, p := range []string{stream, dgram} {
			fi, err := os.Lstat(p)
			if err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != mode {
				t.Errorf("--unix-mode %o: %s is %v (%v)", mode, p, fi.Mode(), err)
			}
		}
		c, err := net.Dial("unix", addrs["echo unix"])
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("m"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Errorf("echo over the unix socket: %v", err)
		}
		c.Close()
		stop()
	}
	// Without it, the umask's mode, as before.
	plain := filepath.Join(dir, "plain.sock")
	_, stop := startServe(t, "echo=unix://"+plain)
	if fi, err := os.Lstat(plain); err != nil || fi.Mode().Perm() != 0o777&^umask(t) {
		t.Errorf("no --unix-mode: %v, want %o (%v)", fi.Mode(), 0o777&^umask(t), err)
	}
	stop()
	for _, bad := range []string{"888", "01777", "rw-rw----", "0", "-1"} {
		r := sockitRun(t, "", "serve", "--unix-mode", bad, "echo=unix://"+filepath.Join(dir, "bad.sock"))
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, fmt.Sprintf("sockit serve: --unix-mode %q: want", bad)) && !strings.Contains(r.stderr, "would let only root") {
			t.Errorf("--unix-mode %s: %+v", bad, r)
		}
		file := filepath.Join(dir, "mode.toml")
		os.WriteFile(file, []byte(fmt.Sprintf("unix_mode = %q\n", bad)), 0o644)
		if r := sockitRun(t, "", "serve", "--check-config", file); r.code != 1 || !strings.HasPrefix(r.stderr, file+":1:1: unix_mode: ") {
			t.Errorf("unix_mode = %q: %+v", bad, r)
		}
	}
	// The file's key applies as the flag does.
	sock := filepath.Join(dir, "conf.sock")
	file := filepath.Join(dir, "ok.toml")
	os.WriteFile(file, []byte(fmt.Sprintf("unix_mode = \"0640\"\n[services]\necho = [\"unix://%s\"]\n", sock)), 0o644)
	_, stop = startServeN(t, 1, "--config", file)
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Perm() != 0o640 {
		t.Errorf("unix_mode = \"0640\": %v (%v)", fi.Mode(), err)
	}
	stop()
}

// umask reads the process's umask from /proc (setting it to read it
// would race with files created meanwhile).
func umask(t *testing.T) os.FileMode {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				t.Fatal(err)
			}
			return os.FileMode(m)
		}
	}
	t.Fatal("no Umask: in /proc/self/status")
	return 0
}

// TestServeUnixPathInTheWay: at a unix socket path, serve removes a stale
// socket (its server died without unlinking it) and binds; a live socket
// is in use (exit 1) and stays, still answering its owner; a regular file
// is never removed (exit 1, saying what is in the way).
func TestServeUnixPathInTheWay(t *testing.T) {
	dir := t.TempDir()
	for _, network := range []string{"unix", "unixgram"} {
		stale := filepath.Join(dir, network+"-stale.sock")
		switch network {
		case "unix":
			ln, err := net.Listen("unix", stale)
			if err != nil {
				t.Fatal(err)
			}
			ln.(*net.UnixListener).SetUnlinkOnClose(false)
			ln.Close()
		case "unixgram":
			pc, err := net.ListenPacket("unixgram", stale)
			if err != nil {
				t.Fatal(err)
			}
			pc.Close() // a unixgram socket file outlives its socket
		}
		if _, err := os.Lstat(stale); err != nil {
			t.Fatalf("no stale %s socket to test with: %v", network, err)
		}
		addrs, stop := startServe(t, "echo="+network+"://"+stale)
		if addrs["echo "+network] != stale {
			t.Errorf("serve over a stale %s socket: announced %q", network, addrs["echo "+network])
		}
		stop()

		live := filepath.Join(dir, network+"-live.sock")
		var owner io.Closer
		if network == "unix" {
			ln, err := net.Listen("unix", live)
			if err != nil {
				t.Fatal(err)
			}
			owner = ln
		} else {
			pc, err := net.ListenPacket("unixgram", live)
			if err != nil {
				t.Fatal(err)
			}
			owner = pc
		}
		r := sockitRun(t, "", "serve", "echo="+network+"://"+live)
		if r.code != exitFailure || !strings.Contains(r.stderr, "address already in use") {
			t.Errorf("serve over a live %s socket: %+v", network, r)
		}
		if c, err := net.Dial(network, live); err != nil {
			t.Errorf("the live %s socket after serve tried it: %v", network, err)
		} else {
			c.Close()
		}
		owner.Close()

		regular := filepath.Join(dir, network+"-file")
		os.WriteFile(regular, []byte("keep me"), 0o644)
		r = sockitRun(t, "", "serve", "echo="+network+"://"+regular)
		if r.code != exitFailure || !strings.Contains(r.stderr, "a regular file is in the way: not a socket") {
			t.Errorf("serve over a regular file: %+v", r)
		}
		if b, err := os.ReadFile(regular); err != nil || string(b) != "keep me" {
			t.Errorf("the regular file after serve: %q, %v", b, err)
		}
	}
}

// TestServeUnixModeWhereServeCreatesNoSocket: under socket activation and
// inetd the sockets come from elsewhere, so --unix-mode is a usage error
// that says where their mode is set, not a flag silently ignored.
func TestServeUnixModeWhereServeCreatesNoSocket(t *testing.T) {
	if r := sockitRun(t, "", "serve", "--inetd", "echo", "--unix-mode", "0600"); r.code != exitUsage || !strings.Contains(r.stderr, "--unix-mode") {
		t.Errorf("serve --inetd echo --unix-mode 0600: %+v", r)
	}
	sock := filepath.Join(t.TempDir(), "echo.sock")
	cmd, stderr := activateServe(t, 1, []string{"-l", sock, "--fdname=echo"}, "--unix-mode", "0600")
	if c, err := net.Dial("unix", sock); err == nil {
		defer c.Close()
	}
	stderr.wait(t, regexp.MustCompile(`SocketMode= in the \.socket unit, not --unix-mode`))
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != exitUsage {
		t.Errorf("activated serve --unix-mode: %v, want exit %d", err, exitUsage)
	}
}

// TestServeReloadKeepsUnixSockets: a SIGHUP reload keeps a unix and a
// unixgram listener that both files name (the new generation takes the
// socket over), so their files must outlive the old generation's close
// (they used to vanish with it), take a changed unix_mode, still answer,
// and be removed when serve stops.
func TestServeReloadKeepsUnixSockets(t *testing.T) {
	dir := t.TempDir()
	stream, dgram := filepath.Join(dir, "echo.sock"), filepath.Join(dir, "echog.sock")
	file := filepath.Join(dir, "sockit.toml")
	write := func(mode string) {
		body := fmt.Sprintf("unix_mode = %q\n[services]\necho = [\"unix://%s\", \"unixgram://%s\"]\n", mode, stream, dgram)
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0600")
	cmd, out := serveProcess(t, exec.Command(os.Args[0], "serve", "--config", file))
	out.wait(t, regexp.MustCompile(`msg=listening service=echo network=unix `))
	out.wait(t, regexp.MustCompile(`msg=listening service=echo network=unixgram `))
	check := func(when string, mode os.FileMode) {
		t.Helper()
		for _, p := range []string{stream, dgram} {
			if fi, err := os.Lstat(p); err != nil || fi.Mode().Perm() != mode {
				t.Errorf("%s: %s: %v, %v; want mode %o", when, p, fi, err, mode)
			}
		}
		for _, ep := range []string{"unix://" + stream, "unixgram://" + dgram} {
			if r := sockitRun(t, "", "echo", ep, "still", "here"); r.code != 0 || r.stdout != "still here\n" {
				t.Errorf("%s: echo over %s: %+v", when, ep, r)
			}
		}
	}
	check("before the reload", 0o600)
	write("0660")
	cmd.Process.Signal(syscall.SIGHUP)
	out.wait(t, regexp.MustCompile(`msg=reloaded `))
	check("after the reload", 0o660)
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v", err)
	}
	for _, p := range []string{stream, dgram} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after serve stopped: %v, want it removed", p, err)
		}
	}
}

// TestServeReloadModeFollowsNoLink: a reload sets a kept socket's new
// unix_mode on what is at its path; whoever may write the socket's
// directory may have put a symbolic link there meanwhile, and the file it
// points at must keep its mode (serve run as root would otherwise chmod
// any file, /etc/shadow included, on the next SIGHUP).
func TestServeReloadModeFollowsNoLink(t *testing.T) {
	dir := t.TempDir()
	sock, victim := filepath.Join(dir, "echo.sock"), filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "sockit.toml")
	write := func(mode string) {
		body := fmt.Sprintf("unix_mode = %q\n[services]\necho = [\"unix://%s\"]\n", mode, sock)
		if err := os.WriteFile(file, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("0600")
	cmd, out := serveProcess(t, exec.Command(os.Args[0], "serve", "--config", file))
	out.wait(t, regexp.MustCompile(`msg=listening service=echo network=unix `))
	if err := os.Remove(sock); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(victim, sock); err != nil {
		t.Fatal(err)
	}
	write("0666")
	cmd.Process.Signal(syscall.SIGHUP)
	out.wait(t, regexp.MustCompile(`msg=reloaded `))
	if fi, err := os.Stat(victim); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the file the link at the socket's path points at: %v, %v; want it left 0600", fi, err)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}

// serveProcess starts cmd, this test binary run as sockit (SOCKIT_BE_MAIN=1,
// see TestMain), killed when the test ends, and returns its stderr lines.
func serveProcess(t *testing.T, cmd *exec.Cmd) (*exec.Cmd, outLines) {
	t.Helper()
	cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, readLines(stderr)
}
