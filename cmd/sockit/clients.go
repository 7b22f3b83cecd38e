package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto"
	_ "github.com/sockit/sockit/proto/all" // the clients sockit ships
)

// clientFlags are what every small-service client shares.
type clientFlags struct {
	family        func() (int, error)
	timeout       time.Duration
	retries       int
	json, verbose bool
}

// addClientFlags adds the flags every client has; --retries only where a
// reply is awaited (discard gets none, so there is nothing to resend for).
func (a *app) addClientFlags(cmd *cobra.Command, noReply bool) *clientFlags {
	cf := &clientFlags{family: familyFlags(cmd)}
	durationVar(cmd.Flags(), &cf.timeout, "timeout", 2*time.Second, "bound on every wait: the connect, the reply (each 1 KiB of it), each UDP attempt (positive)")
	if !noReply {
		cmd.Flags().IntVar(&cf.retries, "retries", 3, "UDP: times to resend a request that got no reply (0: send once)")
	}
	cmd.Flags().BoolVar(&cf.json, "json", false, "print one JSON object on stdout: endpoint, bytes, duration_s and the result")
	cmd.Flags().BoolVarP(&cf.verbose, "verbose", "v", false, "print details on stderr")
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
	// 0 is no bound to curl but a spin to a UDP client: both are refused,
	// as the help says, rather than given a meaning of their own.
	if cf.timeout <= 0 {
		return e, nil, nil, usageErr("--timeout must be positive, not %v", cf.timeout)
	}
	if cf.retries < 0 {
		return e, nil, nil, usageErr("--retries must be 0 or more, not %d", cf.retries)
	}
	if err := checkTarget(e, fam); err != nil {
		return e, nil, nil, err
	}
	q := &sockit.Query{Retries: cf.retries, Timeout: cf.timeout}
	q.OnRetry = func(attempt int) {
		fmt.Fprintf(a.stderr, "sockit %s: no reply from %s in %v, resending (attempt %d of %d)\n",
			name, e.Describe(), cf.timeout, attempt, cf.retries+1)
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
			return argsErr(cmd, "%s takes at most %d argument(s), got %d", cmd.CommandPath(), n, len(args))
		}
		return nil
	}
}

// clientCommands builds `sockit NAME` for every registered protocol with a
// client (package proto).
func (a *app) clientCommands() []*cobra.Command {
	var cmds []*cobra.Command
	for _, p := range proto.All() {
		if p.Client != nil {
			cmds = append(cmds, a.clientCommand(p.Name, p.Client))
		}
	}
	return cmds
}

func (a *app) clientCommand(name string, c *proto.Client) *cobra.Command {
	use := name + " [flags] [ENDPOINT]"
	if c.Args != "" {
		use += " " + c.Args
	}
	cmd := &cobra.Command{Use: use, Short: c.Short, Long: c.Long, Example: c.Example}
	switch {
	case c.MaxArgs == 0:
		cmd.Args = maxArgs(1)
	case c.MaxArgs > 0:
		cmd.Args = maxArgs(c.MaxArgs)
	}
	cf := a.addClientFlags(cmd, c.NoReply)
	run := c.Command(cmd.Flags())
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		e, d, q, err := a.setup(cf, name, optionalArg(args))
		if err != nil {
			return err
		}
		call := &proto.Call{Endpoint: e, Dialer: d, Query: q, Stdin: &ctxReader{ctx: a.ctx, r: a.stdin}, Stdout: a.stdout, Stderr: a.stderr,
			JSON: cf.json, Verbose: cf.verbose}
		if len(args) > 1 {
			call.Args = args[1:]
		}
		err = run(a.ctx, call)
		if ue := proto.UsageError(""); errors.As(err, &ue) {
			return usageErr("%s", ue)
		}
		return err
	}
	return cmd
}

// checkTarget refuses, as a usage error, a target no dial can reach: port
// 0, or an address literal of the family -4/-6 excluded (nc and curl refuse
// both before sending anything).
func checkTarget(e sockit.Endpoint, fam int) error {
	if strings.HasPrefix(e.Network, "unix") {
		return nil
	}
	host, port, err := net.SplitHostPort(e.Address)
	if err != nil {
		return nil // the dial says what is wrong
	}
	if port == "0" {
		return usageErr("%s: port 0 is no target (it means \"any port\" only to listen)", e)
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip.Unmap().Is4() && fam == 6 {
			return usageErr("%s: -6 with an IPv4 address", e)
		}
		if ip.Is6() && !ip.Is4In6() && fam == 4 {
			return usageErr("%s: -4 with an IPv6 address", e)
		}
	}
	return nil
}

// ctxReader is r read until ctx ends: a read blocked on a terminal or a
// pipe that has not ended (os.Stdin cannot be given a deadline) returns
// ctx's error at Ctrl-C, so a client reading stdin stops as every command
// does. Each read runs in a goroutine of its own, into a buffer of its own;
// the one a cancel leaves behind ends with that read (at the latest when
// the process exits, right after the command), as netcat's sender does.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
	buf []byte
}

type readResult struct {
	n   int
	err error
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	if len(c.buf) < len(p) {
		c.buf = make([]byte, len(p))
	}
	buf, done := c.buf[:len(p)], make(chan readResult, 1)
	go func() {
		n, err := c.r.Read(buf)
		done <- readResult{n, err}
	}()
	select {
	case res := <-done:
		return copy(p, buf[:res.n]), res.err
	case <-c.ctx.Done():
		c.buf = nil // the abandoned read may still write into it
		return 0, c.ctx.Err()
	}
}
