package server

import "net/netip"

// The common shapes of a service as one function, as net/http's
// HandlerFunc and miekg/dns's: the small services are each one of these
// instead of a session type of their own. Their sessions hold only the
// function, so opening one allocates nothing.

// HandlerFunc is a service that answers what it is sent and keeps no
// state: f(in, buf) answers a datagram, or each read of a stream
// connection, with bytes appended to buf or aliasing in (nil for none). A
// stream connection stays open until the peer closes it. Echo (RFC 862)
// returns in; discard (RFC 863), nil.
type HandlerFunc func(in, buf []byte) []byte

// Open implements StreamHandler.
func (f HandlerFunc) Open(netip.AddrPort) Session { return funcSession{f} }

// Reply implements PacketHandler.
func (f HandlerFunc) Reply(in, buf []byte) []byte { return f(in, buf) }

type funcSession struct{ f HandlerFunc }

func (funcSession) Greet([]byte) ([]byte, bool)             { return nil, false }
func (s funcSession) Receive(in, buf []byte) ([]byte, bool) { return s.f(in, buf), false }

// GreetingFunc is a service that speaks first and only, as QOTD (RFC 865),
// Daytime (RFC 867) and Time (RFC 868) do: f(buf) appends its message to
// buf. A stream connection gets the message as soon as it is accepted and
// is closed after it (what the peer sends is not read); a datagram, of any
// content, is answered with it.
type GreetingFunc func(buf []byte) []byte

// Open implements StreamHandler.
func (f GreetingFunc) Open(netip.AddrPort) Session { return greetingSession{f} }

// Reply implements PacketHandler.
func (f GreetingFunc) Reply(_, buf []byte) []byte { return f(buf) }

type greetingSession struct{ f GreetingFunc }

func (s greetingSession) Greet(buf []byte) ([]byte, bool)  { return s.f(buf), true }
func (greetingSession) Receive(_, _ []byte) ([]byte, bool) { return nil, true }
