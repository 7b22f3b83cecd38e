// Package services names the small services, knows their ports, and starts
// a set of them on a server.Server — what `sockit serve` and `sockit demo`
// share.
package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/chargen"
	"github.com/sockit/sockit/proto/daytime"
	"github.com/sockit/sockit/proto/discard"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/proto/qotd"
	"github.com/sockit/sockit/proto/timeproto"
	"github.com/sockit/sockit/server"
)

// Info is what a command needs to know of a service.
type Info struct {
	Name string
	// WellKnown is the IANA port (a bare host on a client uses it).
	WellKnown int
	// Local is `sockit serve`'s default port on 127.0.0.1 (a client with no
	// endpoint uses it), above 1024 so no privileges are needed.
	Local int
	// UDPFirst marks services whose client speaks UDP by default (qotd, as
	// the brief's client does).
	UDPFirst bool
	// StreamOnly marks services with no datagram side (http).
	StreamOnly bool
}

// All lists the services in the order `sockit serve` starts them.
var All = []Info{
	{Name: "echo", WellKnown: echo.Port, Local: 8001},
	{Name: "discard", WellKnown: discard.Port, Local: 8009},
	{Name: "daytime", WellKnown: daytime.Port, Local: 8013},
	{Name: "qotd", WellKnown: qotd.Port, Local: 8017, UDPFirst: true},
	{Name: "chargen", WellKnown: chargen.Port, Local: 8019},
	{Name: "time", WellKnown: timeproto.Port, Local: 8037},
	{Name: "http", WellKnown: 80, Local: 8080, StreamOnly: true},
}

// Lookup returns the Info of a service name.
func Lookup(name string) (Info, bool) {
	i := slices.IndexFunc(All, func(in Info) bool { return in.Name == name })
	if i < 0 {
		return Info{}, false
	}
	return All[i], true
}

// Names returns the service names, for messages.
func Names() string {
	var n []string
	for _, in := range All {
		n = append(n, in.Name)
	}
	return strings.Join(n, ", ")
}

// Spec is one service on one endpoint.
type Spec struct {
	Service  string
	Endpoint sockit.Endpoint
}

// ParseSpec reads SERVICE=ENDPOINT; the endpoint's default port is the
// service's local one.
func ParseSpec(s string) (Spec, error) {
	name, ep, ok := strings.Cut(s, "=")
	if !ok {
		return Spec{}, fmt.Errorf("%w: %q is not SERVICE=ENDPOINT", sockit.ErrBadEndpoint, s)
	}
	in, known := Lookup(name)
	if !known {
		return Spec{}, fmt.Errorf("%w: unknown service %q in %q (known: %s)", sockit.ErrBadEndpoint, name, s, Names())
	}
	e, err := sockit.ParseEndpoint(ep, sockit.Defaults{Network: "tcp", Port: in.Local})
	if err != nil {
		return Spec{}, err
	}
	if in.StreamOnly && e.IsPacket() {
		return Spec{}, fmt.Errorf("%w: %s has no datagram side (%q)", sockit.ErrBadEndpoint, name, s)
	}
	return Spec{Service: name, Endpoint: e}, nil
}

// Defaults returns every service on 127.0.0.1, TCP and UDP, on its local
// port (port 0 for each when anyPort is set, as the demo and tests want).
func Defaults(anyPort bool) []Spec {
	var specs []Spec
	for _, in := range All {
		port := in.Local
		if anyPort {
			port = 0
		}
		for _, nw := range []string{"tcp", "udp"} {
			if in.StreamOnly && nw == "udp" {
				continue
			}
			specs = append(specs, Spec{in.Name, sockit.Endpoint{Network: nw, Address: fmt.Sprintf("127.0.0.1:%d", port)}})
		}
	}
	return specs
}

// Options configure the services and the server running them.
type Options struct {
	Quotes        []string         // nil: the embedded collection
	HTTPRoot      *os.Root         // nil: only the brief's page
	DaytimeFormat string           // "": nist
	Now           func() time.Time // nil: time.Now
	Server        server.Config
	// Announce is told of each bound listener, in Spec order, before any
	// is served.
	Announce func(service string, network string, addr net.Addr)
}

