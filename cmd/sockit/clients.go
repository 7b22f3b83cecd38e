package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/proto/chargen"
	"github.com/sockit/sockit/proto/daytime"
	"github.com/sockit/sockit/proto/discard"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/qotd"
	"github.com/sockit/sockit/proto/timeproto"
)

// clientFlags are what every small-service client shares.
type clientFlags struct {
	family  func() (int, error)
	timeout time.Duration
	retries int
}

func (a *app) addClientFlags(cmd *cobra.Command) *clientFlags {
	cf := &clientFlags{family: familyFlags(cmd)}
	durationVar(cmd.Flags(), &cf.timeout, "timeout", 2*time.Second, "bound on the connect, and on each UDP attempt's wait for a reply")
	cmd.Flags().IntVar(&cf.retries, "retries", 3, "UDP: times to resend a request that got no reply")
	return cf
}

// setup parses the endpoint argument (empty: sockit serve's local default)
// and builds the dialer and UDP query policy, which says so when it resends.
func (a *app) setup(cf *clientFlags, name, arg string) (sockit.Endpoint, *sockit.Dialer, *sockit.Query, error) {
	info, _ := proto.Lookup(name)
	network := "tcp"
	if info.UDPFirst {
		network = "udp"
	}
	var e sockit.Endpoint
	var err error
	if arg == "" {
		e = sockit.Endpoint{Network: network, Address: fmt.Sprintf("127.0.0.1:%d", info.Local)}
	} else {
		e, err = sockit.ParseEndpoint(arg, sockit.Defaults{Network: network, Port: info.WellKnown})
		if err != nil {
			return e, nil, nil, err
		}
	}
	fam, err := cf.family()
	if err != nil {
		return e, nil, nil, err
	}
	q := &sockit.Query{Retries: cf.retries, Timeout: cf.timeout}
	q.OnRetry = func(attempt int) {
		fmt.Fprintf(a.stderr, "sockit: %s: no reply from %s in %v, resending (attempt %d of %d)\n",
			name, e, cf.timeout, attempt, cf.retries+1)
	}
	return e.WithFamily(fam), &sockit.Dialer{Timeout: cf.timeout, Family: fam}, q, nil
}

func optionalArg(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return ""
}

func maxArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) > n {
			return usageErr("%s takes at most %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

func (a *app) echoCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "echo [flags] [ENDPOINT] [MESSAGE...]",
		Short: "Send a message to an echo service (RFC 862) and check what comes back",
		Long: `echo sends MESSAGE (or stdin when there is none) to the echo service and prints
what comes back; the exit status is 1 if it differs from what was sent. A bare
host uses port 7; no ENDPOINT uses sockit serve's 127.0.0.1:8001.`,
		Example: `  sockit echo localhost:8001 hello there     # the brief's echo client
  sockit echo udp://127.0.0.1:8001 ping
  sockit echo unix:///tmp/echo.sock < file.bin`,
	}
	cf := a.addClientFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		e, d, q, err := a.setup(cf, "echo", optionalArg(args))
		if err != nil {
			return err
		}
		var msg []byte
		if len(args) > 1 {
			msg = []byte(strings.Join(args[1:], " "))
		} else if msg, err = io.ReadAll(a.stdin); err != nil {
			return err
		}
		got, err := echo.Exchange(a.ctx, d, e, msg, q)
		if _, werr := a.stdout.Write(got); werr != nil && err == nil {
			err = werr
		}
		if len(args) > 1 && len(got) > 0 {
			fmt.Fprintln(a.stdout)
		}
		return err
	}
	return cmd
}

func (a *app) discardCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "discard [flags] [ENDPOINT]",
		Short: "Send stdin to a discard service (RFC 863) and report the bytes sent",
		Args:  maxArgs(1),
		Example: `  sockit discard localhost:8009 < /var/log/syslog
  head -c 100M /dev/zero | sockit discard`,
	}
	cf := a.addClientFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		e, d, _, err := a.setup(cf, "discard", optionalArg(args))
		if err != nil {
			return err
		}
		start := time.Now()
		n, err := discard.Send(a.ctx, d, e, a.stdin)
		if err != nil {
			return err
		}
		el := time.Since(start)
		fmt.Fprintf(a.stdout, "discard: sent %d bytes to %s in %v (%s)\n", n, e, el.Round(time.Microsecond), rate(n, el))
		return nil
	}
	return cmd
}

func rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MB/s", float64(n)/d.Seconds()/1e6)
}

