package main

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

// flagEnums are the flags whose values are a closed set, by flag name,
// offered by shell completion wherever a command has such a flag (serve's
// own settings offer theirs from serve.Fields, in serveCommand).
var flagEnums = map[string]func() []string{
	"proto":      func() []string { return proto.Names(func(p proto.Protocol) bool { return p.Bench != nil }) },
	"log-format": func() []string { return []string{"text", "json"} },
	"log-level":  func() []string { return []string{"debug", "info", "warn", "error"} },
	"engine":     server.Engines, // serve's and bench's alike
	"udp-budget": func() []string { return []string{"on", "off"} },
	"inetd":      func() []string { return proto.Names(func(p proto.Protocol) bool { return p.Service != nil }) },
	"interface": func() []string {
		ifs, _ := net.Interfaces()
		names := make([]string, len(ifs))
		for i, ifc := range ifs {
			names[i] = ifc.Name
		}
		return names
	},
}

// registerCompletions walks the command tree and teaches completion the
// enums above and serve's SERVICE=ENDPOINT arguments.
func registerCompletions(root *cobra.Command) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for name, values := range flagEnums {
			if c.Flags().Lookup(name) != nil {
				// Asked for at completion time: the interfaces are the machine's then.
				_ = c.RegisterFlagCompletionFunc(name, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
					return values(), cobra.ShellCompDirectiveNoFileComp
				})
			}
		}
		if c.Name() == "serve" && c.ValidArgsFunction == nil {
			c.ValidArgsFunction = completeServices
		}
		for _, s := range c.Commands() {
			walk(s)
		}
	}
	walk(root)
}

// completeServices offers every service serve knows, bare ("echo": on its
// default endpoints) and as "echo=" (the endpoint after it is the user's).
func completeServices(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	var out []cobra.Completion
	for _, p := range proto.All() {
		if p.Service != nil && strings.HasPrefix(p.Name, toComplete) {
			out = append(out, p.Name, p.Name+"=")
		}
	}
	return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
}

// manCommand writes sockit's man pages (cobra's doc generator: sockit.1 and
// one sockit-CMD.1 a command) into DIR, for packagers: `sockit man
// /usr/share/man/man1` (deploy/install runs it). Hidden: it is a build step,
// not a user's command; README's Install says how to use it.
func (a *app) manCommand() *cobra.Command {
	return &cobra.Command{
		Use:    "man DIR",
		Short:  "Write the man pages into DIR",
		Hidden: true,
		Args:   exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := os.MkdirAll(args[0], 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			// No Title: each page is titled after its command (SOCKIT-SERVE);
			// no Date: cobra takes SOURCE_DATE_EPOCH, else today.
			hdr := &doc.GenManHeader{Section: "1", Source: "sockit " + version(), Manual: "sockit manual"}
			if err := doc.GenManTree(root, hdr, args[0]); err != nil {
				return err
			}
			_, err := fmt.Fprintf(a.stderr, "man pages written to %s\n", args[0])
			return err
		},
	}
}
