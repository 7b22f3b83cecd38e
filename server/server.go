package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// Config tunes a Server. The zero value is a safe server with the defaults
// written on each field.
type Config struct {
	// MaxConns bounds open stream connections across all listeners; zero
	// means 10000, negative means no bound. Connections past it are
	// accepted and closed at once, and counted.
	MaxConns int
	// MaxConnsPerSource bounds open stream connections from one IP address;
	// zero means 256, negative means no bound. Unix peers are not counted.
	MaxConnsPerSource int
	// IdleTimeout closes a stream connection that sends nothing for this
	// long; zero means 5 minutes, negative means never.
	IdleTimeout time.Duration
	// WriteTimeout closes a stream connection whose peer takes no bytes for
	// this long (a reader that never reads chargen); zero means 30s.
	WriteTimeout time.Duration
	// HandshakeTimeout closes a TLS connection (Service.TLS) whose
	// handshake is not done this long after it was accepted, however
	// slowly the client keeps sending; zero means 10s, negative means
	// never (the idle timeout still applies). nginx's
	// ssl_handshake_timeout is 60s; a handshake takes a few round trips.
	HandshakeTimeout time.Duration
	// UDP guards datagram services against amplification.
	UDP UDPGuard
	// UDPReadBuffer is the kernel receive buffer (SO_RCVBUF) asked for on
	// every UDP socket; zero means 4 MiB, negative leaves the system
	// default. The kernel caps it at net.core.rmem_max. A deep queue rides
	// out bursts: with the 208 KiB default, a 4-sender flood here lost
	// one datagram in five at the socket while the server still had CPU
	// to spare.
	UDPReadBuffer int
	// Recorder, if set, counts connections, bytes, datagrams and drops
	// (server/promrecorder exports them to Prometheus).
	Recorder Recorder
	// Logger receives one line per listener and per unusual event; nil
	// means slog.Default().
	Logger *slog.Logger
	// DropLogEvery is how often at most each listener logs a line per drop
	// reason (a refused or timed-out connection, a dropped datagram); the
	// line counts the drops since the previous one and names the last
	// source. Zero means 10s, negative logs no drop (they are still
	// counted by the Recorder).
	DropLogEvery time.Duration
	// Now is the clock; nil means time.Now. Tests inject one.
	Now func() time.Time
	// Engine chooses what runs the connections (see Engines): "" or "loop"
	// (the default, on Linux) serves TCP and unix listeners and UDP sockets
	// on event loops, and the rest (listeners without a file descriptor,
	// unixgram) as "goroutine" does; "goroutine" gives every stream
	// connection and every datagram socket its own goroutine (kept for
	// comparison, and the default and only engine on other systems). An
	// unknown name, or "loop" outside Linux, makes the Serve methods fail.
	Engine string
	// Loops is the number of event-loop threads of the "loop" engine; zero
	// (or negative) means GOMAXPROCS minus one, and at least one. A loop blocked in
	// epoll_wait then always leaves an idle P, so Go's sysmon never hands
	// the loop's P off (a futex wake and a sleep per wait), and the rest of
	// the process (metrics, timers, unixgram) keeps a P of its own. More
	// loops than that pay the hand-off.
	Loops int
}

// ErrServerClosed is returned by the Serve methods after Shutdown or Close.
var ErrServerClosed = errors.New("server: closed")

// Server runs any number of services on any number of listeners.
type Server struct {
	cfg    Config
	budget *budget

	mu        sync.Mutex
	closing   bool // stopping: no new Serve call, the listeners are closing
	forced    bool // closing connections now: no new one is admitted
	listeners map[io.Closer]struct{}
	perSource map[netip.Addr]int
	active    int
	wg        sync.WaitGroup // one per Serve call and per connection
	closed    chan struct{}  // closed when the server starts closing

	dropLogs []*dropLog // under mu; closed with the engine

	engineOnce sync.Once
	eng        engine // nil until the first Serve call, and after stopEngine
	engineErr  error
}

// New returns a Server with cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{
		cfg:       cfg,
		budget:    newBudget(cfg.UDP),
		listeners: make(map[io.Closer]struct{}),
		perSource: make(map[netip.Addr]int),
		closed:    make(chan struct{}),
	}
}

// LoopCount is the number of event loops the "loop" engine runs with c:
// Loops, or GOMAXPROCS minus one and at least one.
func (c Config) LoopCount() int {
	if c.Loops > 0 {
		return c.Loops
	}
	return max(runtime.GOMAXPROCS(0)-1, 1)
}

func (s *Server) maxConns() int {
	if s.cfg.MaxConns == 0 {
		return 10000
	}
	return s.cfg.MaxConns
}

func (s *Server) maxPerSource() int {
	if s.cfg.MaxConnsPerSource == 0 {
		return 256
	}
	return s.cfg.MaxConnsPerSource
}

