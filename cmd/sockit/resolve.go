package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/netip"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/resolve"
)

func (a *app) resolveCommand() *cobra.Command {
	var (
		r           resolve.Resolver
		v4, v6      bool
		reverse     bool
		asJSON      bool
		withNames   bool
		file        string
		server      string
		concurrency int
	)
	cmd := &cobra.Command{
		Use:   "resolve [flags] NAME...",
		Short: "Look up the addresses of host names (the brief's gethostbyname)",
		Long: `resolve prints every address of each NAME, IPv4 and IPv6, one a line.

Without --server it follows getaddrinfo: /etc/hosts first, then the system's
resolver (/etc/nsswitch.conf, /etc/resolv.conf). With --server it asks that
DNS server directly, over UDP (TCP when a reply is truncated, or always with
--tcp or a tcp:// server); /etc/hosts is not read then.

Output: one address per line, however many NAMEs (dig +short's shape), so a
script's parser never depends on the count; -H/--with-names prefixes each
line with "NAME " (or use --json). With -x, NAMEs are addresses and the
lines are host names, without a trailing dot (getent's form) on either path.

A NAME with no address is reported on stderr and the others still printed.
When one family's query fails but the other is answered (a server refusing
AAAA), the answered addresses are printed and the failed query reported on
stderr, as getaddrinfo, host and dig show what they got.

Exit status: 0 when every NAME gave at least one answer (even if a family
failed), 1 when some NAME gave none, 2 for a usage error.`,
		Example: `  sockit resolve localhost
  sockit resolve -4 -H localhost example.internal
  sockit resolve --server 127.0.0.1:5353 www.example.com
  sockit resolve --server tcp://[::1]:53 www.example.com
  sockit resolve -x 127.0.0.1
  sockit resolve -f names.txt --concurrency 32 --json`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if v4 && v6 {
				return usageErr("resolve: -4 and -6 exclude each other")
			}
			if v4 {
				r.Family = 4
			} else if v6 {
				r.Family = 6
			}
			if file == "" && len(args) == 0 {
				return usageErr("resolve: no NAME given (see sockit resolve --help)")
			}
			if file != "" && len(args) > 0 {
				return usageErr("resolve: give NAMEs or -f FILE, not both")
			}
			if concurrency < 1 {
				return usageErr("resolve: --concurrency %d: want at least 1", concurrency)
			}
			if r.Timeout <= 0 {
				return usageErr("resolve: --timeout %v: want more than 0", r.Timeout)
			}
			if server != "" {
				e, err := sockit.ParseEndpoint(server, sockit.Defaults{Network: "udp", Port: 53})
				if err != nil || e.IsUnix() {
					if err == nil {
						err = fmt.Errorf("%q: a DNS server is udp:// or tcp:// HOST[:PORT]", server)
					}
					return usageErr("resolve: --server: %v", err)
				}
				r.Server = e.Address
				if strings.HasPrefix(e.Network, "tcp") {
					r.TCP = true
				}
			} else if r.TCP {
				return usageErr("resolve: --tcp needs --server (the system resolver picks its own transport)")
			}
			if reverse {
				for _, arg := range args {
					if _, err := netip.ParseAddr(arg); err != nil {
						return usageErr("resolve: -x %s: not an IP address", arg)
					}
				}
			}
			names := slices.Values(args)
			if file != "" {
				in := a.stdin
				if file != "-" {
					f, err := os.Open(file)
					if err != nil {
						return usageErr("resolve: %v", err)
					}
					defer f.Close()
					in = f
				}
				names = lines(in)
			}
			return a.runResolve(&r, names, withNames, reverse, asJSON, concurrency)
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&v4, "ipv4", "4", false, "IPv4 addresses only")
	f.BoolVarP(&v6, "ipv6", "6", false, "IPv6 addresses only")
	f.StringVar(&server, "server", "", "ask this DNS server directly instead of getaddrinfo's path: [udp://|tcp://]HOST[:PORT], port 53 by default")
	f.BoolVar(&r.TCP, "tcp", false, "with --server, ask over TCP only (dig's +tcp)")
	durationVar(f, &r.Timeout, "timeout", 5*time.Second, "bound on each DNS exchange with --server")
	f.BoolVarP(&reverse, "reverse", "x", false, "reverse lookup: NAMEs are IP addresses, print their host names (PTR)")
	f.BoolVarP(&withNames, "with-names", "H", false, `print "NAME ADDR" on each line instead of ADDR alone`)
	f.BoolVar(&asJSON, "json", false, `print [{"name": ..., "addresses": [...]}]`)
	f.StringVarP(&file, "file", "f", "", "read NAMEs from FILE, one a line (- for stdin)")
	f.IntVar(&concurrency, "concurrency", 16, "lookups in flight at once with -f")
	return cmd
}

// lines yields the non-empty, non-comment lines of r, trimmed.
func lines(r io.Reader) iter.Seq[string] {
	return func(yield func(string) bool) {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			if !yield(line) {
				return
			}
		}
	}
}

type resolveJSON struct {
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"`
	Error     string   `json:"error,omitempty"`
}

func (a *app) runResolve(r *resolve.Resolver, names iter.Seq[string], withNames, reverse, asJSON bool, concurrency int) error {
	failed := false
	var all []resolveJSON
	out := bufio.NewWriter(a.stdout)
	err := r.Each(a.ctx, names, concurrency, reverse, func(res resolve.Result) error {
		if res.Err != nil {
			if len(res.Addrs) == 0 {
				failed = true
			}
			msg := res.Err.Error()
			var re *resolve.Error
			if !errors.As(res.Err, &re) {
				msg = "resolve " + res.Name + ": " + msg
			}
			fmt.Fprintf(a.stderr, "sockit: %s\n", msg)
		}
		if asJSON {
			j := resolveJSON{Name: res.Name, Addresses: res.Addrs}
			if j.Addresses == nil {
				j.Addresses = []string{}
			}
			if res.Err != nil {
				j.Error = res.Err.Error()
			}
			all = append(all, j)
			return nil
		}
		for _, addr := range res.Addrs {
			if withNames {
				fmt.Fprintln(out, res.Name, addr)
			} else {
				fmt.Fprintln(out, addr)
			}
		}
		// Stream: a long -f list shows progress line by line.
		return out.Flush()
	})
	if err != nil {
		return err
	}
	if asJSON {
		if all == nil {
			all = []resolveJSON{}
		}
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(all); err != nil {
			return err
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	if failed {
		return quietExit(exitFailure)
	}
	return nil
}
