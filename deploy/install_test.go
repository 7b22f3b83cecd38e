package deploy

import (
	"fmt"
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

// TestInstallPathsAndFailures runs deploy/install with a stand-in binary
// (SOCKIT), so it needs neither Go nor man: a PREFIX and a DESTDIR with
// spaces land every file where they say, and a binary that fails to write
// a completion fails the install (it used to report the completions
// installed and exit 0).
func TestInstallPathsAndFailures(t *testing.T) {
	dir := t.TempDir()
	fake := func(name, failing string) string {
		p := filepath.Join(dir, name)
		script := "#!/bin/sh\ncase \"$1 $2\" in\n" +
			strings.ReplaceAll(failing, " ", "\\ ") + ") echo broken >&2; exit 3 ;;\n" +
			"man*) mkdir -p \"$2\" && echo page >\"$2/sockit.1\" ;;\n" +
			"completion*) echo \"# $2 completion\" ;;\n" +
			"esac\n"
		if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(bin, dest string) ([]byte, error) {
		cmd := exec.Command("./install")
		cmd.Env = append(os.Environ(), "SOCKIT="+bin, "DESTDIR="+dest, "PREFIX=/opt/my prefix")
		return cmd.CombinedOutput()
	}
	dest := filepath.Join(dir, "stage dir")
	if out, err := run(fake("sockit ok", "none"), dest); err != nil {
		t.Fatalf("deploy/install: %v\n%s", err, out)
	}
	root := filepath.Join(dest, "opt", "my prefix")
	for file, want := range map[string]string{
		"bin/sockit":                                  "#!/bin/sh",
		"share/man/man1/sockit.1":                     "page",
		"share/bash-completion/completions/sockit":    "# bash completion",
		"share/zsh/site-functions/_sockit":            "# zsh completion",
		"share/fish/vendor_completions.d/sockit.fish": "# fish completion",
	} {
		if b, err := os.ReadFile(filepath.Join(root, file)); err != nil || !strings.HasPrefix(string(b), want) {
			t.Errorf("%s: %.40q, %v; want it to start %q", file, b, err, want)
		}
	}
	for i, failing := range []string{"man *", "completion bash", "completion zsh", "completion fish"} {
		name := fmt.Sprintf("sockit failing %d", i)
		out, err := run(fake(name, failing), filepath.Join(dir, name+" dest"))
		if err == nil || !strings.Contains(string(out), "broken") {
			t.Errorf("deploy/install with a binary whose %q fails: %v\n%s", failing, err, out)
		}
	}
}