func (s *Server) idleTimeout() time.Duration {
	if s.cfg.IdleTimeout == 0 {
		return 5 * time.Minute
	}
	return s.cfg.IdleTimeout
}

func (s *Server) handshakeTimeout() time.Duration {
	switch {
	case s.cfg.HandshakeTimeout == 0:
		return 10 * time.Second
	case s.cfg.HandshakeTimeout < 0:
		return 0
	}
	return s.cfg.HandshakeTimeout
}

func (s *Server) writeTimeout() time.Duration {
	if s.cfg.WriteTimeout <= 0 {
		return 30 * time.Second
	}
	return s.cfg.WriteTimeout
}

// track registers a listener or packet conn; false means the server is
// already closing.
func (s *Server) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.listeners[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c io.Closer) {
	s.mu.Lock()
	delete(s.listeners, c)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// stopListening closes every listener and packet socket; stream
// connections already open carry on. With graceful (Shutdown), each stream
// listener's queue is emptied as it closes: a connection whose handshake
// the kernel completed was taken from the client's point of view (its
// connect returned, it may have sent its request), and closing the
// listener would reset it. So each listener leaves the engine, then the
// connections already queued on it are accepted without waiting and the
// listener is closed right after the last accept, in the same goroutine
// (closeQueued), and then they are served like any other; a connect after
// that is refused, as it should be. A connection an engine accepts in the
// same instant is served too (admit takes connections until the grace is
// over), which also keeps the queue of a socket that lives on (a reload
// hands a duplicate to the new generation) from losing the one connection
// in flight.
//
// What no accept can reach is a handshake still under way when the
// listener closes (the client's last ACK not yet in, or, on a listener
// that defers accepting until data arrives, a connection that has sent
// nothing yet): the kernel resets those. TCP has no way to stop new
// handshakes on a socket that other processes may share (systemd holds
// activated sockets) without harming them, so the window is kept to the
// one system call between the last accept and the close. (Drained on an
// event loop and closed by the goroutine that asked, as first written,
// the window was that goroutine's wake-up: 1-2 ms on a busy machine, and
// 2-7 of 400 clients in TestSIGTERMKeepsConnectedClients were reset in it.)
func (s *Server) stopListening(graceful bool, stop <-chan struct{}) {
	ls, eng := s.listening()
	for _, l := range ls {
		if eng == nil {
			l.Close()
			continue
		}
		eng.unwatch(l)
		eng.release(l, graceful, stop) // closes l
	}
}

// queuedConn is a connection closeQueued took from a listener's queue.
type queuedConn struct {
	fd   int            // non-blocking, close-on-exec
	peer netip.AddrPort // the zero AddrPort on a unix socket
}

// closeQueued closes ln. With graceful it first accepts, without waiting,
// the connections the kernel has queued on it (at most maxQueuedAccepts,
// and none once stop is closed, so a flood in the queue cannot hold
// shutdown past its grace), and closes ln right after the last accept, so
// that nothing can complete its handshake in between and be reset by the
// close. The caller serves what it returns. A listener without a
// descriptor is closed as it is.
func closeQueued(ln net.Listener, graceful bool, stop <-chan struct{}) []queuedConn {
	defer ln.Close()
	sc, ok := ln.(syscall.Conn)
	if !graceful || !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var q []queuedConn
	rc.Control(func(fd uintptr) {
		for range maxQueuedAccepts {
			select {
			case <-stop:
				return
			default:
			}
			c, err := acceptNow(int(fd))
			if err != nil {
				return // empty (EAGAIN), or failing: nothing more to take now
			}
			q = append(q, c)
		}
	})
	return q
}

// acceptNow accepts one connection from the non-blocking listener fd,
// non-blocking and close-on-exec as Go's own accept makes it.
func acceptNow(fd int) (queuedConn, error) {
	syscall.ForkLock.RLock()
	nfd, sa, err := syscall.Accept(fd)
	if err == nil {
		syscall.CloseOnExec(nfd)
	}
	syscall.ForkLock.RUnlock()
	if err != nil {
		return queuedConn{}, err
	}
	if err := syscall.SetNonblock(nfd, true); err != nil {
		syscall.Close(nfd)
		return queuedConn{}, err
	}
	c := queuedConn{fd: nfd}
	switch sa := sa.(type) {
	case *syscall.SockaddrInet4:
		c.peer = netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port))
	case *syscall.SockaddrInet6:
		c.peer = netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), uint16(sa.Port))
	}
	return c, nil
}

// maxQueuedAccepts bounds the connections taken from one listener's queue
// at shutdown: more than any listen backlog holds (net.core.somaxconn is
// 4096 by default), so it ends a flood that refills the queue as fast as
// it is emptied.
const maxQueuedAccepts = 1 << 16

