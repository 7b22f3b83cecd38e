// Package server is sockit's runtime for services: listeners of every family
// (tcp, udp, unix, unixgram), connection guards, UDP anti-amplification,
// metrics, and graceful shutdown. It knows no protocol: a protocol is a
// StreamHandler and a PacketHandler, small state machines the runtime drives.
//
// # Engines
//
// The Server owns listeners, guards, counters and the shutdown order; an
// engine (the unexported interface in engine.go) owns the connections and
// whatever runs them. Config.Engine picks one by name (Engines lists them):
//
//   - "loop", the default on Linux and Linux's only (loop_linux.go): TCP
//     and unix stream listeners run on
//     event loops over internal/poll, Config.Loops of them (GOMAXPROCS
//     minus one by default; see "Event loops: measured choices"), each accepting for itself, with no goroutine
//     and no net.Conn per connection — about 0.1 KiB of RSS per idle connection
//     (see "Idle connections").
//     Listeners and sockets opened elsewhere (net.FileListener,
//     net.FilePacketConn over inherited descriptors, as socket activation
//     passes them) join the loops the same way. What has no descriptor, and
//     unixgram, goes to the goroutine engine inside it.
//   - "goroutine" (goroutine.go): one goroutine per connection and per
//     datagram socket, kept for comparison, and the engine of every other
//     system. Even there an idle connection
//     holds no read buffer (it waits through its RawConn and borrows a
//     pooled buffer only once readable).
//
// Protocols see only bytes in and bytes out, never the connection, so the
// engines share them unchanged, and the tests run over every engine. A new
// engine (batched syscalls, io_uring) is one new file implementing engine
// and a row in the engines table.
//
// # Shutdown
//
// Shutdown follows net/http and nginx: (1) stop accepting and receiving:
// listeners leave the loops, then close, each taking as it closes the
// connections the kernel had already queued on it (those clients' connects
// have returned: they are served like any other; one after the close is
// refused), where closing the listener first, as net/http's Shutdown does,
// resets them; (2) close every idle connection at
// once — a connection is idle when its Session implements Idler and says
// so, none of its output is pending and no input waits (an HTTP keep-alive
// connection between requests); (3) tell every other Idler session that
// its exchange in progress is the last (Idler.Drain: HTTP answers with
// Connection: close), also for bytes read after shutdown began, and close
// each connection as soon as it turns idle; (4) wait for the rest — streams
// such as echo, discard and chargen are never idle, so they carry on until
// their peer closes — until the context ends; (5) then close what is left.
// The loop engine acts on the shutdown on its loop threads; the goroutine
// engine wakes every blocked read with a deadline in the past (as
// miekg/dns does), so sessions are never called from two goroutines. Close
// is steps 1 and 5 at once.
//
// # Event loops: measured choices
//
// How many loops: GOMAXPROCS minus one by default (one on two cores).
// With N loops on N Ps, a loop blocked in epoll_wait is a P in a system
// call with no other P idle, so Go's sysmon takes it back after 20 µs and
// the loop pays a hand-off and a reacquire on every wake-up: measured with
// perf stat on the server (bench -k -c 50, 64-byte echo), 2 loops on 2 Ps
// made 0.44 context switches and 2.5 system calls per message, 2 loops on
// 3 Ps 0.09 and 2.08, one loop on 2 Ps 0.09 and 2.07 (gnet 0.31 and 2.59).
// So sockit serve --loops N runs N+1 Ps. A loop per core (--loops 2 here)
// was the default for one commit of issue 15; in the same runs of
// perf/compare-servers and perf/compare it raised echo throughput at
// c=1,000 (97k against 72k msgs/s) but cost more CPU per operation: HTTP
// with a connection per request 53 µs per request against 36 µs for one
// loop (nginx 38), keep-alive 12.3 against 9.4, and 64-byte echo at c=50
// 7.8–10.6 against 7.7–9.0 µs per message across three runs. One loop on
// two cores leaves a core to the clients of a loopback benchmark; a server
// whose clients are elsewhere should run --loops equal to its cores.
//
// How much to read per wake-up: one read of up to 64 KiB (the loop's
// shared buffer) per readiness event, level-triggered, as nginx and gnet
// do; a connection with more waiting is reported again, so one busy peer
// cannot starve the others. Write coalescing: a reply is written at once
// from the session's output, with no second copy unless the kernel leaves
// some (then it is kept, and the connection is not read until it drains):
// a 64-byte echo is one read and one write. Busy polling (epoll_wait with
// a zero timeout after a busy batch, as gnet does) is not used: it adds a
// system call per batch, and in three alternating 3-second runs (c=50, a
// loaded machine) it showed no gain: 36–51k msgs/s against 40–50k.
//
// A connection per request (ab -c 50 against the HTTP responder): the
// HTTP listener defers accepting until the request has arrived
// (TCP_DEFER_ACCEPT; see ClientFirst), the loop reads it right after
// accept4, and a connection that is answered and closed there never joins
// the epoll set; only one that stays open (keep-alive, a partial request)
// is registered. Each wake-up accepts up to 8 connections. perf stat on the
// server under ab -c 50 (shared machine): system calls per request 6.4 →
// 4.6 (accept4, read, write, close, and 0.2 epoll_wait instead of 1.1
// epoll_wait and an epoll_ctl), context switches 0.9 → 0.4, task-clock
// 40 → 31 µs. Only a read-first service whose clients send at once may
// defer: for the others a connection is registered at accept as before
// (reading at once there found the request arrived in 29% of HTTP
// connections without the deferral, so it cost more reads than it saved).
// A reply after which the connection closes is written with MSG_MORE, so
// the FIN rides on its last segment (tcpdump: one [F.] segment
// carrying the response instead of a data segment and a FIN): in four
// alternating rounds of the same perf stat, 27.5 against 34.3 µs of
// task-clock per request. That FIN is sent by a shutdown(2) just before
// the close (one system call more than those rounds made), so input
// arriving after the last read cannot turn the close into a reset that
// drops the reply still held.
//
// # Idle connections
//
// What an idle connection costs on the loops is its slot in the loop's
// connection table (loopconns_linux.go): 112 bytes of state held by value, in
// chunks of 1,024 that never move, found from the epoll event itself (the
// slot travels in the event's data), so there is no map and no allocation
// per connection. StreamHandler.Open takes the peer as a netip.AddrPort
// value, not a net.Addr made per accept, and a stateless session (echo,
// discard) is a zero-sized value shared by every connection. Timeouts are
// a scan of the table every 250 ms, not a timer per connection; times are
// 32-bit milliseconds. With 15,000 idle echo connections
// (perf/compare-servers) that is 0.10 KiB of RSS each, against 0.31
// with a map of separately allocated states and a *net.TCPAddr per accept,
// and gnet's 0.24 in the same run; BenchmarkIdleConns measures the live
// heap per connection in process (115 bytes, against 158 before). Beyond
// this the server keeps a count per source address while
// MaxConnsPerSource is on (one map entry per distinct peer address, not
// per connection); the kernel's socket memory is not in the RSS.
//
// # Datagrams
//
// On the loop engine UDP sockets run on the same event loops, one socket per loop sharing the
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

