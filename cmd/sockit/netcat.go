package main

import (
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/netcat"
)

// familyFlags adds -4/-6 to a command and returns a function reading them.
func familyFlags(cmd *cobra.Command) func() (int, error) {
	var v4, v6 bool
	cmd.Flags().BoolVarP(&v4, "ipv4", "4", false, "use IPv4 only")
	cmd.Flags().BoolVarP(&v6, "ipv6", "6", false, "use IPv6 only")
	return func() (int, error) {
		switch {
		case v4 && v6:
			return 0, usageErr("%s: -4 and -6 exclude each other", cmd.CommandPath())
		case v4:
			return 4, nil
		case v6:
			return 6, nil
		}
		return 0, nil
	}
}

func (a *app) connectCommand() *cobra.Command {
	var (
		timeout time.Duration
		opt     netcat.Options
	)
	cmd := &cobra.Command{
		Use:   "connect [flags] ENDPOINT",
		Short: "Connect to ENDPOINT and join it to stdin and stdout (netcat)",
		Long: `connect sends stdin to the socket and the socket to stdout, over TCP, UDP,
unix or unixgram. At the end of stdin a stream connection is half-closed and
output goes on until the peer closes. Over UDP and unixgram each read of stdin
is one datagram, replies are printed, and connect ends once stdin is done and
no reply has come for --wait.`,
		Example: `  printf 'hello there' | sockit connect localhost:8001     # the brief's echo client
  printf '' | sockit connect udp://127.0.0.1:8017            # a QOTD query
  sockit connect unix:///run/app.sock < request.bin > reply.bin`,
		Args: exactArgs(1),
	}
	family := familyFlags(cmd)
	durationVar(cmd.Flags(), &timeout, "timeout", 10*time.Second, "bound on the connect and, once stdin has ended, on each wait for the peer (nc -w; 0: none)")
	durationVar(cmd.Flags(), &opt.Wait, "wait", 2*time.Second, "datagrams: quiet time to wait for replies after stdin ends")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fam, err := family()
		if err != nil {
			return err
		}
		if timeout < 0 {
			return usageErr("--timeout %v: want 0 (no bound) or more", timeout)
		}
		if opt.Wait <= 0 {
			return usageErr("--wait %v: want a positive time (replies take time to come back)", opt.Wait)
		}
		e, err := sockit.ParseEndpoint(args[0], sockit.Defaults{Network: "tcp"})
		if err != nil {
			return err
		}
		if err := checkTarget(e, fam); err != nil {
			return err
		}
		d := &sockit.Dialer{Timeout: timeout, Family: fam}
		opt.StopOnPeerClose = isTerminal(a.stdin)
		return interrupted(a, netcat.Connect(a.ctx, d, e, a.stdin, a.stdout, opt))
	}
	return cmd
}

func (a *app) listenCommand() *cobra.Command {
	var opt netcat.Options
	cmd := &cobra.Command{
		Use:   "listen [flags] ENDPOINT",
		Short: "Wait for peers on ENDPOINT and join them to stdin and stdout (netcat -l)",
		Long: `listen binds ENDPOINT and relays between the peer and stdin/stdout. It
serves one connection and exits when that peer is done; with -k it keeps
accepting, serves peers concurrently, and copies stdin to all of them. Over UDP
and unixgram it prints each datagram and sends stdin to the latest sender.
Binding port 0 picks a free port; the real address is printed on stderr.
A bare PORT listens on every address, as nc -l PORT does.`,
		Example: `  sockit listen 127.0.0.1:8001 > received.bin
  sockit listen 8001                          # nc -l 8001
  sockit listen -k tcp://[::1]:0
  sockit listen unixgram:///tmp/log.sock`,
		Args: exactArgs(1),
	}
	family := familyFlags(cmd)
	cmd.Flags().BoolVarP(&opt.KeepOpen, "keep-open", "k", false, "keep accepting connections, serving them concurrently")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fam, err := family()
		if err != nil {
			return err
		}
		arg := args[0]
		if _, err := strconv.ParseUint(arg, 10, 16); err == nil {
			arg = ":" + arg // nc -l 8001: the port on every address
		}
		e, err := sockit.ParseEndpoint(arg, sockit.Defaults{Network: "tcp"})
		if err != nil {
			return err
		}
		opt.StopOnPeerClose = isTerminal(a.stdin)
		opt.Announce = func(network string, addr net.Addr) {
			fmt.Fprintf(a.stderr, "listening %s %s\n", network, addr)
		}
		return interrupted(a, netcat.Listen(a.ctx, e.WithFamily(fam), a.stdin, a.stdout, opt))
	}
	return cmd
}

// isTerminal reports whether r is a terminal: input that may never end.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd())
}

// interrupted makes a netcat that a signal ended exit 130, as nc killed by
// Ctrl-C does, even when it stopped cleanly.
func interrupted(a *app, err error) error {
	if err == nil && a.ctx.Err() != nil {
		return a.ctx.Err()
	}
	return err
}

// isTerminalOut reports whether w is a terminal (get refuses binary bodies there).
func isTerminalOut(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}
