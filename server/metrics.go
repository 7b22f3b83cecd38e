package server

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
	// the Drop constants). A connection dropped for DropMaxConns or
	// DropPerSource was refused.
	Dropped(reason string, n int)
}

// StatusRecorder is what a Recorder may also implement to count the
// responses of a request/response service by status code (the HTTP
// responder's). The server never calls it: whoever starts the service
// (internal/services) asks it for the service's StatusCounter and hands
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

// counters is one listener's recorder, nil when nothing records.
type counters struct{ r ListenerRecorder }

func bindRecorder(r Recorder, service, network string) *counters {
	if r == nil {
		return &counters{}
	}
	return &counters{r: r.Listener(service, network)}
}

func (c *counters) drop(reason string) { c.dropN(reason, 1) }

// dropN counts n drops for reason.
func (c *counters) dropN(reason string, n int) {
	if c.r != nil {
		c.r.Dropped(reason, n)
	}
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
