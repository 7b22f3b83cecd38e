// Command sockit is the classic socket programs as one tool: resolve,
// connect/listen (netcat), clients and one server for the inetd small
// services, HTTP by hand, a load generator, and a demo of the tutorial they
// come from.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit"
)

// Exit statuses. Network failures are 1 and usage errors 2 for every
// command; head/get add curl's numbers (6, 7, 8, 22, 28).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// exitError carries a specific exit status up to main.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func usageErr(format string, a ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, a...)}
}

// quietExit ends with a status after the command has already said why.
type quietExit int

func (q quietExit) Error() string { return fmt.Sprintf("exit status %d", int(q)) }

// app is what every command shares: its standard streams and the context
// that ends on SIGINT or SIGTERM.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default action: a second
		// one ends the process at once.
		<-ctx.Done()
		stop()
	}()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the exit status.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	a := &app{ctx: ctx, stdin: stdin, stdout: stdout, stderr: stderr}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	return a.exitCode(err)
}

func (a *app) exitCode(err error) int {
	if err == nil {
		return exitOK
	}
	var q quietExit
	if errors.As(err, &q) {
		return int(q)
	}
	// A sentinel of package sockit already says "sockit: ".
	fmt.Fprintf(a.stderr, "sockit: %s\n", strings.TrimPrefix(err.Error(), "sockit: "))
	var ee *exitError
	switch {
	case errors.As(err, &ee):
		return ee.code
	case errors.Is(err, sockit.ErrBadEndpoint):
		return exitUsage
	}
	return exitFailure
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sockit",
		Short: "The classic socket programs, as one tool",
		Long: `sockit turns the classic socket programs into one tool: name resolution,
netcat, the inetd small services (echo, discard, chargen, qotd, daytime, time)
as clients and one concurrent server, HTTP/1.1 by hand, and a load generator.

Endpoints are written host:port, [v6addr]:port, tcp://, tcp4://, tcp6://,
udp://, udp4://, udp6://, unix:///path, unix://@abstract or unixgram:///path.`,
		Example: `  sockit demo                                # the whole tutorial, offline
  sockit resolve localhost                   # gethostbyname, done properly
  printf 'hello there' | sockit connect localhost:8001
  sockit listen -k tcp://127.0.0.1:8001`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       version(),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErr("unknown command %q (see sockit --help)", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%s: %w", cmd.CommandPath(), err)}
	})
	root.AddCommand(
		a.resolveCommand(),
		a.connectCommand(),
		a.listenCommand(),
		a.demoCommand(),
		a.serveCommand(),
		a.benchCommand(),
		a.headCommand(),
		a.getCommand(),
		a.packetCommand(),
		a.interfacesCommand(),
		a.versionCommand(),
	)
	root.AddCommand(a.clientCommands()...)
	return root
}

// buildVersion is stamped by the release build (-ldflags "-X
// main.buildVersion=v1.2.3", as deploy/container/build does); empty means
// the version comes from the module's build info.
var buildVersion string

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				return "devel-" + s.Value[:12]
			}
		}
	}
	return "devel"
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print sockit's version",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(a.stdout, "sockit %s\n", version())
			return err
		},
	}
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usageErr("%s takes no arguments", cmd.CommandPath())
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageErr("%s wants %d argument(s), got %d (see %s --help)", cmd.CommandPath(), n, len(args), cmd.CommandPath())
		}
		return nil
	}
}
