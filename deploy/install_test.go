package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockit/sockit/sockittest"
)

// TestInstall runs deploy/install as a package build does (PREFIX=/usr,
// staged under DESTDIR, building the binary itself with deploy/gobuild):
// the stamped binary, a man page per command where man(1) finds them by
// their section (man -M .../share/man sockit-serve), and completions that
// bash loads.
func TestInstall(t *testing.T) {
	manPath := sockittest.RequireTool(t, "man")
	bash := sockittest.RequireTool(t, "bash")
	dest := t.TempDir()
	cmd := exec.Command("./install")
	cmd.Env = append(os.Environ(), "DESTDIR="+dest, "PREFIX=/usr", "VERSION=v0.0.0-install", "SOURCE_DATE_EPOCH=31536000")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("deploy/install: %v\n%s", err, out)
	}
	usr := filepath.Join(dest, "usr")
	if v, err := exec.Command(filepath.Join(usr, "bin", "sockit"), "version").Output(); err != nil || !strings.HasPrefix(string(v), "sockit v0.0.0-install (commit ") {
		t.Errorf("installed sockit version: %q, %v", v, err)
	}
	pages, _ := filepath.Glob(filepath.Join(usr, "share", "man", "man1", "sockit*.1"))
	if len(pages) < 20 {
		t.Errorf("%d man pages installed: %v", len(pages), pages)
	}
	for _, p := range pages {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("%s: %v, %v; want 0644", p, fi.Mode(), err)
		}
	}
	for page, want := range map[string]string{
		"sockit":       "sockit - The classic socket programs",
		"sockit-serve": "--unix-mode",
		"sockit-bench": "sockit-bench - ",
	} {
		c := exec.Command(manPath, "-M", filepath.Join(usr, "share", "man"), page)
		c.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=120")
		text, err := c.Output()
		if err != nil || !strings.Contains(string(text), want) || !strings.Contains(string(text), "Jan 1971") {
			t.Errorf("man -M …/share/man %s: %v, %.300q; want %q dated by SOURCE_DATE_EPOCH", page, err, text, want)
		}
	}
	script := filepath.Join(usr, "share", "bash-completion", "completions", "sockit")
	if got, err := exec.Command(bash, "-c", "source "+script+" && complete -p sockit").CombinedOutput(); err != nil || !strings.Contains(string(got), " sockit") {
		t.Errorf("bash completion: %q, %v", got, err)
	}
	for file, head := range map[string]string{
		filepath.Join(usr, "share", "zsh", "site-functions", "_sockit"):            "#compdef sockit",
		filepath.Join(usr, "share", "fish", "vendor_completions.d", "sockit.fish"): "# fish completion for sockit",
	} {
		if b, err := os.ReadFile(file); err != nil || !strings.HasPrefix(string(b), head) {
			t.Errorf("%s: %.60q, %v; want it to start %q", file, b, err, head)
		}
	}
}
