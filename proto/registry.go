package proto

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sockit/sockit/server"
)

// Protocol is one protocol as sockit's commands see it.
type Protocol struct {
	// Name is the service name: serve's SERVICE=ENDPOINT, bench's --proto,
	// the client's command.
	Name string
	// WellKnown is the IANA port (a bare host on a client uses it).
	WellKnown int
	// Local is `sockit serve`'s default port on 127.0.0.1 (a client with no
	// endpoint uses it), above 1024 so no privileges are needed; serve
	// starts its services in the order of these ports.
	Local int
	// UDPFirst marks a protocol whose client speaks UDP by default (qotd,
	// as the tutorial's client does).
	UDPFirst bool
	// StreamOnly marks a protocol with no datagram side (http).
	StreamOnly bool
	// Service returns the server side, configured by rt (the clock, the
	// counters and its options' values). Its Name is the protocol's.
	Service func(rt Runtime) server.Service
	// Options are the settings the server side takes: each a key of `sockit
	// serve --config`'s file and a flag of `sockit serve`, which pass its
	// value to Service through Runtime.Values.
	Options []Option
	// Describe summarises one payload of the protocol for `sockit packet`,
	// request when it was sent to the service's port, a reply when it came
	// from it; nil describes by length alone ("NAME request 4 B", "NAME 4
	// B"). It must quote what it shows of the payload (see Quote): the bytes
	// are anyone's.
	Describe func(payload []byte, request bool) string
	// Client is the command-line client, `sockit NAME`; nil for none.
	Client *Client
	// Bench is how `sockit bench --proto NAME` loads the protocol; nil
	// when bench cannot.
	Bench *Bench
}

// Runtime is what the server side of a protocol gets from the program
// that serves it: the things every protocol may share, and the values of
// its own options. The zero value serves every protocol with its defaults.
type Runtime struct {
	// Now is the clock of daytime, time and http; nil means time.Now.
	Now func() time.Time
	// Statuses, if set, counts the responses of a request/response
	// service by status code (http's); serve sets it per service from a
	// server.StatusRecorder.
	Statuses server.StatusCounter
	// AccessLog, if set, receives an access log, one line per Write
	// (http's, nginx's combined format).
	AccessLog io.Writer
	// Values holds the protocol's option values by Option.Key, each as the
	// option's Parse returned it; a key left out (or a nil value) means the
	// option's default.
	Values map[string]any
}

// Value returns the value of option key in rt, nil when it is unset.
func (rt Runtime) Value(key string) any { return rt.Values[key] }

// Option is one setting of a protocol's server side. Its Key is a
// top-level key of `sockit serve --config`'s file and, with '_' written
// '-', a flag of `sockit serve` (http_root, --http-root): a flag and a key
// that cannot disagree. Setting it away from Default while the protocol is
// not served is a mistake serve reports.
type Option struct {
	// Key is the option's name: lower case, words joined by '_'.
	Key string
	// Usage says what the option sets and what it takes, for the flag's
	// help ("serve the quotes in this fortune-format FILE").
	Usage string
	// Default is the value as written that changes nothing ("" or "nist").
	Default string
	// Values, if set, are all the values the option takes (offered by shell
	// completion).
	Values []string
	// Parse checks a value as written and loads what it names (a file, a
	// directory): its result is what Service finds in Runtime.Values. It
	// runs at start, at every reload (SIGHUP re-reads the files), and for
	// `serve --check-config`. release, if not nil, frees what the result
	// holds (an open directory) once no server uses it. Its error says what
	// is wrong with the value, without naming the key or the flag (serve
	// adds where the value was written).
	Parse func(value string) (v any, release func(), err error)
}

// Flag is the option's flag name: its key with '-' for '_'.
func (o Option) Flag() string { return strings.ReplaceAll(o.Key, "_", "-") }

// Summary describes payload with p.Describe, or by its length when p has
// none.
func (p Protocol) Summary(payload []byte, request bool) string {
	if p.Describe != nil {
		return p.Describe(payload, request)
	}
	if request {
		return fmt.Sprintf("%s request %d B", p.Name, len(payload))
	}
	return fmt.Sprintf("%s %d B", p.Name, len(payload))
}

