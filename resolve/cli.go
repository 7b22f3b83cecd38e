package resolve

import (
	"bufio"
	"context"
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

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/internal/cli"
)

// Short, Long and Example are sockit resolve's help: Command is that
// command as a library (its settings, their rules, its output), and
// cmd/sockit/resolve.go its flags.
const (
	Short = "Look up the addresses of host names (the brief's gethostbyname)"
	Long  = `resolve prints every address of each NAME, IPv4 and IPv6, one a line.

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
A name that is not printable ASCII is shown as dig shows it (\255, \032).

A NAME with no address is reported on stderr and the others still printed.
When one family's query fails but the other is answered (a server refusing
AAAA), the answered addresses are printed and the failed query reported on
stderr, as getaddrinfo, host and dig show what they got.

Exit status: 0 when every NAME gave at least one answer (even if a family
failed), 1 when some NAME gave none, 28 when every NAME that gave none timed
out (--timeout, after --retries), 2 for a usage error.`
	Example = `  sockit resolve localhost
  sockit resolve -4 -H localhost example.internal
  sockit resolve --server 127.0.0.1:5353 www.example.com
  sockit resolve --server tcp://[::1]:53 www.example.com
  sockit resolve -x 127.0.0.1
  sockit resolve -f names.txt --concurrency 32 --json
  sockit resolve -4 -H --server 127.0.0.1:5353 -f names.txt --rate 5000`
)

// DefaultConcurrency is --concurrency's default: lookups in flight through
// getaddrinfo; BulkWindow is its default on the bulk path (--server over
// UDP): enough queries in flight to keep a local server busy, few enough
// that its socket buffer does not overflow.
const (
	DefaultConcurrency = 16
	BulkWindow         = 256
)

// Command is a sockit resolve command line: each field is a flag.
type Command struct {
	// Resolver's Family, TCP (--tcp) and Timeout (--timeout) are used;
	// Server is set from Server below.
	Resolver
	V4, V6 bool
	// Server is --server: [udp://|tcp://]HOST[:PORT], port 53.
	Server string
	// Names are the arguments; File is -f FILE ("-": Stdin), one a line.
	Names []string
	File  string
	// Reverse is -x, WithNames -H, JSON --json.
	Reverse, WithNames, JSON bool
	// Concurrency is --concurrency (ConcurrencySet: given, rather than
	// DefaultConcurrency or, on the bulk path, BulkWindow).
	Concurrency    int
	ConcurrencySet bool
	// Retries (0: none), Rate (0: no cap) and Unordered are the bulk
	// path's --retries, --rate and --unordered.
	Retries   int
	Rate      float64
	Unordered bool

	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// Prefix begins each message on Stderr: "sockit resolve".
	Prefix string
}

// UsageError is a command line Run refuses before any lookup.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

func usage(format string, a ...any) error { return &UsageError{fmt.Errorf(format, a...)} }

// FailedError is a run in which some name gave no answer (each said on
// Stderr already): sockit resolve's 1, or 28 when every one of them
// timed out.
type FailedError struct{ TimedOut bool }

func (e *FailedError) Error() string {
	if e.TimedOut {
		return "every name that failed timed out"
	}
	return "some names gave no answer"
}

// check applies the command line's rules and sets the Resolver.
func (c *Command) check() error {
	switch {
	case c.V4 && c.V6:
		return usage("-4 and -6 exclude each other")
	case c.File == "" && len(c.Names) == 0:
		return usage("no NAME given (see sockit resolve --help)")
	case c.File != "" && len(c.Names) > 0:
		return usage("give NAMEs or -f FILE, not both")
	case c.ConcurrencySet && c.Concurrency < 1:
		return usage("--concurrency %d: want at least 1", c.Concurrency)
	case c.Timeout <= 0:
		return usage("--timeout %v: want more than 0", c.Timeout)
	case c.Rate < 0:
		return usage("--rate %v: want 0 (no cap) or more", c.Rate)
	case c.Retries < 0:
		return usage("--retries %d: want 0 or more", c.Retries)
	case c.Server == "" && c.TCP:
		return usage("--tcp needs --server (the system resolver picks its own transport)")
	}
	c.Family = 0
	if c.V4 {
		c.Family = 4
	} else if c.V6 {
		c.Family = 6
	}
	if c.Server != "" {
		e, err := sockit.ParseEndpoint(c.Server, sockit.Defaults{Network: "udp", Port: 53})
		if err == nil && e.IsUnix() {
			err = fmt.Errorf("%q: a DNS server is udp:// or tcp:// HOST[:PORT]", c.Server)
		}
		if err != nil {
			return &UsageError{fmt.Errorf("--server: %w", err)}
		}
		c.Resolver.Server, c.TCP = e.Address, c.TCP || strings.HasPrefix(e.Network, "tcp")
	}
	if c.Reverse {
		for _, n := range c.Names {
			if _, err := netip.ParseAddr(n); err != nil {
				return usage("-x %s: not an IP address", n)
			}
		}
	}
	if !c.ConcurrencySet {
		c.Concurrency = DefaultConcurrency
		if c.bulk() {
			c.Concurrency = BulkWindow
		}
	}
	return nil
}