// listening marks the server closing and returns the open listeners and
// packet sockets and the engine, in the same critical section.
func (s *Server) listening() ([]io.Closer, engine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closing {
		close(s.closed)
		s.closing = true
	}
	ls := make([]io.Closer, 0, len(s.listeners))
	for l := range s.listeners {
		ls = append(ls, l)
	}
	return ls, s.eng
}

// Shutdown stops the server gracefully, as net/http's Shutdown and nginx's
// graceful stop do: it stops accepting and receiving, closes at once every
// stream connection that is idle (its session says so through Idler, no
// output is pending and no input waits: an HTTP keep-alive connection
// between requests), tells the others to make their exchange in progress
// the last (Idler.Drain: HTTP answers with Connection: close), and waits
// for them to end. Streams that are never idle (echo, discard, chargen)
// carry on until their peer closes. When ctx ends first, Shutdown closes
// what is left and returns ctx's error.
//
// A connection the kernel had already accepted when Shutdown began, still
// waiting in a listener's queue, is served like any other (see
// stopListening).
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopListening(true, ctx.Done())
	if eng := s.currentEngine(); eng != nil {
		eng.drain()
	}
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.stopEngine()
		return nil
	case <-ctx.Done():
		s.closeConns()
		<-done
		s.stopEngine()
		return ctx.Err()
	}
}

func (s *Server) stopEngine() {
	s.engineOnce.Do(func() {}) // no engine may start after this
	s.mu.Lock()
	eng := s.eng
	s.eng = nil
	logs := s.dropLogs
	s.dropLogs = nil
	s.mu.Unlock()
	if eng != nil {
		eng.stop()
	}
	for _, d := range logs {
		d.close() // the drops not yet logged, now
	}
}

// bindCounters returns the counters of one Serve call.
func (s *Server) bindCounters(service, network string) *counters {
	c := bindRecorder(s.cfg.Recorder, service, network)
	if c.log = newDropLog(s.cfg.Logger, s.cfg.DropLogEvery, service, network); c.log != nil {
		s.mu.Lock()
		s.dropLogs = append(s.dropLogs, c.log)
		s.mu.Unlock()
	}
	return c
}

// Close stops everything at once: connections still in a listener's
// queue are reset with the rest.
func (s *Server) Close() error {
	s.stopListening(false, nil)
	s.closeConns()
	s.wg.Wait()
	s.stopEngine()
	return nil
}

func (s *Server) closeConns() {
	s.mu.Lock()
	s.forced = true
	s.mu.Unlock()
	if eng := s.currentEngine(); eng != nil {
		eng.closeConns()
	}
}

// Active returns the number of open stream connections.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// admit applies the connection guards to a peer from src (an invalid Addr
// for unix peers) and counts it; it returns the drop reason when refused
// ("" when the server is closing its connections). A connection accepted
// while the server stops listening is admitted: the kernel took it before
// the listener closed (see stopListening).
func (s *Server) admit(src netip.Addr) (reason string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.forced {
		return "", false
	}
	if m := s.maxConns(); m > 0 && s.active >= m {
		return DropMaxConns, false
	}
	if src.IsValid() {
		if m := s.maxPerSource(); m > 0 && s.perSource[src] >= m {
			return DropPerSource, false
		}
		s.perSource[src]++
	}
	s.active++
	s.wg.Add(1)
	return "", true
}

func (s *Server) release(src netip.Addr) {
	s.mu.Lock()
	s.active--
	if src.IsValid() {
		if s.perSource[src]--; s.perSource[src] <= 0 {
			delete(s.perSource, src)
		}
	}
	s.mu.Unlock()
	s.wg.Done()
}

// remoteAddrPort is a stream peer's address as StreamHandler.Open takes
// it: IPv4-mapped addresses unmapped, as the loops' accept reports them;
// the zero AddrPort for anything but TCP.
func remoteAddrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}

// ServeStream serves svc's connections on ln until Shutdown or Close, then
// returns ErrServerClosed. Any listener works: on the "loop" engine, TCP
// and unix listeners with a file descriptor (from net.Listen, or
// net.FileListener over an inherited one) join the event loops, and others
// are served by a goroutine per connection.
func (s *Server) ServeStream(ln net.Listener, svc Service) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	eng, err := s.engine()
	if err != nil {
		ln.Close()
		return err
	}
	network := ln.Addr().Network()
	if svc.TLS != nil {
		network = "tls"
		svc.Stream = s.newTLSHandler(svc)
	}
	ctr := s.bindCounters(svc.Name, network)
	ctr.tls = svc.TLS != nil
	return eng.serveStream(ln, svc, ctr)
}

func isTemporaryAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED)
}

func fdHint(err error) string {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		return "open file limit reached: raise ulimit -n or lower --max-conns"
	}
	return ""
}
