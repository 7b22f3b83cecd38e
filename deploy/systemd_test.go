package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockit/sockit/sockittest"
)

// TestSystemdUnitsVerify runs systemd-analyze verify over the units as
// shipped, with only ExecStart's binary path pointed at a freshly built
// sockit (verify insists that it exists). verify exits 0 on unknown keys and
// bad values and merely prints a warning, so any output at all fails.
func TestSystemdUnitsVerify(t *testing.T) {
	analyze := sockittest.RequireTool(t, "systemd-analyze")
	bin := sockitBinary(t)
	units, err := filepath.Glob("systemd/*")
	if err != nil || len(units) == 0 {
		t.Fatalf("no units in deploy/systemd: %v", err)
	}
	dir := t.TempDir()
	var args []string
	for _, u := range units {
		b, err := os.ReadFile(u)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		if strings.HasSuffix(u, ".service") {
			if !strings.Contains(s, "\nExecStart=/usr/local/bin/sockit ") {
				t.Fatalf("%s: ExecStart is not /usr/local/bin/sockit", u)
			}
			s = strings.ReplaceAll(s, "/usr/local/bin/sockit", bin)
		}
		p := filepath.Join(dir, filepath.Base(u))
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, p)
	}
	out, err := exec.Command(analyze, append([]string{"verify"}, args...)...).CombinedOutput()
	if err != nil || len(out) != 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}

	// The check can fail: a misspelt key is reported.
	bad := filepath.Join(dir, "sockit.service")
	b, _ := os.ReadFile(bad)
	os.WriteFile(bad, append(b, "[Service]\nNoNewPrivilege=yes\n"...), 0o644)
	if out, _ := exec.Command(analyze, append([]string{"verify"}, args...)...).CombinedOutput(); !strings.Contains(string(out), "NoNewPrivilege") {
		t.Errorf("verify did not report a misspelt key: %q", out)
	}
}

// TestSystemdUnitsHardening checks the settings the units promise, so a
// later edit cannot quietly drop one.
func TestSystemdUnitsHardening(t *testing.T) {
	b, err := os.ReadFile("systemd/sockit.service")
	if err != nil {
		t.Fatal(err)
	}
	svc := string(b)
	for _, want := range []string{
		"Type=notify", "DynamicUser=yes", "NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
		"CapabilityBoundingSet=\n", "WatchdogSec=", "--config /etc/sockit/sockit.toml", "ExecReload=/bin/kill -HUP $MAINPID",
	} {
		if !strings.Contains(svc, want) {
			t.Errorf("sockit.service lacks %q", want)
		}
	}
	// The sockets come from systemd, so the service keeps no capability,
	// not even CAP_NET_BIND_SERVICE for the ports below 1024.
	if strings.Contains(svc, "CAP_NET_BIND_SERVICE") {
		t.Error("sockit.service keeps CAP_NET_BIND_SERVICE, but systemd binds its ports")
	}
	socks, _ := filepath.Glob("systemd/*.socket")
	for _, s := range socks {
		b, _ := os.ReadFile(s)
		if !strings.Contains(string(b), "FileDescriptorName=") || !strings.Contains(string(b), "Service=sockit.service") {
			t.Errorf("%s does not name its service (FileDescriptorName=, Service=sockit.service)", s)
		}
		if !strings.Contains(svc, filepath.Base(s)) {
			t.Errorf("sockit.service's Sockets= does not list %s", filepath.Base(s))
		}
	}
}
