// Package server is sockit's runtime for services: listeners of every family
// (tcp, udp, unix, unixgram), connection guards, UDP anti-amplification,
// metrics, and graceful shutdown. It knows no protocol: a protocol is a
// StreamHandler and a PacketHandler, small state machines the runtime drives;
// the common shapes are a function each (HandlerFunc: answer what comes;
// GreetingFunc: speak once, then close).
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
