package server

import (
	"crypto/tls"
	"net/netip"
)

// A Recorder receives what the server counts: connections, bytes,
// datagrams and drops. The server owns this interface so that it imports no
// metrics library; cmd/sockit wires in the Prometheus one
// (server/promrecorder). A nil Config.Recorder records nothing.
type Recorder interface {
	// Listener returns the recorder of one served listener or socket. The
	// server calls it once per Serve call.
	Listener(service, network string) ListenerRecorder
}

// ListenerRecorder counts one listener's or socket's events. It is called
// concurrently, from the hot path: it should not allocate.
type ListenerRecorder interface {
	// Accepted counts a stream connection accepted; Closed, its end.
	Accepted()
	Closed()
	// Received and Sent count payload in and out: datagrams (zero on a
	// stream) and bytes.
	Received(datagrams, bytes int)
	Sent(datagrams, bytes int)
	// Dropped counts n datagrams or connections dropped for reason (one of
	// the Drop and Close constants, or a reason a session gave for ending
	// its connection: see Ender). A connection dropped for DropMaxConns
	// or DropPerSource was refused; one dropped for CloseIdle or
	// CloseWriteTimeout was open and closed by the server's timeout.
	Dropped(reason string, n int)
}

// StatusRecorder is what a Recorder may also implement to count the
// responses of a request/response service by status code (the HTTP
// responder's). The server never calls it: whoever starts the service
// (internal/serve) asks it for the service's StatusCounter and hands
// that to the protocol, so the server stays protocol-blind.
type StatusRecorder interface {
	// Statuses returns the counter of one service; called once per
	// service started.
	Statuses(service string) StatusCounter
}

// StatusCounter counts one service's responses. Responded is called from
// the hot path, concurrently: it should not allocate.
type StatusCounter interface {
	Responded(code int)
}

// Drop reasons.
const (
	DropMaxConns      = "max-conns"
	DropPerSource     = "max-conns-per-source"
	DropReservedPort  = "reserved-source-port"
	DropBadSource     = "broadcast-or-multicast-source"
	DropBudget        = "source-budget"
	DropBudgetTable   = "budget-table-full"
	DropUnaddressable = "unaddressable-sender"
	DropSendBuffer    = "send-buffer-full"
)

// Reasons a stream connection is closed by the server rather than by its
// peer or its session, counted and logged as drops are.
const (
	CloseIdle         = "idle-timeout"
	CloseWriteTimeout = "write-timeout"
)

// TLSRecorder is what a ListenerRecorder may also implement to count the
// handshakes of a TLS listener (Service.TLS; its network is "tls"). A
// handshake that fails is a drop, with one of the DropTLS reasons.
type TLSRecorder interface {
	// Handshake counts a handshake done: its version (tls.VersionTLS13...)
	// and whether it resumed a session (a ticket) rather than doing a full
	// one.
	Handshake(version uint16, resumed bool)
}

// counters is one listener's recorder (r nil when nothing records) and its
// drop log (nil when drops are not logged).
type counters struct {
	r    ListenerRecorder
	tlsr TLSRecorder // r, if it counts handshakes
	log  *dropLog
	tls  bool // the listener serves TLS: its sessions are tlsSessions on the loops
}

func bindRecorder(r Recorder, service, network string) *counters {
	if r == nil {
		return &counters{}
	}
	c := &counters{r: r.Listener(service, network)}
	c.tlsr, _ = c.r.(TLSRecorder)
	return c
}

// handshake counts a TLS handshake done.
func (c *counters) handshake(conn *tls.Conn) {
	if c.tlsr != nil {
		st := conn.ConnectionState()
		c.tlsr.Handshake(st.Version, st.DidResume)
	}
}

// drop counts a drop for reason, of a connection or datagram from src
// (the zero AddrPort if unknown).
func (c *counters) drop(reason string, src netip.AddrPort) { c.dropN(reason, 1, src) }

// dropN counts n drops for reason, the last from src, and logs them within
// the drop log's rate.
func (c *counters) dropN(reason string, n int, src netip.AddrPort) {
	if c.r != nil {
		c.r.Dropped(reason, n)
	}
	c.log.note(reason, n, src)
}

// accepted counts a stream connection opened; closed, its end.
func (c *counters) accepted() {
	if c.r != nil {
		c.r.Accepted()
	}
}

func (c *counters) closed() {
	if c.r != nil {
		c.r.Closed()
	}
}

// in and out count stream bytes.
func (c *counters) in(n int) {
	if c.r != nil {
		c.r.Received(0, n)
	}
}

func (c *counters) out(n int) { c.sent(0, n) }

// received counts one datagram of n bytes in.
func (c *counters) received(n int) {
	if c.r != nil {
		c.r.Received(1, n)
	}
}

// sent counts dgrams datagrams of n bytes in all out.
func (c *counters) sent(dgrams, n int) {
	if c.r != nil {
		c.r.Sent(dgrams, n)
	}
}
