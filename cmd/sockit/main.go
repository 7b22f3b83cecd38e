package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/internal/cli"
)

// Exit statuses, the same for every command: 1 a failure (the network, a
// reply that is wrong), 2 a usage error, 23 output that could not be
// written, 28 a timeout (curl's numbers, which get and head keep: they add
// curl's others, http.go), 130 interrupted.
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitWrite   = 23
	exitTimeout = 28
	// exitInterrupted is what a shell reports for a command ended by
	// SIGINT (128+2); sockit uses it for SIGTERM too, and says nothing.
	exitInterrupted = 130
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
// that ends on SIGINT or SIGTERM. stdout is the one path of every byte a
// command prints there: a cli.Output, whose first write error ends the
// command as a failure (exitCode), whatever the command made of it.
type app struct {
	ctx    context.Context
	stdin  io.Reader
	stdout *cli.Output
	stderr io.Writer
	// stdoutTTY: stdout is a terminal (get refuses binary bodies there).
	stdoutTTY bool
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
	a := &app{ctx: ctx, stdin: stdin, stdout: cli.NewOutput(stdout, "stdout"), stderr: stderr, stdoutTTY: isTerminalOut(stdout)}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(a.stdout)
	root.SetErr(stderr)
	cmd, err := root.ExecuteContextC(ctx)
	return a.exitCode(cmd, err)
}

// exitCode says why a command failed, once, as "sockit CMD: what" (plain
// "sockit: what" for the root), and returns the exit status. A command
// ended by SIGINT or SIGTERM exits 130, quietly, whatever its error. Output
// that could not be written fails every command (23), even one that saw no
// error in it, and is what is said: the command's own error, if any, came
// of it.
func (a *app) exitCode(cmd *cobra.Command, err error) int {
	if werr := a.stdout.Err(); werr != nil && a.ctx.Err() == nil {
		if q := quietExit(0); errors.As(err, &q) && q == exitWrite {
			return exitWrite // said already (get and head say each URL's failure)
		}
		err = werr
	}
	status := statusOf(a.ctx, err)
	var q quietExit
	if err == nil || errors.As(err, &q) || status == exitInterrupted {
		return status
	}
	fmt.Fprintf(a.stderr, "%s: %s\n", errPrefix(cmd), errMessage(cmd, err))
	return status
}

// statusOf is the exit status err stands for when ctx is the command's.
func statusOf(ctx context.Context, err error) int {
	if err == nil {
		return exitOK
	}
	var q quietExit
	if errors.As(err, &q) {
		return int(q)
	}
	var ee *exitError
	isExit := errors.As(err, &ee)
	switch {
	case ctx.Err() != nil && !(isExit && ee.code == exitUsage):
		return exitInterrupted
	case isExit:
		return ee.code
	case errors.Is(err, sockit.ErrBadEndpoint):
		return exitUsage
	case errors.As(err, new(*cli.WriteError)):
		return exitWrite
	case isTimeout(err):
		return exitTimeout
	}
	return exitFailure
}

// isTimeout reports whether err is a wait that ran out: a deadline (a
// client's --timeout on any of its waits), or a query no reply came to.
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, sockit.ErrNoReply) || errors.As(err, &te) && te.Timeout()
}

// errPrefix is "sockit CMD" for the command that failed ("sockit" alone
// for the root or when cobra found none).
func errPrefix(cmd *cobra.Command) string {
	if cmd == nil {
		return "sockit"
	}
	return cmd.CommandPath()
}

// errMessage is err in cli's words, less the prefixes its text may already
// carry (a usage error that names its command, "bench merge: …" as well as
// "merge: …") so that none is doubled.
func errMessage(cmd *cobra.Command, err error) string {
	msg := cli.Message(err)
	prefixes := []string{"sockit: "}
	if cmd != nil && cmd.HasParent() {
		prefixes = append(prefixes, cmd.CommandPath()+": ", cmd.CommandPath()+" ", cmd.Name()+": ",
			strings.TrimPrefix(cmd.CommandPath(), "sockit ")+": ")
	}
	for again := true; again; {
		again = false
		for _, p := range prefixes {
			if strings.HasPrefix(msg, p) {
				msg, again = msg[len(p):], true
			}
		}
	}
	return msg
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "sockit",
		Short: "The classic socket programs, as one tool",
		Long: `sockit turns the classic socket programs into one tool: name resolution,
netcat, the inetd small services (echo, discard, chargen, qotd, daytime, time)
as clients and one concurrent server, HTTP/1.1 by hand, and a load generator.

Endpoints are written host:port, [v6addr]:port, tcp://, tcp4://, tcp6://,
tls://, tls4://, tls6:// (TLS over TCP),
udp://, udp4://, udp6://, unix:///path, unix://@abstract or unixgram:///path.`,
		Example: `  sockit demo                                # the whole tutorial, offline
  sockit resolve localhost                   # gethostbyname, done properly
  printf 'hello there' | sockit connect localhost:8001
  sockit listen -k tcp://127.0.0.1:8001`,
		SilenceErrors: true,
		SilenceUsage:  true,
		Version:       versionLine(),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return argsErr(cmd, "unknown command %q%s", args[0], didYouMean(cmd.SuggestionsFor(args[0])))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return cmd.Help()
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%s: %w%s", cmd.CommandPath(), err, flagSuggestion(cmd, err))}
	})
	root.SuggestionsMinimumDistance = 2
	root.SetHelpCommand(a.helpCommand(root))
	root.SetVersionTemplate("{{.Name}} {{.Version}}\n")
	// Help fits 80 columns: flag usages and command summaries wrap with a
	// hanging indent.
	root.SetUsageTemplate(strings.NewReplacer(".FlagUsages", ".FlagUsagesWrapped 80", "{{.Short}}", "{{short80 .}}").Replace(root.UsageTemplate()))
	// -V, as curl, nc and ab spell it (-v is verbose everywhere in sockit).
	root.Flags().BoolP("version", "V", false, "print the version, commit and Go version (as sockit version does)")
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
		a.manCommand(),
	)
	root.AddCommand(a.clientCommands()...)
	registerCompletions(root)
	return root
}

