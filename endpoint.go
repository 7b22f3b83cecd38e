package sockit

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Endpoint is one side of a socket: a Go network name and an address in the
// form package net takes for it ("host:port" for IP networks, a path or
// "@name" for Unix ones).
type Endpoint struct {
	// Network is one of tcp, tcp4, tcp6, tls, tls4, tls6, udp, udp4, udp6,
	// unix, unixgram, rfcomm, l2cap, ipx. tls* is not a Go network name:
	// it is TLS over the TCP network Transport names.
	Network string
	// Address is "host:port" for IP networks and a path or "@abstract" for
	// Unix networks.
	Address string
}

// Defaults fill in what an endpoint string leaves out.
type Defaults struct {
	// Network is used when the string has no scheme; zero means "tcp".
	Network string
	// Port is used when the string has no port; zero means a port is required.
	Port int
}

// ErrBadEndpoint is wrapped by every error ParseEndpoint returns, so callers
// can tell a usage error from a network failure with errors.Is.
var ErrBadEndpoint = errors.New("sockit: bad endpoint")

// EndpointError reports why an endpoint string was refused.
type EndpointError struct {
	Input  string
	Reason string
}

func (e *EndpointError) Error() string {
	return fmt.Sprintf("bad endpoint %q: %s", e.Input, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBadEndpoint) true.
func (e *EndpointError) Unwrap() error { return ErrBadEndpoint }

var networks = map[string]bool{
	"tcp": true, "tcp4": true, "tcp6": true,
	"tls": true, "tls4": true, "tls6": true,
	"udp": true, "udp4": true, "udp6": true,
	"unix": true, "unixgram": true,
}

// Describe names the endpoint as every sockit message names a peer, in
// nc's form: address, then network in parentheses ("127.0.0.1:7 (tcp)",
// "/run/app.sock (unix)"). String gives the notation ParseEndpoint reads.
func (e Endpoint) Describe() string { return e.Address + " (" + e.Network + ")" }

// IsUnix reports whether the endpoint is a Unix-domain socket.
func (e Endpoint) IsUnix() bool { return e.Network == "unix" || e.Network == "unixgram" }

// IsTLS reports whether the endpoint is TLS over TCP (tls, tls4, tls6).
func (e Endpoint) IsTLS() bool { return strings.HasPrefix(e.Network, "tls") }

// Transport returns the endpoint TLS runs over: tls://h:p is tcp://h:p
// (tls4 tcp4, tls6 tcp6). Other endpoints are returned unchanged.
func (e Endpoint) Transport() Endpoint {
	if e.IsTLS() {
		e.Network = "tcp" + e.Network[3:]
	}
	return e
}

// IsPacket reports whether the endpoint carries datagrams (udp*, unixgram).
func (e Endpoint) IsPacket() bool {
	return strings.HasPrefix(e.Network, "udp") || e.Network == "unixgram" || e.Network == "ipx"
}

// String formats the endpoint in the notation ParseEndpoint reads.
func (e Endpoint) String() string {
	if e.IsUnix() && !strings.HasPrefix(e.Address, "/") && !strings.HasPrefix(e.Address, "@") {
		// A relative path: unix://./sock keeps it apart from a host name.
		if !strings.HasPrefix(e.Address, ".") {
			return e.Network + "://./" + e.Address
		}
	}
	return e.Network + "://" + e.Address
}

// Host returns the host part of an IP endpoint ("" for Unix endpoints).
func (e Endpoint) Host() string {
	if e.IsUnix() || isFamily(e.Network) {
		return ""
	}
	h, _, _ := net.SplitHostPort(e.Address)
	return h
}

// Port returns the port of an IP endpoint (0 for Unix endpoints).
func (e Endpoint) Port() int {
	if e.IsUnix() || isFamily(e.Network) {
		return 0
	}
	_, p, _ := net.SplitHostPort(e.Address)
	n, _ := strconv.Atoi(p)
	return n
}

// WithFamily narrows an IP endpoint to IPv4 (family 4) or IPv6 (family 6);
// family 0 and Unix endpoints are returned unchanged.
func (e Endpoint) WithFamily(family int) Endpoint {
	if e.IsUnix() || isFamily(e.Network) || family == 0 {
		return e
	}
	base := strings.TrimRight(e.Network, "46")
	e.Network = base + strconv.Itoa(family)
	return e
}

// ParseEndpoint reads an endpoint string; see the package documentation for
// the forms. Every error wraps ErrBadEndpoint.
func ParseEndpoint(s string, def Defaults) (Endpoint, error) {
	bad := func(reason string) (Endpoint, error) {
		return Endpoint{}, &EndpointError{Input: s, Reason: reason}
	}
	if s == "" {
		return bad("empty")
	}
	if strings.ContainsAny(s, "\x00\r\n") {
		return bad("contains a control character")
	}
	network, rest := def.Network, s
	if network == "" {
		network = "tcp"
	}
	if i := strings.Index(s, "://"); i >= 0 {
		network, rest = strings.ToLower(s[:i]), s[i+3:]
		if isFamily(network) {
			e, err := parseFamily(network, rest)
			if err != nil {
				return bad(err.Error())
			}
			return e, nil
		}
		if !networks[network] {
			return bad(fmt.Sprintf("unknown scheme %q (want tcp, tcp4, tcp6, tls, tls4, tls6, udp, udp4, udp6, unix, unixgram, rfcomm, l2cap or ipx)", s[:i]))
		}
	} else if !networks[network] {
		return bad(fmt.Sprintf("unknown default network %q", network))
	}

	if network == "unix" || network == "unixgram" {
		switch {
		case rest == "":
			return bad("no socket path")
		case rest == "@":
			return bad("empty abstract socket name")
		case rest[0] == '@' && !abstractSockets:
			return bad("abstract socket names (@name) are Linux-only; use a path")
		case strings.HasPrefix(rest, "./"):
			rest = rest[2:]
			if rest == "" {
				return bad("no socket path")
			}
		}
		if len(rest) > 107 {
			return bad("socket path longer than 107 bytes")
		}
		return Endpoint{Network: network, Address: rest}, nil
	}

	host, port, err := splitHostPort(rest)
	if err != nil {
		return bad(err.Error())
	}
	if port == "" {
		if def.Port == 0 {
			return bad("missing port")
		}
		port = strconv.Itoa(def.Port)
	}
	n, err := strconv.Atoi(port)
	if err != nil && isServiceName(port) {
		// localhost:echo: the service's port for this network in
		// /etc/services (net reads the file; no DNS query); TLS ports
		// are TCP's (tls://host:https is 443).
		proto := strings.TrimRight(Endpoint{Network: network}.Transport().Network, "46")
		if n, err = net.LookupPort(proto, port); err != nil {
			return bad(fmt.Sprintf("unknown service name %q (not a port number, not in /etc/services for %s)", port, proto))
		}
	}
	if err != nil || n < 0 || n > 65535 || strings.HasPrefix(port, "+") {
		return bad(fmt.Sprintf("port %q is not a number from 0 to 65535", port))
	}
	if strings.ContainsAny(host, "/?#@ ") {
		return bad(fmt.Sprintf("host %q has characters a host name cannot", host))
	}
	if ip := net.ParseIP(host); ip != nil {
		switch {
		case strings.HasSuffix(network, "4") && ip.To4() == nil:
			return bad(fmt.Sprintf("%s is not an IPv4 address", host))
		case strings.HasSuffix(network, "6") && ip.To4() != nil && !strings.Contains(host, ":"):
			return bad(fmt.Sprintf("%s is not an IPv6 address", host))
		}
	}
	return Endpoint{Network: network, Address: net.JoinHostPort(host, strconv.Itoa(n))}, nil
}

// isServiceName reports whether s has the form of a service name (RFC
// 6335: 1 to 15 letters, digits and inner hyphens, at least one letter).
func isServiceName(s string) bool {
	if len(s) == 0 || len(s) > 15 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	letter := false
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9', c == '-':
		default:
			return false
		}
	}
	return letter
}

