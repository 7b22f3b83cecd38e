package resolve

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/miekg/dns"
)

// Bulk resolution asks one server for many names at the rate the server
// answers, the way massdns does, rather than with a goroutine per lookup:
//
//   - one goroutine owns a few connected, non-blocking UDP sockets (the
//     kernel drops datagrams from any other address) and a fixed table of
//     in-flight queries, Window of them at most;
//   - queries leave in batches with sendmmsg, those of one size as one
//     message with UDP segmentation offload, and answers arrive in batches
//     with recvmmsg; the goroutine sleeps in ppoll only when there is
//     nothing to send or read. Measured against NSD on loopback, the
//     kernel's per-datagram work is four fifths of the client's CPU time;
//     segmentation offload cut the client's system time by about a fifth;
//   - each socket has its own 16-bit ID space; an ID is drawn at random
//     among the free ones and an answer must match it and the question
//     (name compared case-insensitively, type and class exactly);
//   - one per-try timeout for all, so the in-flight queries sit in a list
//     in deadline order (a timer wheel with one slot): expiring is looking
//     at its head, answering is an unlink; an expired query is sent again
//     up to Retries times with the same ID, so a late answer still counts;
//   - queries are packed in place in the table's slots and answers walked
//     in the receive buffers: no allocation per query on the path of an
//     address answer (miekg/dns packs the question names and unpacks the
//     rare CNAME and PTR targets); the Result handed to emit costs its
//     Addrs slice and strings — two allocations for a name with one
//     address (BenchmarkBulk);
//   - names are pulled from the input only when a slot is free, and with
//     ordered output a finished name waits in a reorder buffer of bounded
//     size until all before it are done: memory does not grow with the
//     number of names;
//   - a truncated answer is asked again over TCP by one of at most 8
//     goroutines; a CNAME the server did not follow is asked for in turn
//     (8 links at most).

// BulkOptions tune Bulk. The zero value works.
type BulkOptions struct {
	// Window bounds the queries in flight at once (A and AAAA count as two);
	// zero means 256; at most 65535.
	Window int
	// Retries is how many more times a query is sent when no answer came
	// within Resolver.Timeout; zero means 2 (three tries, dig's default);
	// negative means none.
	Retries int
	// Rate, when positive, caps the queries sent per second, retries
	// included; zero means as fast as the server answers.
	Rate float64
	// Unordered emits each result as soon as it is complete. By default
	// results come in input order: a name that is finished waits until all
	// before it are, and the engine takes at most 8×Window names (at least
	// 4096) ahead of the oldest unfinished one — a name waiting on retries
	// holds the others back.
	Unordered bool
	// Reverse takes the names as IP addresses and asks for their PTR names.
	Reverse bool
}

// TimeoutError reports a query that went unanswered after every try.
type TimeoutError struct {
	Server string
	Tries  int
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("no answer from %s after %d tries", e.Server, e.Tries)
}

// Timeout reports true, as net.Error's timeouts do.
func (e *TimeoutError) Timeout() bool { return true }

// RcodeError is an answer whose RCODE is neither NOERROR nor NXDOMAIN
// (which is ErrNotFound): SERVFAIL, REFUSED, ...
type RcodeError struct {
	Server string
	Rcode  int
}

func (e *RcodeError) Error() string {
	return "server " + e.Server + " answered " + dns.RcodeToString[e.Rcode]
}

// Bulk resolves names by asking Server directly over UDP, many at once
// with a few sockets and one goroutine (see the comment above BulkOptions),
// and calls emit with each result — in input order unless opt.Unordered.
// Each query is sent up to 1+Retries times, Timeout apart; a name is
// reported with its RCODE (ErrNotFound for NXDOMAIN, *RcodeError for the
// others) or a *TimeoutError, wrapped in an *Error, as Lookup reports it.
// Result.Addrs is the caller's to keep.
//
// Bulk returns when every name has been emitted, the context ends, emit
// returns an error (which it returns) or the server cannot be reached at
// all (connection refused). It needs Server to be set; with TCP set it
// resolves through Each instead (Window lookups in flight; Retries, Rate
// and Unordered then do not apply). So it does on systems other than Linux
// too, where the bulk engine's sendmmsg, recvmmsg, UDP_SEGMENT, eventfd
// and ppoll are missing; there Rate still paces the names.
func (r *Resolver) Bulk(ctx context.Context, names iter.Seq[string], opt BulkOptions, emit func(Result) error) error {
	if r.Server == "" {
		return errors.New("resolve: Bulk needs a Server")
	}
	if r.TCP {
		return r.Each(ctx, names, bulkWindow(opt), opt.Reverse, emit)
	}
	return r.bulk(ctx, names, opt, emit)
}

// bulkWindow is opt.Window with its default: the lookups Each keeps in
// flight when Bulk resolves through it.
func bulkWindow(opt BulkOptions) int {
	if opt.Window <= 0 {
		return 256
	}
	return opt.Window
}
