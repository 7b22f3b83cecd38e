package sockittest

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// StartXinetd writes conf to a temporary xinetd.conf and runs xinetd (bin)
// on it in the foreground, logging to its standard error. It returns that
// standard error, to wait for xinetd's lines on, and how to stop it; the
// stop also runs at cleanup (stopping twice is harmless).
func StartXinetd(t testing.TB, bin, conf string) (stderr io.Reader, stop func()) {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "xinetd.conf")
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-dontfork", "-filelog", "/dev/stderr", "-f", cfg, "-pidfile", filepath.Join(dir, "pid"))
	stderr, _ = cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop = func() { cmd.Process.Kill(); cmd.Wait() }
	t.Cleanup(stop)
	return stderr, stop
}