// buildVersion and buildCommit are stamped by the release build
// (-ldflags "-X main.buildVersion=v1.2.3 -X main.buildCommit=$(git rev-parse HEAD)",
// as deploy/container/build does), which works where Go's own VCS stamping
// is off (-buildvcs=false, a source tarball). Empty: the module's build info.
var buildVersion, buildCommit string

func version() string {
	if buildVersion != "" {
		return buildVersion
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func commit() string {
	c := buildCommit
	if bi, ok := debug.ReadBuildInfo(); ok && c == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				c = s.Value
			}
		}
	}
	if len(c) > 12 {
		c = c[:12]
	}
	if c == "" {
		c = "unknown"
	}
	return c
}

// versionLine is what both `sockit --version` and `sockit version` print
// after "sockit ": version, commit, Go version and platform.
func versionLine() string {
	return fmt.Sprintf("%s (commit %s, %s %s/%s)", version(), commit(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}

func (a *app) versionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print sockit's version, commit and Go version (as --version does)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := fmt.Fprintf(a.stdout, "sockit %s\n", versionLine())
			return err
		},
	}
}

// helpCommand replaces cobra's, which prints "Unknown help topic" and exits
// 0: `sockit help frob` is a usage error, as `git help frob` is.
func (a *app) helpCommand(root *cobra.Command) *cobra.Command {
	return &cobra.Command{
		Use:   "help [command]",
		Short: "Help about any command",
		ValidArgsFunction: func(c *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			cmd, _, _ := root.Find(args)
			var names []cobra.Completion
			for _, s := range cmd.Commands() {
				if s.IsAvailableCommand() && strings.HasPrefix(s.Name(), toComplete) {
					names = append(names, cobra.CompletionWithDesc(s.Name(), s.Short))
				}
			}
			return names, cobra.ShellCompDirectiveNoFileComp
		},
		RunE: func(c *cobra.Command, args []string) error {
			cmd, rest, err := root.Find(args)
			if err != nil || len(rest) > 0 || (cmd == root && len(args) > 0) {
				topic := strings.Join(args, " ")
				return usageErr("unknown help topic %q%s", topic, didYouMean(root.SuggestionsFor(args[len(args)-1])))
			}
			cmd.InitDefaultHelpFlag()
			return cmd.Help()
		},
	}
}

// didYouMean is cobra's suggestion line, kept on the error's one line.
func didYouMean(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
}

// flagSuggestion adds "did you mean --X?" to an unknown flag, as git and
// cobra do for commands: the flags within two edits of the one given.
func flagSuggestion(cmd *cobra.Command, err error) string {
	const unknown = "unknown flag: --"
	msg := err.Error()
	if !strings.HasPrefix(msg, unknown) {
		return ""
	}
	name := strings.SplitN(msg[len(unknown):], "=", 2)[0]
	var near []string
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && (editDistance(name, f.Name) <= 2 || strings.HasPrefix(f.Name, name)) {
			near = append(near, "--"+f.Name)
		}
	})
	if len(near) == 0 {
		return ""
	}
	return fmt.Sprintf(" (did you mean %s?)", strings.Join(near, " or "))
}

// editDistance is Levenshtein's, over bytes (flag names are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// subcommandsOnly is the Args of a command that only groups others
// (packet): a word that is none of them is an unknown command, with
// cobra's suggestions, as at the root.
func subcommandsOnly(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return argsErr(cmd, "unknown command %q%s", args[0], didYouMean(cmd.SuggestionsFor(args[0])))
	}
	return nil
}

func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return argsErr(cmd, "%s takes no arguments", cmd.CommandPath())
	}
	return nil
}

func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return argsErr(cmd, "%s wants %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

// short80 is a command's summary as help lists it, wrapped to 80 columns;
// registered once (cobra's template functions are global).
func init() {
	cobra.AddTemplateFunc("short80", func(c *cobra.Command) string { return cli.Wrap(c.Short, 80, c.NamePadding()+3) })
}

// argsErr is a usage error in a command's words or arguments: it points to
// the command's help, as every such error does (connect a b c, qotd a b,
// sockit nosuch), from here alone.
func argsErr(cmd *cobra.Command, format string, a ...any) error {
	return usageErr(format+" (see %s --help)", append(a, cmd.CommandPath())...)
}
