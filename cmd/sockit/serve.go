package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/duration"
	"github.com/sockit/sockit/internal/serve"
)

// serveCommand is `sockit serve`: its flags become a serve.Source, and
// package serve loads, checks and runs it; here are only the logger and
// the exit statuses.
func (a *app) serveCommand() *cobra.Command {
	var (
		given                   = map[string]string{} // serve's settings given as flags, as written
		logFormat, logLevel     string
		configFile, checkConfig string
	)
	cmd := &cobra.Command{
		Use:   "serve [flags] [SERVICE[=ENDPOINT]...]",
		Short: serve.Short(),
		Long:  serve.Long,
		Example: `  sockit serve
  sockit serve echo daytime
  sockit serve echo=tcp://127.0.0.1:8001 echo=udp://127.0.0.1:8001
  sockit serve qotd=unixgram:///tmp/qotd.sock
  sockit serve --config /etc/sockit.toml --log-level debug
  sockit serve --tls-cert cert.pem --tls-key key.pem http=tls://0.0.0.0:8443
  sockit serve --metrics 127.0.0.1:9100 --log-format json daytime=tcp6://[::1]:0`,
		RunE: func(cmd *cobra.Command, args []string) error {
			src := serve.Source{File: configFile, Flags: given, Args: args}
			if checkConfig != "" {
				src.File = checkConfig
				st, err := serve.Load(src)
				if err != nil {
					fmt.Fprintln(a.stderr, err) // every mistake, one a line
					return quietExit(exitFailure)
				}
				for _, w := range st.Warnings() {
					fmt.Fprintln(a.stderr, "warning: "+w)
				}
				_, err = fmt.Fprintf(a.stdout, "%s: ok\n", checkConfig)
				return err
			}
			logger, closeLog, err := serve.NewLogger(a.stderr, logFormat, logLevel)
			if err != nil {
				return serveExit(err)
			}
			defer closeLog() // the last lines, the stop line among them
			st, err := serve.Load(src)
			if err != nil {
				return refused(logger, src.File, err)
			}
			return serveExit(serve.Run(a.ctx, st, serve.Hooks{
				Logger: logger, Stdout: a.stdout, Version: version(),
				Status: func(ctx context.Context, err error) int { return statusOf(ctx, serveExit(err)) },
				Words:  func(err error) string { return errMessage(cmd, err) },
			}))
		},
	}
	f := cmd.Flags()
	for _, s := range serve.Fields() {
		fl := f.VarPF(&settingFlag{s, given}, s.Flag, "", s.Usage)
		if s.IsBool() {
			fl.NoOptDefVal = "true"
		}
		if values := s.Values; len(values) > 0 {
			_ = cmd.RegisterFlagCompletionFunc(s.Flag, func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
				return values, cobra.ShellCompDirectiveNoFileComp
			})
		}
	}
	f.StringVar(&configFile, "config", "", "read the settings from this TOML FILE (see deploy/sockit.example.toml); flags given beside it override its keys; SIGHUP reloads it")
	f.StringVar(&checkConfig, "check-config", "", "check this TOML FILE with the flags given, print every mistake with its line and column, and exit (1 if any)")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	return cmd
}

// settingFlag is one of serve's settings as a flag: the value given is
// kept as written, for serve.Load to read and check with the file's keys.
type settingFlag struct {
	s     serve.Field
	given map[string]string
}

func (v *settingFlag) String() string {
	t, ok := v.given[v.s.Flag]
	if !ok {
		return v.s.Default
	}
	if d, err := duration.Parse(t); err == nil && v.s.Type() == "time" {
		return d.String() // as every time flag reads back
	}
	return t
}

func (v *settingFlag) Set(text string) error {
	if old, ok := v.given[v.s.Flag]; ok && v.s.IsList() {
		text = old + "\n" + text // given again: one more value
	}
	v.given[v.s.Flag] = text
	return nil
}

func (v *settingFlag) Type() string { return v.s.Type() }

// serveExit maps serve's mistakes of the command line (flags, arguments)
// to a usage error, exit status 2, saying the first.
func serveExit(err error) error {
	var es serve.Errors
	if !errors.As(err, &es) || es.InFile() {
		return err
	}
	return &exitError{code: exitUsage, err: firstMistake(es, "")}
}

// firstMistake is the first of es, saying how many more there are.
func firstMistake(es serve.Errors, where string) error {
	if len(es) == 1 {
		return es[0]
	}
	return fmt.Errorf("%w (and %d more mistakes%s)", es[0], len(es)-1, where)
}

// refused ends a serve whose settings Load refused: a mistake of the
// command line is a usage error; the file's are logged, a line each, and
// the first also said as an error (exit status 1).
func refused(logger *slog.Logger, file string, err error) error {
	var es serve.Errors
	if errors.As(err, &es) && !es.InFile() {
		return serveExit(err)
	}
	serve.LogMistakes(logger, "config refused", file, err)
	if errors.As(err, &es) {
		return firstMistake(es, ", each logged above")
	}
	return err
}