// Quote shows at most n bytes of an untrusted payload as a Go-quoted
// string ("…" after it when there was more), so that control bytes and
// terminal escapes never reach a terminal raw.
func Quote(p []byte, n int) string {
	if len(p) == 0 {
		return `""`
	}
	more := ""
	if len(p) > n {
		p, more = p[:n], "…"
	}
	return strconv.Quote(string(p)) + more
}

// BenchMode is what one request of bench's raw mode is.
type BenchMode int

const (
	// BenchEcho sends the payload (bench's --size bytes) and reads as many
	// bytes back (one datagram over UDP).
	BenchEcho BenchMode = iota
	// BenchSink sends the payload and expects nothing back; over a
	// datagram socket nothing could be timed, so bench refuses it.
	BenchSink
	// BenchSource reads --size bytes (over UDP, the one datagram an empty
	// datagram asks for); a stream is closed after each request.
	BenchSource
	// BenchOneShot reads the one reply the server sends before it closes
	// (over UDP, the datagram an empty datagram asks for).
	BenchOneShot
)

// Bench says how bench's raw mode loads and verifies a protocol.
type Bench struct {
	Mode BenchMode
	// Check verifies the reply to sent (nil for BenchSource and
	// BenchOneShot) and returns nil if it is right; nil accepts any. An
	// error wrapping ErrLength is counted as a length failure, any other as
	// a verify failure.
	Check func(sent, reply []byte) error
}

// ErrLength is wrapped by a Bench.Check error for a reply of the wrong
// length.
var ErrLength = errors.New("proto: reply of the wrong length")

var registry struct {
	sync.RWMutex
	byName map[string]Protocol
}

// Register adds p to the registry. It panics if p has no name or no
// server side, if the name is taken, or if an option has no key or Parse or
// a key another protocol's option has, as database/sql's Register does:
// all are programming errors found at start-up.
func Register(p Protocol) {
	if p.Name == "" || p.Service == nil {
		panic("proto: Register of a protocol without a name or a Service")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.byName[p.Name]; dup {
		panic("proto: Register called twice for " + p.Name)
	}
	for i, o := range p.Options {
		if o.Key == "" || o.Parse == nil || o.Key != strings.ToLower(o.Key) || strings.ContainsAny(o.Key, "-. ") {
			panic("proto: " + p.Name + ": an option needs a lower-case key of words joined by '_', and a Parse")
		}
		taken := slices.ContainsFunc(p.Options[:i], func(q Option) bool { return q.Key == o.Key })
		for _, q := range registry.byName {
			taken = taken || slices.ContainsFunc(q.Options, func(q Option) bool { return q.Key == o.Key })
		}
		if taken {
			panic("proto: " + p.Name + ": option key " + o.Key + " is taken")
		}
	}
	if registry.byName == nil {
		registry.byName = make(map[string]Protocol)
	}
	registry.byName[p.Name] = p
}

// Lookup returns the registered protocol called name.
func Lookup(name string) (Protocol, bool) {
	registry.RLock()
	defer registry.RUnlock()
	p, ok := registry.byName[name]
	return p, ok
}

// All returns the registered protocols in the order of their local ports
// (the order `sockit serve` starts them), then of their names.
func All() []Protocol {
	registry.RLock()
	all := make([]Protocol, 0, len(registry.byName))
	for _, p := range registry.byName {
		all = append(all, p)
	}
	registry.RUnlock()
	slices.SortFunc(all, func(a, b Protocol) int {
		return cmp.Or(cmp.Compare(a.Local, b.Local), cmp.Compare(a.Name, b.Name))
	})
	return all
}

// Names returns the names of the registered protocols for which has holds
// (every one when has is nil), in All's order.
func Names(has func(Protocol) bool) []string {
	var names []string
	for _, p := range All() {
		if has == nil || has(p) {
			names = append(names, p.Name)
		}
	}
	return names
}
