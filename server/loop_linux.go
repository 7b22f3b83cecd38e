package server

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/poll"
	"github.com/sockit/sockit/internal/rawsys"
)

// The event-loop engine serves stream connections without a goroutine or a
// net.Conn per connection: one loop per core, each an OS thread running
// epoll over its own connections. Every loop watches every listener
// (EPOLLEXCLUSIVE wakes one) and accepts for itself, so a connection never
// crosses threads. A connection is a file descriptor, its session and a few
// words of state; output that the kernel will not take at once is the only
// buffer it may own, and while it does the loop stops reading from it (so
// a peer that does not read costs one reply, not a growing queue).
//
// Why this and not gnet or io_uring: the sessions are already small state
// machines fed bytes in and bytes out, which is exactly what an epoll loop
// drives; x/sys/unix is enough for it, and it keeps the protocol packages
// and the goroutine engine (used for listeners without a file descriptor)
// unchanged.

// loopEngine is the set of loops of one Server.
type loopEngine struct {
	s     *Server
	g     *goEngine // serves what the loops cannot: listeners without a descriptor, unixgram
	loops []*loop
	wg    sync.WaitGroup

	mu        sync.RWMutex
	listeners map[int]*listenerEntry // by file descriptor
	packets   map[int]*packetEntry   // UDP sockets, by file descriptor
}

type listenerEntry struct {
	fd       int
	svc      Service
	ctr      *counters
	ln       net.Listener
	uds      bool
	deferred bool // TCP_DEFER_ACCEPT is set (see ClientFirst): read at once after accept
	// unwatched: the server is stopping it, the loops no longer wait on it
	// (a listener paused after EMFILE is not taken back).
	unwatched atomic.Bool
	done      chan struct{} // closed once released: its Serve call returns
}

func newLoopEngine(s *Server) (*loopEngine, error) {
	e := &loopEngine{s: s, g: newGoEngine(s), listeners: map[int]*listenerEntry{}, packets: map[int]*packetEntry{}}
	for range s.cfg.LoopCount() {
		p, err := poll.New()
		if err != nil {
			e.closeAll()
			return nil, err
		}
		e.loops = append(e.loops, &loop{e: e, p: p, conns: newConnTable(), done: make(chan struct{}),
			buf: make([]byte, 64<<10), scratch: make([]byte, 0, bufSize), paused: map[int]time.Time{}, epoch: s.cfg.Now()})
	}
	for _, l := range e.loops {
		e.wg.Add(1)
		go func() { defer e.wg.Done(); l.run() }()
	}
	return e, nil
}

func (e *loopEngine) closeAll() {
	for _, l := range e.loops {
		l.p.Close()
	}
}

// registerHeld runs register with c's descriptor while holding it, so c
// cannot be closed (and its number reused) underneath. If the server began
// closing meanwhile, stopListening may have looked for the registration
// before it existed: unregister then runs here, still holding the
// descriptor, and the result is ErrServerClosed.
func (e *loopEngine) registerHeld(c syscall.Conn, register func(fd int) error, unregister func()) error {
	rc, err := c.SyscallConn()
	if err != nil {
		return err
	}
	var rerr error
	if err := rc.Control(func(f uintptr) {
		if rerr = register(int(f)); rerr != nil {
			return
		}
		if e.s.isClosing() {
			unregister()
			rerr = ErrServerClosed
		}
	}); err != nil {
		return err
	}
	return rerr
}

// listenerFD returns ln's file descriptor, if it has one the engine can use.
func listenerFD(ln net.Listener) (int, bool) {
	var rc syscall.RawConn
	var err error
	switch l := ln.(type) {
	case *net.TCPListener:
		rc, err = l.SyscallConn()
	case *net.UnixListener:
		rc, err = l.SyscallConn()
	default:
		return 0, false
	}
	if err != nil {
		return 0, false
	}
	fd := -1
	rc.Control(func(f uintptr) { fd = int(f) })
	return fd, fd >= 0
}

// add starts accepting on ln in every loop.
func (e *loopEngine) add(ln net.Listener, fd int, svc Service, ctr *counters) (*listenerEntry, error) {
	_, uds := ln.(*net.UnixListener)
	le := &listenerEntry{fd: fd, svc: svc, ctr: ctr, ln: ln, uds: uds, done: make(chan struct{})}
	if _, ok := svc.Stream.(ClientFirst); ok && !uds {
		le.deferred = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1) == nil
	}
	e.mu.Lock()
	e.listeners[fd] = le
	e.mu.Unlock()
	for _, l := range e.loops {
		if err := l.watchListener(fd); err != nil {
			e.remove(fd)
			return nil, err
		}
	}
	return le, nil
}