func (o *Options) service(name string) server.Service {
	switch name {
	case "echo":
		return echo.Service()
	case "discard":
		return discard.Service()
	case "daytime":
		return daytime.Service(o.DaytimeFormat, o.Now)
	case "qotd":
		return qotd.Service(o.Quotes)
	case "chargen":
		return chargen.Service()
	case "time":
		return timeproto.Service(o.Now)
	case "http":
		return httpraw.Service(&httpraw.Responder{Root: o.HTTPRoot, Now: o.Now})
	}
	panic("services: unknown service " + name)
}

// Running is a started set of services.
type Running struct {
	Server *server.Server
	// Addrs holds each spec's bound address, in Spec order.
	Addrs []net.Addr
	wg    sync.WaitGroup
	errs  chan error
	log   *slog.Logger
}

// Start binds every spec (closing all again if one fails, so nothing is
// half started), announces them, and serves them in the background.
func Start(ctx context.Context, specs []Spec, opt Options) (*Running, error) {
	type bound struct {
		ln net.Listener
		pc net.PacketConn
	}
	var all []bound
	closeAll := func() {
		for _, b := range all {
			if b.ln != nil {
				b.ln.Close()
			}
			if b.pc != nil {
				b.pc.Close()
			}
		}
	}
	r := &Running{Server: server.New(opt.Server), errs: make(chan error, len(specs)), log: opt.Server.Logger}
	if r.log == nil {
		r.log = slog.Default()
	}
	for _, sp := range specs {
		if in, _ := Lookup(sp.Service); in.StreamOnly && sp.Endpoint.IsPacket() {
			closeAll()
			return nil, fmt.Errorf("%s has no datagram side (%s)", sp.Service, sp.Endpoint)
		}
		var b bound
		var err error
		if sp.Endpoint.IsPacket() {
			b.pc, err = sockit.ListenPacket(ctx, sp.Endpoint)
		} else {
			b.ln, err = sockit.Listen(ctx, sp.Endpoint)
		}
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("%s: %w", sp.Service, err)
		}
		all = append(all, b)
		if b.pc != nil {
			r.Addrs = append(r.Addrs, b.pc.LocalAddr())
		} else {
			r.Addrs = append(r.Addrs, b.ln.Addr())
		}
	}
	for i, sp := range specs {
		if opt.Announce != nil {
			opt.Announce(sp.Service, sp.Endpoint.Network, r.Addrs[i])
		}
	}
	for i, sp := range specs {
		svc := opt.service(sp.Service)
		b := all[i]
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			var err error
			if b.pc != nil {
				err = r.Server.ServePacket(b.pc, svc)
			} else {
				err = r.Server.ServeStream(b.ln, svc)
			}
			if err != nil && !errors.Is(err, server.ErrServerClosed) {
				r.errs <- fmt.Errorf("%s %s: %w", sp.Service, sp.Endpoint, err)
			}
		}()
	}
	return r, nil
}

// Endpoint returns the bound address of the first spec for service on a
// network of the given kind ("tcp", "udp", "unix", "unixgram"), as an
// endpoint a client can dial.
func (r *Running) Endpoint(specs []Spec, service, network string) (sockit.Endpoint, bool) {
	for i, sp := range specs {
		if sp.Service == service && strings.TrimRight(sp.Endpoint.Network, "46") == network {
			return sockit.Endpoint{Network: sp.Endpoint.Network, Address: r.Addrs[i].String()}, true
		}
	}
	return sockit.Endpoint{}, false
}

// Wait serves until ctx ends or a listener fails, then shuts down: no new
// connections, and open ones get grace to finish before they are closed.
func (r *Running) Wait(ctx context.Context, grace time.Duration) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-r.errs:
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if serr := r.Server.Shutdown(sctx); serr != nil {
		r.log.Warn("grace period over: closed the connections still open", "grace", grace)
	}
	r.wg.Wait()
	return err
}
