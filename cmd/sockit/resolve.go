package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/resolve"
)

// resolveCommand is resolve.Command's flags.
func (a *app) resolveCommand() *cobra.Command {
	c := &resolve.Command{}
	cmd := &cobra.Command{
		Use:     "resolve [flags] NAME...",
		Short:   resolve.Short,
		Long:    resolve.Long,
		Example: resolve.Example,
		RunE: func(cmd *cobra.Command, args []string) error {
			c.Names, c.ConcurrencySet = args, cmd.Flags().Changed("concurrency")
			c.Stdin, c.Stdout, c.Stderr, c.Prefix = a.stdin, a.stdout, a.stderr, "sockit resolve"
			err := c.Run(a.ctx)
			var ue *resolve.UsageError
			var fe *resolve.FailedError
			switch {
			case errors.As(err, &ue):
				return usageErr("%w", err)
			case errors.As(err, &fe) && fe.TimedOut:
				return quietExit(exitTimeout) // every NAME that failed got no answer in time
			case errors.As(err, &fe):
				return quietExit(exitFailure)
			}
			return err // Ctrl-C: main's exitCode makes it quiet and the exit 130
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&c.V4, "ipv4", "4", false, "IPv4 addresses only")
	f.BoolVarP(&c.V6, "ipv6", "6", false, "IPv6 addresses only")
	f.StringVar(&c.Server, "server", "", "ask this DNS server directly instead of getaddrinfo's path: [udp://|tcp://]HOST[:PORT], port 53 by default")
	f.BoolVar(&c.TCP, "tcp", false, "with --server, ask over TCP only (dig's +tcp)")
	durationVar(f, &c.Timeout, "timeout", 5*time.Second, "with --server, how long to wait for the answer to each query (each try)")
	f.BoolVarP(&c.Reverse, "reverse", "x", false, "reverse lookup: NAMEs are IP addresses, print their host names (PTR)")
	f.BoolVarP(&c.WithNames, "with-names", "H", false, `print "NAME ADDR" on each line instead of ADDR alone`)
	f.BoolVar(&c.JSON, "json", false, `print [{"name": ..., "addresses": [...]}] (with -x: [{"address": ..., "names": [...]}])`)
	f.StringVarP(&c.File, "file", "f", "", "read NAMEs from FILE, one a line (- for stdin)")
	f.IntVar(&c.Concurrency, "concurrency", resolve.DefaultConcurrency,
		fmt.Sprintf("lookups in flight at once; queries in flight with --server over UDP (default %d there)", resolve.BulkWindow))
	f.IntVar(&c.Retries, "retries", 2, "with --server over UDP, send a query this many more times when no answer came within --timeout (dig's +retry)")
	f.Float64Var(&c.Rate, "rate", 0, "with --server over UDP, send at most this many queries per second, retries included (0: as fast as the server answers)")
	f.BoolVar(&c.Unordered, "unordered", false, "with --server over UDP, print each name as soon as it is answered instead of in input order")
	return cmd
}
