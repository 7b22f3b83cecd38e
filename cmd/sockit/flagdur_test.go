package main

import (
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestEveryTimeFlagTakesSeconds walks every command: no time flag may be a
// plain pflag duration (which refuses "5") or a bare int of seconds (which
// refuses "500ms"), and each takes both forms and says so in --help.
func TestEveryTimeFlagTakesSeconds(t *testing.T) {
	a := &app{}
	var walk func(c *cobra.Command)
	seen := 0
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			timeish := strings.Contains(f.Name, "time") && !strings.HasSuffix(f.Name, "-format") || strings.Contains(f.Name, "grace") || f.Name == "wait" ||
				f.Name == "duration" || f.Name == "warmup"
			if f.Value.Type() == "duration" || timeish && f.Value.Type() != "time" {
				t.Errorf("%s --%s is a %s flag, not the shared time flag", c.CommandPath(), f.Name, f.Value.Type())
				return
			}
			if f.Value.Type() != "time" {
				return
			}
			seen++
			if !strings.Contains(f.Usage, "seconds (5, 2.5) or a duration (500ms, 1m30s)") {
				t.Errorf("%s --%s: usage %q does not say what it takes", c.CommandPath(), f.Name, f.Usage)
			}
			def := f.Value.String()
			for in, want := range map[string]string{"2.5": "2.5s", "1m30s": "1m30s", "500ms": "500ms"} {
				if err := f.Value.Set(in); err != nil || f.Value.String() != want {
					t.Errorf("%s --%s %s: %v, reads back %q", c.CommandPath(), f.Name, in, err, f.Value.String())
				}
			}
			f.Value.Set(def)
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(a.rootCommand())
	// get/head -m and --connect-timeout, every client's --timeout, bench's
	// -t -s -d --warmup, serve's --grace --idle-timeout --write-timeout, ...
	if seen < 20 {
		t.Errorf("only %d time flags found", seen)
	}
	r := sockitRun(t, "", "get", "-m", "abc", "http://127.0.0.1:1/")
	if r.code != exitUsage || !strings.Contains(r.stderr, `"abc" is neither seconds`) {
		t.Errorf("-m abc: exit %d %q", r.code, r.stderr)
	}
}
