// Package server is sockit's runtime for services: listeners of every family
// (tcp, udp, unix, unixgram), connection guards, UDP anti-amplification,
// metrics, and graceful shutdown. It knows no protocol: a protocol is a
// StreamHandler and a PacketHandler, small state machines the runtime drives.
//
// # Engine
//
// Streams run one goroutine per connection, but an idle connection holds no
// read buffer: it waits for readability through the socket's RawConn, and
// only then borrows a buffer from a pool, reads, replies, and gives the
// buffer back. Protocols see only bytes in and bytes out, never the conn, so
// the engine can change (an epoll loop) without touching them.
//
// Datagram sockets run one reader per socket; every datagram passes the
// guards (source port, broadcast source, per-prefix byte budget) before the
// handler sees it, and the reply passes the budget again before it is sent.
package server

import "net"

// StreamHandler starts a Session for each accepted stream connection.
type StreamHandler interface {
	Open(remote net.Addr) Session
}

// Session is one stream connection's protocol state. The runtime calls it
// from one goroutine at a time. Returned slices may alias the input or a
// buffer the session owns; they are used before the next call.
type Session interface {
	// Greet returns what to send as soon as the connection opens (nil for
	// nothing), appended to buf, and whether to close once it is sent.
	Greet(buf []byte) (out []byte, closeAfter bool)
	// Receive takes bytes from the peer and returns the reply (nil for
	// none), which may alias in or be appended to buf (a pooled buffer the
	// runtime lends for this call), and whether to close once it is sent.
	// Neither in nor buf may be kept after the call returns.
	Receive(in, buf []byte) (out []byte, closeAfter bool)
}

// Streamer is a Session that also sends unsolicited output for as long as
// the peer takes it (chargen). The runtime calls Stream whenever the last
// output has been written; input is read and dropped meanwhile.
type Streamer interface {
	Session
	// Stream appends the next piece of output to buf.
	Stream(buf []byte) []byte
}

// PacketHandler answers datagrams. It is called concurrently.
type PacketHandler interface {
	// Reply returns the answer to in (nil for none), which may alias in or
	// be appended to buf (capacity MaxDatagram).
	Reply(in, buf []byte) []byte
}

// MaxDatagram is the largest datagram the runtime reads or sends.
const MaxDatagram = 65507

// Service is a named protocol with its stream and datagram sides; either
// may be nil when the protocol lacks it.
type Service struct {
	Name   string
	Stream StreamHandler
	Packet PacketHandler
}
