package serve

import (
	"fmt"
	"net"
	"strings"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto"
)

// Names returns the registered services' names, for messages.
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

// ParseArgs reads serve's arguments: SERVICE=ENDPOINT, or a bare SERVICE
// on its default endpoints (DefaultsFor).
func ParseArgs(args []string) ([]Spec, error) {
	var specs []Spec
	for _, arg := range args {
		if !strings.Contains(arg, "=") {
			sps, ok := DefaultsFor(arg)
			if !ok {
				return nil, fmt.Errorf("%q is neither a service nor SERVICE=ENDPOINT (services: %s)", arg, Names())
			}
			specs = append(specs, sps...)
			continue
		}
		sp, err := ParseSpec(arg)
		if err != nil {
			return nil, err
		}
		specs = append(specs, sp)
	}
	return specs, nil
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

// served reports whether specs serve service.
func served(specs []Spec, service string) bool {
	for _, sp := range specs {
		if sp.Service == service {
			return true
		}
	}
	return false
}