// entry returns ln's listener entry, nil when the loops do not serve it.
func (e *loopEngine) entry(ln net.Listener) *listenerEntry {
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, le := range e.listeners {
		if le.ln == ln {
			return le
		}
	}
	return nil
}

// removeListener stops accepting on ln, if the loops serve it; it must run
// before ln is closed, while its descriptor cannot yet be reused.
func (e *loopEngine) removeListener(ln net.Listener) {
	if le := e.entry(ln); le != nil {
		e.remove(le.fd)
	}
}

// remove stops accepting on fd; the caller closes the listener afterwards.
func (e *loopEngine) remove(fd int) {
	e.mu.Lock()
	delete(e.listeners, fd)
	e.mu.Unlock()
	for _, l := range e.loops {
		l.p.Delete(fd)
		l.quiesce()
	}
}

func (e *loopEngine) listener(fd int) *listenerEntry {
	le, _ := e.lookup(fd)
	return le
}

// lookup finds what fd is to the engine: a listener, a UDP socket, or
// neither (a descriptor removed since its event was reported).
func (e *loopEngine) lookup(fd int) (*listenerEntry, *packetEntry) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.listeners[fd], e.packets[fd]
}

// serveStream serves ln on the event loops until the server closes, or on
// the goroutine engine when ln has no descriptor the loops can use.
func (e *loopEngine) serveStream(ln net.Listener, svc Service, ctr *counters) error {
	sc, ok := ln.(syscall.Conn)
	if _, hasFD := listenerFD(ln); !ok || !hasFD {
		return e.g.serveStream(ln, svc, ctr)
	}
	var le *listenerEntry
	err := e.registerHeld(sc, func(fd int) (err error) { le, err = e.add(ln, fd, svc, ctr); return err }, func() { e.removeListener(ln) })
	if err != nil {
		if e.s.isClosing() {
			return ErrServerClosed
		}
		return err
	}
	<-le.done // stopListening takes ln off the loops, empties its queue, then closes it
	return ErrServerClosed
}

// servePacket serves a UDP socket on the loops; unixgram sockets get a
// goroutine each.
func (e *loopEngine) servePacket(pc net.PacketConn, svc Service, ctr *counters) error {
	if uc, ok := pc.(*net.UDPConn); ok {
		return e.s.serveUDPLoops(e, uc, svc.Packet, ctr)
	}
	return e.g.servePacket(pc, svc, ctr)
}

func (e *loopEngine) unwatch(c io.Closer) {
	switch c := c.(type) {
	case net.Listener:
		le := e.entry(c)
		if le == nil {
			e.g.unwatch(c)
			return
		}
		le.unwatched.Store(true)
		for _, l := range e.loops {
			l.p.Delete(le.fd)
			l.quiesce()
		}
	case net.PacketConn:
		e.removePacket(c)
	}
}

// release forgets an unwatched listener and closes it, taking what its
// queue holds as it closes (with graceful); the first loop then serves
// those as if it had accepted them itself. A packet socket, already off
// the loops, is closed.
func (e *loopEngine) release(c io.Closer, graceful bool, stop <-chan struct{}) {
	ln, ok := c.(net.Listener)
	if !ok {
		c.Close()
		return
	}
	le := e.entry(ln)
	if le == nil {
		e.g.release(c, graceful, stop)
		return
	}
	e.mu.Lock()
	delete(e.listeners, le.fd) // before the close frees its number
	e.mu.Unlock()
	if q := closeQueued(ln, graceful, stop); len(q) > 0 {
		adopted := false
		e.loops[0].do(func(l *loop) {
			adopted = true
			for _, qc := range q {
				l.adopt(le, qc.fd, qc.peer.Addr(), int(qc.peer.Port()))
			}
		})
		if !adopted { // the loop has ended: nothing can serve them
			for _, qc := range q {
				rawsys.Close(qc.fd)
			}
		}
	}
	close(le.done)
}

// drain has every loop close its idle connections and tell the others.
func (e *loopEngine) drain() {
	for _, l := range e.loops {
		l.drainReq.Store(true)
		l.wake()
	}
	e.g.drain()
}

// closeConns makes every loop close its connections now.
func (e *loopEngine) closeConns() {
	for _, l := range e.loops {
		l.force.Store(true)
		l.wake()
	}
	e.g.closeConns()
}

// stop ends the loops (after their connections are gone) and waits.
func (e *loopEngine) stop() {
	for _, l := range e.loops {
		l.stop.Store(true)
		l.wake()
	}
	e.wg.Wait()
	e.closeAll()
	e.g.stop()
}
