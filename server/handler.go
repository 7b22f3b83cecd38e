// Package server is sockit's runtime for services: listeners of every family
// (tcp, udp, unix, unixgram), connection guards, UDP anti-amplification,
// metrics, and graceful shutdown. It knows no protocol: a protocol is a
// StreamHandler and a PacketHandler, small state machines the runtime drives.
//
// # Engines
//
// TCP and unix stream listeners run on event loops (loop.go): one epoll
// loop per core but one, each accepting for itself, with no goroutine and
// no net.Conn per connection — about 0.4 KiB per idle connection. Listeners
// without a file descriptor, or Config.Engine "goroutine", get one goroutine
// per connection instead; even there an idle connection holds no read
// buffer (it waits through its RawConn and borrows a pooled buffer only
// once readable). Protocols see only bytes in and bytes out, never the
// connection, so the engines share them unchanged.
//
// UDP sockets run on the same event loops, one socket per loop sharing the
// port (SO_REUSEPORT), each read and answered on its loop's thread in
// batches of 32 (recvmmsg/sendmmsg), with no goroutine, net.Addr or
// allocation per datagram. Runs of replies to one address leave as one
// segmented message (UDP_SEGMENT). Each socket asks for a 4 MiB receive
// queue to ride out bursts. unixgram sockets run one reader goroutine each.
// Every datagram passes the guards (source port, broadcast source,
// per-prefix byte budget) before the handler sees it, and the reply passes
// the budget again before it is sent.
//
// Why loops for UDP too: a goroutine per socket paid a netpoller park and
// wake per batch, and under 64 closed-loop senders the batches held about
// 1.4 datagrams, so that cost was paid per datagram. On the loop thread the
// batch costs an epoll_wait the loop makes anyway. One client alone is no
// slower across processes: `sockit bench -c 1` made 16.2–17.5k round trips
// a second against the loops and 14.8–16.7k against the goroutine path. In
// one process (BenchmarkUDPEchoPingPong) the goroutine path was faster, 13
// µs against 45 µs, because the client's own thread could run the server
// goroutine without waking another thread.
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
