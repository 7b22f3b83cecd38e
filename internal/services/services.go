// Package services starts a set of the registered protocols (package proto)
// on a server.Server — what `sockit serve` and `sockit demo` share.
package services

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto"
	_ "github.com/sockit/sockit/proto/all" // the services sockit serves
	"github.com/sockit/sockit/server"
)

// Names returns the service names, for messages.
func Names() string { return strings.Join(proto.Names(nil), ", ") }

// Spec is one service on one endpoint.
type Spec struct {
	Service  string
	Endpoint sockit.Endpoint
	// Listener or PacketConn, if set, is an already open socket to serve
	// (one passed by systemd or inetd) instead of binding Endpoint.
	Listener   net.Listener
	PacketConn net.PacketConn
}

// Close closes the Spec's already open socket, if any.
func (sp Spec) Close() {
	if sp.Listener != nil {
		sp.Listener.Close()
	}
	if sp.PacketConn != nil {
		sp.PacketConn.Close()
	}
}

// ParseSpec reads SERVICE=ENDPOINT; the endpoint's default port is the
// service's local one.
func ParseSpec(s string) (Spec, error) {
	name, ep, ok := strings.Cut(s, "=")
	if !ok {
		return Spec{}, fmt.Errorf("%w: %q is not SERVICE=ENDPOINT", sockit.ErrBadEndpoint, s)
	}
	in, known := proto.Lookup(name)
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
	for _, in := range proto.All() {
		specs = append(specs, defaultSpecs(in, anyPort)...)
	}
	return specs
}

// DefaultsFor returns one service as Defaults(false) serves it: on
// 127.0.0.1, TCP and UDP (where it has both), on its local port. False
// means no such service.
func DefaultsFor(name string) ([]Spec, bool) {
	in, ok := proto.Lookup(name)
	if !ok {
		return nil, false
	}
	return defaultSpecs(in, false), true
}

func defaultSpecs(in proto.Protocol, anyPort bool) []Spec {
	port := in.Local
	if anyPort {
		port = 0
	}
	var specs []Spec
	for _, nw := range []string{"tcp", "udp"} {
		if in.StreamOnly && nw == "udp" {
			continue
		}
		specs = append(specs, Spec{Service: in.Name, Endpoint: sockit.Endpoint{Network: nw, Address: fmt.Sprintf("127.0.0.1:%d", port)}})
	}
	return specs
}

// Options configure the services and the server running them.
type Options struct {
	proto.Options
	Server server.Config
	// UnixMode, if not zero, is the mode of every unix and unixgram socket
	// file Start creates (see sockit.ListenConfig).
	UnixMode os.FileMode
	// Announce is told of each bound listener, in Spec order, before any
	// is served.
	Announce func(service string, network string, addr net.Addr)
}

// bound is one spec's open socket.
type bound struct {
	ln net.Listener
	pc net.PacketConn
}

// Running is a started set of services.
type Running struct {
	bound  []bound // each spec's socket, in Spec order
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
	var all []bound
	var protos []proto.Protocol
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
	lc := sockit.ListenConfig{UnixMode: opt.UnixMode}
	for _, sp := range specs {
		in, known := proto.Lookup(sp.Service)
		if !known {
			closeAll()
			return nil, fmt.Errorf("unknown service %q (known: %s)", sp.Service, Names())
		}
		if in.StreamOnly && sp.Endpoint.IsPacket() {
			closeAll()
			return nil, fmt.Errorf("%s has no datagram side (%s)", sp.Service, sp.Endpoint)
		}
		b := bound{sp.Listener, sp.PacketConn}
		var err error
		switch {
		case b.ln != nil || b.pc != nil:
		case sp.Endpoint.IsPacket():
			b.pc, err = lc.ListenPacket(ctx, sp.Endpoint)
		default:
			b.ln, err = lc.Listen(ctx, sp.Endpoint)
		}
		if err != nil {
			closeAll()
			return nil, fmt.Errorf("%s: %w", sp.Service, err)
		}
		all = append(all, b)
		protos = append(protos, in)
		if b.pc != nil {
			r.Addrs = append(r.Addrs, b.pc.LocalAddr())
		} else {
			r.Addrs = append(r.Addrs, b.ln.Addr())
		}
	}
	r.bound = all
	for i, sp := range specs {
		if opt.Announce != nil {
			opt.Announce(sp.Service, sp.Endpoint.Network, r.Addrs[i])
		}
	}
	statuses := map[string]server.StatusCounter{}
	for i, sp := range specs {
		popt := opt.Options
		if sr, ok := opt.Server.Recorder.(server.StatusRecorder); ok {
			if statuses[sp.Service] == nil {
				statuses[sp.Service] = sr.Statuses(sp.Service)
			}
			popt.Statuses = statuses[sp.Service]
		}
		svc := protos[i].Service(popt)
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

// shutdown stops r gracefully until sctx (grace long) ends, then waits for
// its Serve calls.
func (r *Running) shutdown(sctx context.Context, grace time.Duration) {
	if serr := r.Server.Shutdown(sctx); serr != nil {
		r.log.Warn("grace period over: closed the connections still open", "grace", grace)
	}
	r.wg.Wait()
}
