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
	"github.com/sockit/sockit/internal/cli"
	"github.com/sockit/sockit/resolve"
)

func (a *app) resolveCommand() *cobra.Command {
	var (
		r      resolve.Resolver
		v4, v6 bool
		o      resolveOpts
		file   string
		server string
	)
	cmd := &cobra.Command{
		Use:   "resolve [flags] NAME...",
		Short: "Look up the addresses of host names (the brief's gethostbyname)",
		Long: `resolve prints every address of each NAME, IPv4 and IPv6, one a line.

Without --server it follows getaddrinfo: /etc/hosts first, then the system's
resolver (/etc/nsswitch.conf, /etc/resolv.conf), --concurrency lookups at a
time. With --server it asks that DNS server directly, over UDP (TCP when a
reply is truncated, or always with --tcp or a tcp:// server); /etc/hosts is
not read then.

With --server over UDP, names (and -f lists of any length) go through a bulk
engine built for rate: a few sockets, --concurrency queries in flight
(default 256 there), batched system calls, each query sent again up to
--retries times when no answer came within --timeout, --rate to stay polite
to the server. Every name is printed or reported with the server's answer
(NXDOMAIN as "no such host", SERVFAIL, REFUSED, ...) or a timeout. Output
keeps input order through a bounded reorder buffer (a name waiting on a
retry holds the ones after it back); --unordered prints each name when it
is done instead. Memory stays flat however long the list; output is
written in blocks there, at least every 20 ms while names complete.

Output: one address per line, however many NAMEs (dig +short's shape), so a
script's parser never depends on the count; -H/--with-names prefixes each
line with "NAME " (or use --json). With -x, NAMEs are addresses and the
lines are host names, without a trailing dot (getent's form) on either path.

A NAME with no address is reported on stderr and the others still printed.
When one family's query fails but the other is answered (a server refusing
AAAA), the answered addresses are printed and the failed query reported on
stderr, as getaddrinfo, host and dig show what they got.

Exit status: 0 when every NAME gave at least one answer (even if a family
failed), 1 when some NAME gave none, 28 when every NAME that gave none timed
out (--timeout, after --retries), 2 for a usage error.`,
		Example: `  sockit resolve localhost
  sockit resolve -4 -H localhost example.internal
  sockit resolve --server 127.0.0.1:5353 www.example.com
  sockit resolve --server tcp://[::1]:53 www.example.com
  sockit resolve -x 127.0.0.1
  sockit resolve -f names.txt --concurrency 32 --json
  sockit resolve -4 -H --server 127.0.0.1:5353 -f names.txt --rate 5000`,
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
			if o.concurrency < 1 {
				return usageErr("resolve: --concurrency %d: want at least 1", o.concurrency)
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
					return usageErr("resolve: --server: %w", err)
				}
				r.Server = e.Address
				if strings.HasPrefix(e.Network, "tcp") {
					r.TCP = true
				}
			} else if r.TCP {
				return usageErr("resolve: --tcp needs --server (the system resolver picks its own transport)")
			}
			if o.reverse {
				for _, arg := range args {
					if _, err := netip.ParseAddr(arg); err != nil {
						return usageErr("resolve: -x %s: not an IP address", arg)
					}
				}
			}
			names := slices.Values(args)
			var readErr error
			if file != "" {
				in := a.stdin
				if file != "-" {
					f, err := os.Open(file)
					if err != nil {
						return usageErr("resolve: %w", err)
					}
					defer f.Close()
					in = f
				}
				names = lines(in, &readErr)
			}
			o.bulk = r.Server != "" && !r.TCP
			if o.bulk && !cmd.Flags().Changed("concurrency") {
				o.concurrency = bulkWindow
			}
			if o.Rate < 0 {
				return usageErr("resolve: --rate %v: want 0 (no cap) or more", o.Rate)
			}
			if o.Retries < 0 {
				return usageErr("resolve: --retries %d: want 0 or more", o.Retries)
			}
			if o.Retries == 0 {
				o.Retries = -1 // BulkOptions: negative is none, zero the default
			}
			err := a.runResolve(&r, names, o)
			if readErr != nil {
				// The list could not be read to its end: that outweighs
				// the names that failed.
				if errors.Is(readErr, bufio.ErrTooLong) {
					readErr = errors.New("a line longer than 64 KiB; the names after it were not read")
				}
				return fmt.Errorf("resolve: %s: %w", file, readErr)
			}
			return err
		},
	}
	f := cmd.Flags()
	f.BoolVarP(&v4, "ipv4", "4", false, "IPv4 addresses only")
	f.BoolVarP(&v6, "ipv6", "6", false, "IPv6 addresses only")
	f.StringVar(&server, "server", "", "ask this DNS server directly instead of getaddrinfo's path: [udp://|tcp://]HOST[:PORT], port 53 by default")
	f.BoolVar(&r.TCP, "tcp", false, "with --server, ask over TCP only (dig's +tcp)")
	durationVar(f, &r.Timeout, "timeout", 5*time.Second, "with --server, how long to wait for the answer to each query (each try)")
	f.BoolVarP(&o.reverse, "reverse", "x", false, "reverse lookup: NAMEs are IP addresses, print their host names (PTR)")
	f.BoolVarP(&o.withNames, "with-names", "H", false, `print "NAME ADDR" on each line instead of ADDR alone`)
	f.BoolVar(&o.asJSON, "json", false, `print [{"name": ..., "addresses": [...]}] (with -x: [{"address": ..., "names": [...]}])`)
	f.StringVarP(&file, "file", "f", "", "read NAMEs from FILE, one a line (- for stdin)")
	f.IntVar(&o.concurrency, "concurrency", 16, fmt.Sprintf("lookups in flight at once; queries in flight with --server over UDP (default %d there)", bulkWindow))
	f.IntVar(&o.Retries, "retries", 2, "with --server over UDP, send a query this many more times when no answer came within --timeout (dig's +retry)")
	f.Float64Var(&o.Rate, "rate", 0, "with --server over UDP, send at most this many queries per second, retries included (0: as fast as the server answers)")
	f.BoolVar(&o.Unordered, "unordered", false, "with --server over UDP, print each name as soon as it is answered instead of in input order")
	return cmd
}