import (
	"errors"
	"net/netip"
	"os"
	"time"
)

// StreamHandler starts a Session for each accepted stream connection.
type StreamHandler interface {
	// Open returns the new connection's session. remote is the peer's
	// address and port (the zero AddrPort on a unix socket); it is a value,
	// so accepting allocates nothing for it. A stateless service may return
	// the same Session (for instance a zero-sized value) for every
	// connection: then a connection costs it no allocation at all.
	Open(remote netip.AddrPort) Session
}

// ClientFirst is a StreamHandler whose peers speak first and at once (an
// HTTP client sends its request as soon as it connects), so a connection
// that has sent nothing needs no attention yet. On the loop engine a TCP
// listener of such a handler accepts a connection only once its first
// bytes have arrived (TCP_DEFER_ACCEPT with one second, as nginx's listen
// ... deferred: a peer that sends nothing is accepted about a second late
// all the same), and the loop reads them at once, so a connection per
// request is accepted, read, answered and closed without ever joining the
// epoll set. Services that speak first (daytime, qotd, time, chargen) or
// whose peers may connect and wait to read (echo, discard) must not
// implement it. The goroutine engine ignores it.
type ClientFirst interface {
	StreamHandler
	// ClientFirst marks the handler; it is never called.
	ClientFirst()
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

// Idler is a Session that can tell when it is between exchanges, so that
// Shutdown closes its connection at once instead of granting it the grace
// period: an HTTP keep-alive connection between requests is idle, one with
// a request half received or a response being written is not. A Session
// without these methods is never idle (echo, discard and chargen are
// streams: any moment may be mid-transfer), and gets the grace.
//
// The runtime calls both from the session's own goroutine or loop, like
// Receive. It also checks its own side: a connection is idle only when the
// session says so, all output has been written and no input waits.
type Idler interface {
	Session
	// Idle reports whether the session is between exchanges: every request
	// received has been answered in full and none is partly received.
	Idle() bool
	// Drain is called once, when the server begins shutting down and the
	// connection is not idle: the exchange in progress should be the last
	// (HTTP answers it with Connection: close, then closes). The runtime
	// closes the connection as soon as Idle reports true.
	Drain()
}

// FileSender is a Session whose reply can end with a range of a file,
// which the runtime sends from the page cache (sendfile(2)) instead of
// through the session's buffers: a large file costs neither its size in
// memory nor a read on the loop thread that stalls other connections.
//
// After every Receive (and Resume) the runtime calls TakeFile. If it returns
// a file, the runtime sends the output it was given first, then n bytes of
// f from off, pacing them by the peer like any output; meanwhile it reads
// no input (the session holds back whatever it already has). Then it calls
// Resume exactly once, also when the connection ends first (err non-nil),
// so the session can close f. The runtime may move f's offset: give it a
// descriptor of its own (not one shared with other connections).
type FileSender interface {
	Session
	// TakeFile returns the file range that follows the output just returned
	// (f nil for none).
	TakeFile() (f *os.File, off, n int64)
	// Resume ends the file body: err is nil when all n bytes were sent.
	// It answers what the session held back, as Receive does (out appended
	// to buf, and whether to close once it is sent); when err is non-nil
	// its output is ignored.
	Resume(buf []byte, err error) (out []byte, closeAfter bool)
}

// errConnEnded is what a session's Resume hears when its connection ended
// before the file body was sent.
var errConnEnded = errors.New("server: connection ended")

// endFile tells fs that its connection ended: a file body under way
// (taken), or one its last reply asked for but never handed over (the
// reply's write failed first), ends with Resume(errConnEnded), so the
// session closes its file.
func endFile(fs FileSender, taken bool) {
	if !taken {
		if f, _, _ := fs.TakeFile(); f == nil {
			return
		}
	}
	fs.Resume(nil, errConnEnded)
}

// Producer is a Session that can have more output ready than one call
// returned, or output that no input prompts: HTTP/2 sends a file body in
// DATA frames as the peer's flow-control window opens, a piece at a time,
// and its GOAWAY when told to drain. The runtime calls More after every
// Receive, Resume and Drain once the output so far has been written, and
// again each time the kernel has taken it all, until More returns nothing.
// Between pieces it goes on reading (and calling Receive) only while all
// output has been written, so a peer that does not read still holds back
// its own input.
type Producer interface {
	Session
	// More appends the next piece of output to buf (nil when nothing is
	// ready until more input comes), and whether to close once it is sent.
	More(buf []byte) (out []byte, closeAfter bool)
}

// Ender is a Session that holds something across calls (HTTP/2 keeps the
// files of streams waiting for the peer's window open), or that ends
// connections whose peer abuses the protocol. The runtime calls End exactly
// once, when the connection has closed, whoever closed it.
type Ender interface {
	Session
	// End releases what the session holds. It returns why the session
	// ended the connection when the peer was to blame (an HTTP/2 flood:
	// rapid resets, CONTINUATION or control-frame floods), "" otherwise;
	// the runtime counts that reason as a drop (Recorder.Dropped) and logs
	// it in the drop log, as it does its own timeouts.
	End() (dropReason string)
}

// Lingerer is a Session that says how its connection closes once the
// output is sent. By default (LingerIfWaiting) the runtime closes at once
// unless input is waiting, and then shuts the connection for writing and
// reads and drops input until the peer closes or a second passes: closing
// a socket with input unread sends a reset, which can destroy output the
// peer has not read yet. An HTTP/1.1 request per connection costs no wait.
type Lingerer interface {
	Session
	// Linger is asked when the connection is to close after its output.
	Linger() Linger
}

// lingerSilence is how long a LingerAlways close waits for the peer's
// next bytes or FIN: nginx's lingering_timeout (5 s); its lingering_time
// (30 s) is the server's write timeout here.
const lingerSilence = 5 * time.Second

// Linger is how a connection closes after its last output.
type Linger uint8

const (
	// LingerIfWaiting lingers only when input is waiting (the default).
	LingerIfWaiting Linger = iota
	// LingerAlways waits for the peer's FIN, while the peer keeps sending,
	// up to 5 s of silence and the write timeout in all: HTTP/2 clients
	// send WINDOW_UPDATE and PING frames as they read, so more are on the
	// way after the last frame.
	LingerAlways
	// LingerNever closes at once, input waiting or not: a peer cut off for
	// a flood is not read for another second.
	LingerNever
)

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