func (c *Command) bulk() bool { return c.Resolver.Server != "" && !c.TCP }

// Run looks the names up and prints them. It returns a *UsageError before
// any lookup, a *FailedError when some name gave no answer, the list's
// read error (which outweighs the names that failed), or ctx's.
func (c *Command) Run(ctx context.Context) error {
	if err := c.check(); err != nil {
		return err
	}
	names := slices.Values(c.Names)
	var readErr error
	if c.File != "" {
		in := c.Stdin
		if c.File != "-" {
			f, err := os.Open(c.File)
			if err != nil {
				return &UsageError{err}
			}
			defer f.Close()
			in = f
		}
		names = Lines(in, &readErr)
	}
	p := &printer{Command: c, out: bufio.NewWriterSize(c.Stdout, 64<<10), timedOut: true}
	var err error
	if c.bulk() {
		retries := c.Retries
		if retries == 0 {
			retries = -1 // BulkOptions: negative is none, zero the default
		}
		opt := BulkOptions{Window: c.Concurrency, Retries: retries, Rate: c.Rate, Unordered: c.Unordered, Reverse: c.Reverse}
		err = c.Resolver.Bulk(ctx, names, opt, p.emit)
	} else {
		err = c.Resolver.Each(ctx, names, c.Concurrency, c.Reverse, p.emit)
	}
	if err == nil {
		err = p.close()
	} else {
		p.out.Flush() // Ctrl-C: what was resolved is printed
	}
	switch {
	case err != nil:
		return err
	case readErr != nil:
		if errors.Is(readErr, bufio.ErrTooLong) {
			readErr = errors.New("a line longer than 64 KiB; the names after it were not read")
		}
		return fmt.Errorf("%s: %w", c.File, readErr)
	case p.failed:
		return &FailedError{TimedOut: p.timedOut}
	}
	return nil
}

// Lines yields the non-empty, non-comment lines of r, trimmed; a read
// error (or a line longer than 64 KiB, bufio.ErrTooLong) ends the sequence
// and is left in *errp.
func Lines(r io.Reader, errp *error) iter.Seq[string] {
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

// printer writes each result as it comes, and counts the failures.
type printer struct {
	*Command
	out              *bufio.Writer
	count            int
	lastFlush        time.Time
	failed, timedOut bool
}

func (p *printer) emit(res Result) error {
	name := Present(res.Name) // as dig shows it: \255 for a byte that is not printable ASCII
	why := res.Err
	if res.Err != nil {
		if len(res.Addrs) == 0 {
			p.failed = true
			p.timedOut = p.timedOut && isTimeout(res.Err)
		}
		// "sockit resolve: NAME: why", the one form of every command.
		if re := (*Error)(nil); errors.As(res.Err, &re) {
			why = re.Err
		}
		fmt.Fprintf(p.Stderr, "%s: %s: %s\n", p.Prefix, name, cli.Message(why))
	}
	if p.JSON {
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
		if p.Reverse {
			j = reverseJSON{Address: name, Names: found, Error: msg}
		}
		b, err := json.MarshalIndent(j, "  ", "  ")
		if err != nil {
			return err
		}
		if p.count == 0 {
			p.out.WriteString("[\n  ")
		} else {
			p.out.WriteString(",\n  ")
		}
		p.out.Write(b)
	} else {
		for _, addr := range res.Addrs {
			if p.WithNames {
				p.out.WriteString(name)
				p.out.WriteByte(' ')
			}
			p.out.WriteString(addr)
			p.out.WriteByte('\n')
		}
	}
	p.count++
	// Stream: a long -f list shows progress as it goes — every result on
	// the one-at-a-time path, at least every 20 ms on the bulk one, where a
	// write per name would cost more than its query.
	if now := time.Now(); !p.bulk() || now.Sub(p.lastFlush) >= 20*time.Millisecond {
		p.lastFlush = now
		return p.out.Flush()
	}
	return nil
}

func (p *printer) close() error {
	if p.JSON {
		if p.count == 0 {
			p.out.WriteString("[]\n")
		} else {
			p.out.WriteString("\n]\n")
		}
	}
	return p.out.Flush()
}

// isTimeout reports whether err is a wait that ran out.
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded) ||
		errors.As(err, &te) && te.Timeout()
}
