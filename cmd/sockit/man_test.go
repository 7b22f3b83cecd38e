package main

import (
	"context"
	"github.com/sockit/sockit/internal/cli"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sockit/sockit/sockittest"
)

// TestManPages: `sockit man DIR` writes one page per command a user can
// run (none for hidden ones), each titled after its command and dated by
// SOURCE_DATE_EPOCH (a reproducible build), and man(1) renders every one
// without a warning, with its name and every flag of its command.
func TestManPages(t *testing.T) {
	manPath := sockittest.RequireTool(t, "man")
	dir := t.TempDir()
	t.Setenv("SOURCE_DATE_EPOCH", "31536000") // 1971-01-01
	if r := sockitRun(t, "", "man", dir); r.code != 0 {
		t.Fatalf("sockit man: %+v", r)
	}
	root := (&app{ctx: context.Background(), stdin: strings.NewReader(""), stdout: cli.NewOutput(io.Discard, "stdout"), stderr: io.Discard}).rootCommand()
	root.InitDefaultCompletionCmd()
	want := map[string]*cobra.Command{}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c != root && (!c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand()) {
			return
		}
		want[strings.ReplaceAll(c.CommandPath(), " ", "-")+".1"] = c
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	var wantNames []string
	for name := range want {
		wantNames = append(wantNames, name)
	}
	slices.Sort(wantNames)
	if strings.Join(got, " ") != strings.Join(wantNames, " ") {
		t.Fatalf("pages\n%v\nwant one per command\n%v", got, wantNames)
	}
	for _, must := range []string{"sockit.1", "sockit-serve.1", "sockit-bench.1", "sockit-echo.1", "sockit-packet-capture.1"} {
		if want[must] == nil {
			t.Errorf("no page %s", must)
		}
	}
	for name, c := range want {
		src, _ := os.ReadFile(filepath.Join(dir, name))
		title := strings.ToUpper(strings.TrimSuffix(name, ".1"))
		if !strings.Contains(string(src), `.TH "`+title+`" "1" "Jan 1971"`) {
			t.Errorf("%s: no .TH %q dated Jan 1971 in %.120q", name, title, src)
		}
		cmd := exec.Command(manPath, "--warnings", "-l", filepath.Join(dir, name))
		cmd.Env = append(os.Environ(), "MANPAGER=cat", "PAGER=cat", "MANWIDTH=200", "MAN_KEEP_FORMATTING=")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		page := string(out)
		if err != nil || stderr.Len() > 0 {
			t.Errorf("man -l %s: %v\n%s", name, err, stderr.String())
			continue
		}
		for _, section := range []string{"NAME", "SYNOPSIS", "DESCRIPTION"} {
			if !strings.Contains(page, "\n"+section+"\n") {
				t.Errorf("%s renders without %s", name, section)
			}
		}
		if !strings.Contains(page, strings.TrimSuffix(name, ".1")+" - ") {
			t.Errorf("%s: NAME does not name %s", name, c.CommandPath())
		}
		c.NonInheritedFlags().VisitAll(func(f *pflag.Flag) {
			if !f.Hidden && !strings.Contains(page, "--"+f.Name) {
				t.Errorf("%s renders without --%s", name, f.Name)
			}
		})
	}
}
