package serve

import (
	"context"
	"crypto/tls"
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
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/tlsconfig"
)

// Options configure a set of services and the server running them.
type Options struct {
	// Runtime is what every protocol's server side gets: the clock, the
	// access log, and in Values every protocol's option values by key
	// (option keys are unique across protocols). Start sets Statuses per
	// service from the Server's Recorder, if it counts statuses.
	proto.Runtime
	Server server.Config
	// UnixMode, if not zero, is the mode of every unix and unixgram socket
	// file Start creates (see sockit.ListenConfig).
	UnixMode os.FileMode
	// TLS is the configuration of the tls:// listeners (nil: a tls://
	// spec is refused).
	TLS *tls.Config
	// Announce is told of each bound listener, in Spec order, before any
	// is served.
	Announce func(service string, network string, addr net.Addr)

	certs     *tlsconfig.Store // the certificates TLS is to serve (Run's)
	certStamp string
}

// socket is one spec's open socket.
type socket struct {
	ln net.Listener
	pc net.PacketConn
}

// Running is a started set of services.
type Running struct {
	sockets []socket // each spec's socket, in Spec order
	Server  *server.Server
	// Addrs holds each spec's bound address, in Spec order.
	Addrs []net.Addr
	wg    sync.WaitGroup
	errs  chan error
	log   *slog.Logger
}

// Start binds every spec (closing all again if one fails, so nothing is
// half started), announces them, and serves them in the background.
func Start(ctx context.Context, specs []Spec, opt Options) (*Running, error) {
	var all []socket
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
		if sp.Endpoint.IsTLS() && opt.TLS == nil {
			closeAll()
			return nil, fmt.Errorf("%s %s: tls:// needs a certificate and its key (--tls-cert, --tls-key)", sp.Service, sp.Endpoint)
		}
		b := socket{sp.Listener, sp.PacketConn}
		var err error
		switch {
		case b.ln != nil || b.pc != nil:
		case sp.Endpoint.IsPacket():
			b.pc, err = lc.ListenPacket(ctx, sp.Endpoint)
		default:
			b.ln, err = lc.Listen(ctx, sp.Endpoint.Transport())
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
	r.sockets = all
	for i, sp := range specs {
		if opt.Announce != nil {
			opt.Announce(sp.Service, sp.Endpoint.Network, r.Addrs[i])
		}
	}
	statuses := map[string]server.StatusCounter{}
	for i, sp := range specs {
		popt := opt.Runtime
		if sr, ok := opt.Server.Recorder.(server.StatusRecorder); ok {
			if statuses[sp.Service] == nil {
				statuses[sp.Service] = sr.Statuses(sp.Service)
			}
			popt.Statuses = statuses[sp.Service]
		}
		svc := protos[i].Service(popt)
		if sp.Endpoint.IsTLS() {
			svc.TLS = opt.TLS
		}
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