func (a *app) chargenCommand() *cobra.Command {
	var (
		n     int64
		print bool
	)
	cmd := &cobra.Command{
		Use:   "chargen [flags] [ENDPOINT]",
		Short: "Read from a chargen service (RFC 864), checking the pattern",
		Args:  maxArgs(1),
		Example: `  sockit chargen localhost:8019 --bytes 1000000
  sockit chargen udp://127.0.0.1:8019`,
	}
	cf := a.addClientFlags(cmd)
	cmd.Flags().Int64Var(&n, "bytes", 74*100, "TCP: bytes to read (100 lines by default)")
	cmd.Flags().BoolVarP(&print, "print", "p", false, "print the characters received")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		e, d, q, err := a.setup(cf, "chargen", optionalArg(args))
		if err != nil {
			return err
		}
		if n <= 0 {
			return usageErr("chargen: --bytes must be positive")
		}
		start := time.Now()
		got, err := chargen.Receive(a.ctx, d, e, n, q)
		el := time.Since(start)
		if print && err == nil {
			a.stdout.Write(chargen.Append(nil, 0, int(got)))
		}
		if err != nil {
			return err
		}
		if e.IsPacket() && got > chargen.MaxDatagram {
			fmt.Fprintf(a.stderr, "sockit: chargen: note: %s sent %d characters; RFC 864 says at most %d\n", e, got, chargen.MaxDatagram)
		}
		fmt.Fprintf(a.stdout, "chargen: %d bytes from %s in %v (%s), pattern ok\n", got, e, el.Round(time.Microsecond), rate(got, el))
		return nil
	}
	return cmd
}

func (a *app) qotdCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "qotd [flags] [ENDPOINT]",
		Short: "Get a quote from a QOTD service (RFC 865), over UDP as the brief does",
		Args:  maxArgs(1),
		Example: `  sockit qotd                          # sockit serve's udp://127.0.0.1:8017
  sockit qotd djxmmx.net               # the brief's server, port 17 (needs the internet)
  sockit qotd tcp://127.0.0.1:8017`,
	}
	cf := a.addClientFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		e, d, q, err := a.setup(cf, "qotd", optionalArg(args))
		if err != nil {
			return err
		}
		quote, _, err := qotd.Get(a.ctx, d, e, q)
		if len(quote) > 0 {
			a.stdout.Write(quote)
			if quote[len(quote)-1] != '\n' {
				fmt.Fprintln(a.stdout)
			}
		}
		return err
	}
	return cmd
}

func (a *app) daytimeCommand() *cobra.Command {
	var verbose, asJSON bool
	cmd := &cobra.Command{
		Use:   "daytime [flags] [ENDPOINT]",
		Short: "Get the time of day from a daytime service (RFC 867), over TCP as the brief does",
		Long: `daytime prints the line the service sends. A NIST-format line is checked, and
with -v or --json its fields are shown with the offset from the local clock.`,
		Args: maxArgs(1),
		Example: `  sockit daytime                       # sockit serve's tcp://127.0.0.1:8013
  sockit daytime time.nist.gov         # the brief's server, port 13 (needs the internet)
  sockit daytime -v udp://127.0.0.1:8013`,
	}
	cf := a.addClientFlags(cmd)
	cmd.Flags().BoolVarP(&verbose, "verbose", "v", false, "show the NIST fields and the clock offset")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the NIST fields and the clock offset as JSON")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		e, d, q, err := a.setup(cf, "daytime", optionalArg(args))
		if err != nil {
			return err
		}
		line, local, _, err := daytime.Get(a.ctx, d, e, q)
		if err != nil {
			return err
		}
		trimmed := strings.TrimSpace(line)
		if !verbose && !asJSON {
			_, err := fmt.Fprintln(a.stdout, trimmed)
			return err
		}
		n, perr := daytime.ParseNIST(line)
		if perr != nil {
			fmt.Fprintln(a.stdout, trimmed)
			return perr
		}
		// The line has whole seconds: the offset is good to about ±1s.
		offset := n.Time.Sub(local.Truncate(time.Second))
		if asJSON {
			return json.NewEncoder(a.stdout).Encode(struct {
				Line string `json:"line"`
				daytime.NIST
				OffsetS float64 `json:"offset_s"`
			}{trimmed, n, offset.Seconds()})
		}
		fmt.Fprintf(a.stdout, "%s\n  mjd %d\n  utc %s\n  dst %02d\n  leap %d\n  health %d\n  advance %.1f ms\n  offset %+.0fs from the local clock\n",
			trimmed, n.MJD, n.Time.Format(time.RFC3339), n.DST, n.Leap, n.Health, n.AdvanceMs, offset.Seconds())
		return nil
	}
	return cmd
}

func (a *app) timeCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "time [flags] [ENDPOINT]",
		Short: "Get the time from a time service (RFC 868) and the offset from the local clock",
		Args:  maxArgs(1),
		Example: `  sockit time                          # sockit serve's tcp://127.0.0.1:8037
  sockit time udp://127.0.0.1:8037`,
	}
	cf := a.addClientFlags(cmd)
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		e, d, q, err := a.setup(cf, "time", optionalArg(args))
		if err != nil {
			return err
		}
		remote, local, _, err := timeproto.Get(a.ctx, d, e, q)
		if err != nil {
			return err
		}
		offset := remote.Sub(local.Truncate(time.Second))
		_, err = fmt.Fprintf(a.stdout, "%s (offset %+.0fs from the local clock)\n", remote.Format(time.RFC3339), offset.Seconds())
		return err
	}
	return cmd
}
