// Package proto is the registry of sockit's protocols. A protocol package
// (proto/echo, proto/qotd, …) registers itself in its init function with
// everything sockit's commands need of it: its name, its ports, its server
// side, its command-line client and how bench loads it. `sockit serve`,
// the clients, `sockit demo` and `sockit bench` read the registry, so a new
// protocol is one new package (imported by proto/all) and nothing else.
//
// The registry imports only the standard library, the sockit package and
// server's handler interfaces, so a protocol's importers stay light.
package proto

import (
	"cmp"
	"errors"
	"io"
	"os"
	"slices"
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
	// Service returns the server side, configured by opt. Its Name is the
	// protocol's.
	Service func(opt Options) server.Service
	// Client is the command-line client, `sockit NAME`; nil for none.
	Client *Client
	// Bench is how `sockit bench --proto NAME` loads the protocol; nil
	// when bench cannot.
	Bench *Bench
}

// Options configure the server side of the protocols. The zero value
// serves every protocol with its defaults.
type Options struct {
	// Now is the clock of daytime, time and http; nil means time.Now.
	Now func() time.Time
	// Quotes are qotd's; nil means its embedded collection.
	Quotes []string
	// DaytimeFormat is daytime's line: "" or "nist", "rfc822", "ctime".
	DaytimeFormat string
	// HTTPRoot is the directory http serves; nil serves only the built-in
	// page.
	HTTPRoot *os.Root
	// Statuses, if set, counts the responses of a request/response
	// service by status code (http's); services sets it per service from
	// a server.StatusRecorder.
	Statuses server.StatusCounter
	// AccessLog, if set, receives http's access log, one line per Write
	// (nginx's combined format).
	AccessLog io.Writer
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
// server side, or if the name is taken, as database/sql's Register does:
// both are programming errors found at start-up.
func Register(p Protocol) {
	if p.Name == "" || p.Service == nil {
		panic("proto: Register of a protocol without a name or a Service")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.byName[p.Name]; dup {
		panic("proto: Register called twice for " + p.Name)
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