// splitHostPort splits "host:port", "[v6]:port", "[v6]", "v6" and "host"; the
// port is "" when absent.
func splitHostPort(s string) (host, port string, err error) {
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 {
			return "", "", errors.New("missing ']' after IPv6 address")
		}
		host, tail := s[1:end], s[end+1:]
		if net.ParseIP(host) == nil || !strings.Contains(host, ":") {
			if i := strings.IndexByte(host, '%'); i < 0 || net.ParseIP(host[:i]) == nil {
				return "", "", fmt.Errorf("%q is not an IPv6 address", host)
			}
		}
		switch {
		case tail == "":
			return host, "", nil
		case tail[0] == ':' && len(tail) > 1:
			return host, tail[1:], nil
		default:
			return "", "", fmt.Errorf("unexpected %q after IPv6 address", tail)
		}
	}
	switch strings.Count(s, ":") {
	case 0:
		return s, "", nil
	case 1:
		i := strings.IndexByte(s, ':')
		if i == len(s)-1 {
			return "", "", errors.New("missing port after ':'")
		}
		return s[:i], s[i+1:], nil
	default:
		// A bare IPv6 literal without brackets takes the default port.
		if net.ParseIP(s) != nil {
			return s, "", nil
		}
		return "", "", errors.New("too many colons (write IPv6 addresses as [addr]:port)")
	}
}
