package main

import (
	"context"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sockit/sockit/proto"
)

// Every protocol client has a long help of its own (qotd and time had only
// their one-line summary), and no flag of any command states its default
// twice, in its usage and in cobra's "(default …)" (chargen's --bytes did).
func TestHelpSweep(t *testing.T) {
	a := &app{ctx: context.Background()}
	root := a.rootCommand()
	// The shipped clients (the registry also holds the test files' own).
	for _, name := range []string{"echo", "discard", "chargen", "qotd", "daytime", "time"} {
		in, ok := proto.Lookup(name)
		if !ok || in.Client == nil {
			t.Errorf("no client %s in the registry", name)
			continue
		}
		cmd, _, err := root.Find([]string{in.Name})
		if err != nil || cmd == root {
			t.Errorf("no command for the client %s: %v", in.Name, err)
			continue
		}
		if strings.TrimSpace(cmd.Long) == "" {
			t.Errorf("sockit %s has no long help", in.Name)
		}
	}
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.Flags().VisitAll(func(f *pflag.Flag) {
			// A bool's "by default" says what happens without it.
			if f.DefValue != "" && f.Value.Type() != "bool" && strings.Contains(strings.ToLower(f.Usage), "by default") {
				t.Errorf("%s --%s states its default in its usage %q and again as (default %s)", c.CommandPath(), f.Name, f.Usage, f.DefValue)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(root)
	r := sockitRun(t, "", "chargen", "--help")
	for _, line := range strings.Split(r.stdout, "\n") {
		if strings.Contains(line, "--bytes int") && strings.Count(line, "default") != 1 {
			t.Errorf("chargen --bytes: %q", line)
		}
	}
}

// Every mistake in a command's words or arguments ends with the hint to
// its help, once (argsErr): too many arguments for a client (qotd a b
// lacked what connect a b c said), arguments to a command that takes none,
// an unknown command at the root or under packet.
func TestArgsErrorsPointToHelp(t *testing.T) {
	for _, args := range [][]string{
		{"qotd", "a", "b"}, {"time", "a", "b"}, {"daytime", "a", "b"}, {"connect", "a", "b", "c"},
		{"listen"}, {"demo", "x"}, {"interfaces", "x"}, {"packet", "x"}, {"nosuch"},
	} {
		path := "sockit"
		if args[0] != "nosuch" {
			path += " " + args[0]
		}
		r := sockitRun(t, "", args...)
		if hint := "(see " + path + " --help)\n"; r.code != exitUsage || !strings.HasSuffix(r.stderr, hint) || strings.Count(r.stderr, "--help") != 1 {
			t.Errorf("%v: exit %d, %q, want exit 2 ending %q", args, r.code, r.stderr, hint)
		}
	}
}

// No line of any command's help is over 80 columns: flag usages and the
// command listings wrap (the usage template, in rootCommand), long help
// and examples are written to fit.
func TestHelpFits80Columns(t *testing.T) {
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Hidden || strings.HasPrefix(c.Name(), "__") {
			return
		}
		r := sockitRun(t, "", append(strings.Fields(c.CommandPath())[1:], "--help")...)
		if r.code != 0 {
			t.Errorf("%s --help: exit %d", c.CommandPath(), r.code)
		}
		for _, line := range strings.Split(r.stdout, "\n") {
			if len([]rune(line)) > 80 {
				t.Errorf("%s --help: a line of %d columns: %q", c.CommandPath(), len([]rune(line)), line)
			}
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk((&app{ctx: context.Background()}).rootCommand())
}
