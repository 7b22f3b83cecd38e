package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sockit/sockit/internal/config"
	"github.com/sockit/sockit/sockittest"
)

// settingTOML writes one setting of config.Settings as a file sets it.
func settingTOML(s config.Setting, v string) string {
	if s.Duration {
		v = fmt.Sprintf("%q", v)
	}
	return fmt.Sprintf("%s = %s\n", s.Key, v) // a dotted key: guards.max_conns = 1
}

// TestServeBounds: every bound refuses the same values as a flag (a usage
// error naming the flag and what it takes) and in a file (--check-config
// names the key, line and column), and takes -1 where -1 means "no bound"
// or "never" and 0 where 0 is a choice.
func TestServeBounds(t *testing.T) {
	dir := t.TempDir()
	for _, s := range config.Settings {
		bad := []string{"-5"}
		if s.Min > 0 {
			bad = append(bad, "0")
		}
		if s.Minus1 == "" {
			bad = append(bad, "-1")
		}
		for _, v := range bad {
			if s.Duration {
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
	for _, s := range config.Settings {
		v := fmt.Sprint(s.Min)
		if s.Minus1 != "" {
			v = "-1"
		}
		if s.Duration {
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
	r = sockitRun(t, "", "serve", "--metrics", addrs["echo tcp"], "echo=tcp://127.0.0.1:0")
	if r.code != exitFailure || !strings.HasPrefix(r.stderr, fmt.Sprintf("sockit serve: --metrics %q: ", addrs["echo tcp"])) || !strings.Contains(r.stderr, "address already in use") {
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
	cmd := ns.Exec("env", "SOCKIT_BE_MAIN=1", os.Args[0], "serve", "echo", "daytime", "http")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	out := readLines(stderr)
	var got []string
	for range 5 {
		got = append(got, out.wait(t, regexp.MustCompile(`^listening .*`))[0])
	}
	want := []string{
		"listening echo tcp 127.0.0.1:8001", "listening echo udp 127.0.0.1:8001",
		"listening daytime tcp 127.0.0.1:8013", "listening daytime udp 127.0.0.1:8013",
		"listening http tcp 127.0.0.1:8080",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("serve echo daytime http announced\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for _, client := range [][]string{{"daytime"}, {"daytime", "udp://127.0.0.1:8013"}, {"echo", "hi"}, {"head", "http://127.0.0.1:8080/"}} {
		c := ns.Exec("env", append([]string{"SOCKIT_BE_MAIN=1", os.Args[0]}, client...)...)
		if b, err := c.CombinedOutput(); err != nil || len(b) == 0 {
			t.Errorf("sockit %v in the namespace: %v\n%s", client, err, b)
		}
	}
}