// lines yields the non-empty, non-comment lines of r, trimmed; a read
// error (or a line longer than 64 KiB, bufio.ErrTooLong) ends the sequence
// and is left in *errp.
func lines(r io.Reader, errp *error) iter.Seq[string] {
	return func(yield func(string) bool) {
		sc := bufio.NewScanner(r)
		defer func() { *errp = sc.Err() }()
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

// bulkWindow is --concurrency's default on the bulk path: enough queries in
// flight to keep a local server busy, few enough that its socket buffer
// does not overflow.
const bulkWindow = 256

type resolveJSON struct {
	Name      string   `json:"name"`
	Addresses []string `json:"addresses"`
	Error     string   `json:"error,omitempty"`
}

// reverseJSON is -x's: an address's names are not addresses.
type reverseJSON struct {
	Address string   `json:"address"`
	Names   []string `json:"names"`
	Error   string   `json:"error,omitempty"`
}

// resolveOpts are the ways a batch of names is looked up and printed.
type resolveOpts struct {
	withNames, reverse, asJSON bool
	concurrency                int
	// bulk: --server over UDP, through resolve's bulk engine.
	bulk bool
	resolve.BulkOptions
}

func (a *app) runResolve(r *resolve.Resolver, names iter.Seq[string], o resolveOpts) error {
	failed, timedOut := false, true
	out := bufio.NewWriterSize(a.stdout, 64<<10)
	count := 0
	lastFlush := time.Now()
	emit := func(res resolve.Result) error {
		name := resolve.Present(res.Name) // as dig shows it: \255 for a byte that is not printable ASCII
		why := res.Err
		if res.Err != nil {
			if len(res.Addrs) == 0 {
				failed = true
				timedOut = timedOut && isTimeout(res.Err)
			}
			// "sockit resolve: NAME: why", the one form of every command.
			if re := (*resolve.Error)(nil); errors.As(res.Err, &re) {
				why = re.Err
			}
			fmt.Fprintf(a.stderr, "sockit resolve: %s: %s\n", name, cli.Message(why))
		}
		if o.asJSON {
			// Streamed, element by element, in the layout of an indented
			// json.Encoder: memory stays flat however long the list.
			found, msg := res.Addrs, ""
			if found == nil {
				found = []string{}
			}
			if res.Err != nil {
				msg = cli.Message(why)
			}
			var j any = resolveJSON{Name: name, Addresses: found, Error: msg}
			if o.reverse {
				j = reverseJSON{Address: name, Names: found, Error: msg}
			}
			b, err := json.MarshalIndent(j, "  ", "  ")
			if err != nil {
				return err
			}
			if count == 0 {
				out.WriteString("[\n  ")
			} else {
				out.WriteString(",\n  ")
			}
			out.Write(b)
		} else {
			for _, addr := range res.Addrs {
				if o.withNames {
					out.WriteString(name)
					out.WriteByte(' ')
				}
				out.WriteString(addr)
				out.WriteByte('\n')
			}
		}
		count++
		// Stream: a long -f list shows progress as it goes — every result
		// on the one-at-a-time path, at least every 20 ms on the bulk one,
		// where a write per name would cost more than its query.
		if !o.bulk {
			return out.Flush()
		}
		if now := time.Now(); now.Sub(lastFlush) >= 20*time.Millisecond {
			lastFlush = now
			return out.Flush()
		}
		return nil
	}
	var err error
	if o.bulk {
		o.BulkOptions.Window = o.concurrency
		o.BulkOptions.Reverse = o.reverse
		err = r.Bulk(a.ctx, names, o.BulkOptions, emit)
	} else {
		err = r.Each(a.ctx, names, o.concurrency, o.reverse, emit)
	}
	if err != nil {
		// Ctrl-C: what was resolved is printed; main's exitCode makes the
		// error quiet and the exit 130.
		out.Flush()
		return err
	}
	if o.asJSON {
		if count == 0 {
			out.WriteString("[]\n")
		} else {
			out.WriteString("\n]\n")
		}
	}
	if err := out.Flush(); err != nil {
		return err
	}
	switch {
	case failed && timedOut:
		return quietExit(exitTimeout) // every NAME that failed got no answer in time
	case failed:
		return quietExit(exitFailure)
	}
	return nil
}
