package server

import (
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"runtime"
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
}

type loop struct {
	e        *loopEngine
	p        *poll.Poller // Wake ends its wait for stop, force-close and barriers
	conns    connTable
	buf      []byte    // read buffer, shared by all connections of the loop
	scratch  []byte    // output buffer lent to sessions
	batch    *udpBatch // datagram buffers, shared by the loop's UDP sockets; made on first use
	stop     atomic.Bool
	force    atomic.Bool
	drainReq atomic.Bool   // Shutdown began: see drainConn
	draining bool          // the loop has acted on drainReq
	done     chan struct{} // closed when run returns

	// Barriers let another goroutine wait until the loop is between event
	// batches (see quiesce).
	barrierMu sync.Mutex
	barriers  []chan struct{}
	barrier   atomic.Bool
	paused    map[int]time.Time // listeners backed off after EMFILE
	now       time.Time
	epoch     time.Time // the loop's start, on its clock
	mono      uint32    // now - epoch in milliseconds, the connections' clock (wraps after 49 days)
}

// tick reads the clock into now and mono.
func (l *loop) tick() {
	l.now = l.e.s.cfg.Now()
	l.mono = uint32(l.now.Sub(l.epoch) / time.Millisecond)
}

// since is the time from t, a reading of mono, to now. It is right across
// mono's wrap-around for any span under 49 days.
func (l *loop) since(t uint32) time.Duration { return time.Duration(l.mono-t) * time.Millisecond }

// econn is kept small: it is most of what an idle connection costs. It
// lives by value in the loop's connTable (112 bytes; 240 when each was
// allocated on its own, in a map, with times as 64-bit values and the
// file-sending state inline).
type econn struct {
	fd         int32 // in a free slot: the next free slot
	slot       int32 // its index in the loop's connTable
	closeAfter bool  // close once out is written
	eof        bool  // the peer half-closed: FIN once out is written
	writing    bool  // registered for EPOLLOUT
	fullRead   bool  // the last read filled the buffer: more input may wait
	drained    bool  // the session has been told of the shutdown (tellDrain)
	tcp        bool  //
	streams    bool  // the session is a Streamer (until finishClose)
	sendsFiles bool  // the session is a FileSender
	nodelay    bool  // TCP_NODELAY is set
	registered bool  // in the loop's epoll set
	corked     bool  // the last write was held back for the FIN (MSG_MORE)
	replies    uint8 // replies sent, up to 2: TCP_NODELAY once a conversation starts
	// Times are the loop's clock (loop.mono): last time the kernel took
	// output, last read, and the end of a lingering close (0: none).
	lastWrite, lastRead, linger uint32

	sess Session
	file *fileSend // a file body being sent after out (see FileSender)
	ctr  *counters
	src  netip.Addr
	out  []byte // output not yet taken by the kernel
}

// fileSend is a file body on its way out with sendfile(2).
type fileSend struct {
	f         *os.File
	off, left int64
}

// streamer returns c's session as a Streamer.
func (c *econn) streamer() Streamer { return c.sess.(Streamer) }

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
func (e *loopEngine) add(ln net.Listener, fd int, svc Service, ctr *counters) error {
	_, uds := ln.(*net.UnixListener)
	le := &listenerEntry{fd: fd, svc: svc, ctr: ctr, ln: ln, uds: uds}
	if _, ok := svc.Stream.(ClientFirst); ok && !uds {
		le.deferred = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT, 1) == nil
	}
	e.mu.Lock()
	e.listeners[fd] = le
	e.mu.Unlock()
	for _, l := range e.loops {
		if err := l.watchListener(fd); err != nil {
			e.remove(fd)
			return err
		}
	}
	return nil
}

// removeListener stops accepting on ln, if the loops serve it; it must run
// before ln is closed, while its descriptor cannot yet be reused.
func (e *loopEngine) removeListener(ln net.Listener) {
	e.mu.RLock()
	fd := -1
	for f, le := range e.listeners {
		if le.ln == ln {
			fd = f
		}
	}
	e.mu.RUnlock()
	if fd >= 0 {
		e.remove(fd)
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

// quiesce returns once l has finished the event batch it was in. Whatever
// was taken out of the engine's maps before the call is then no longer in
// use by l, so its descriptor may be closed (and its number reused).
func (l *loop) quiesce() {
	ch := make(chan struct{})
	l.barrierMu.Lock()
	l.barriers = append(l.barriers, ch)
	l.barrierMu.Unlock()
	l.barrier.Store(true)
	l.wake()
	select {
	case <-ch:
	case <-l.done:
	}
}

// releaseBarriers lets every quiesce waiting on l return.
func (l *loop) releaseBarriers() {
	l.barrierMu.Lock()
	l.barrier.Store(false)
	for _, ch := range l.barriers {
		close(ch)
	}
	l.barriers = nil
	l.barrierMu.Unlock()
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

func (l *loop) wake() { l.p.Wake() }

// watchListener has l accept on fd: exclusively (one loop woken per
// connection) where the kernel can, else every loop is woken.
func (l *loop) watchListener(fd int) error {
	if err := l.p.Add(fd, poll.In|poll.Exclusive); err == nil {
		return nil
	}
	return l.p.Add(fd, poll.In)
}

func (l *loop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(l.done)
	events := make([]poll.Event, 256)
	lastScan := time.Now()
	for {
		n, err := l.p.Wait(events, 250)
		if err != nil {
			l.e.s.cfg.Logger.Error("epoll_wait failed; loop ends", "err", err)
			return
		}
		l.tick()
		for i := range n {
			fd := int(events[i].Fd)
			ev := events[i].Events
			if tag := events[i].Pad; tag != 0 {
				if c := l.conns.lookup(tag, events[i].Fd); c != nil {
					l.handle(c, ev)
					if l.draining && c.sess != nil && l.idle(c) {
						l.close(c) // its last exchange is complete
					}
				}
				continue
			}
			switch le, pe := l.e.lookup(fd); {
			case le != nil:
				for range acceptBatch {
					if !l.accept(le) {
						break
					}
				}
			case pe != nil:
				l.datagrams(pe)
			}
		}
		if l.barrier.Load() {
			l.releaseBarriers()
		}
		if !l.draining && l.drainReq.Load() {
			l.draining = true
			l.conns.each(l.drainConn)
		}
		if l.force.Load() {
			l.conns.each(l.close)
		}
		if l.stop.Load() && l.conns.n == 0 {
			return
		}
		if l.now.Sub(lastScan) >= 250*time.Millisecond {
			lastScan = l.now
			l.scan()
		}
	}
}

// scan enforces the timeouts and resumes listeners backed off after EMFILE.
func (l *loop) scan() {
	s := l.e.s
	idle, wt := s.idleTimeout(), s.writeTimeout()
	l.conns.each(func(c *econn) {
		switch {
		case c.writing && l.since(c.lastWrite) > wt:
			c.ctr.drop(CloseWriteTimeout, netip.AddrPortFrom(c.src, 0))
			l.close(c)
		case c.linger != 0 && int32(l.mono-c.linger) > 0:
			l.close(c)
		case idle > 0 && !c.streams && len(c.out) == 0 && c.file == nil && l.since(c.lastRead) > idle:
			c.ctr.drop(CloseIdle, netip.AddrPortFrom(c.src, 0))
			l.close(c)
		case len(c.out) == 0 && c.out != nil && l.since(c.lastWrite) > time.Second:
			c.out = nil // a quiet connection gives its output buffer back
		}
	})
	for fd, until := range l.paused {
		if l.now.After(until) {
			delete(l.paused, fd)
			if l.e.listener(fd) != nil {
				l.watchListener(fd)
			}
		}
	}
}

// acceptBatch is the most connections a loop accepts from one listener per
// readiness event. With a connection per request (ab -c 50 against the
// HTTP responder) the queue held several at each wake-up: accepting up to
// 8 took the loop's epoll_wait calls from 1.01 to 0.18 per request, at
// 0.08 accept4 per request that found the queue empty (perf stat). The
// listener is level-triggered, so what is left is reported again.
const acceptBatch = 8

// accept takes one connection from le's queue and serves it; false when
// the queue was empty or accepting failed (try again on the next event).
func (l *loop) accept(le *listenerEntry) bool {
	s := l.e.s
	nfd, src, port, err := rawsys.Accept4(le.fd)
	if err != nil {
		if err == unix.ECONNABORTED {
			return true // that one is gone; others may wait
		}
		if err == unix.EMFILE || err == unix.ENFILE || err == unix.ENOBUFS || err == unix.ENOMEM {
			s.cfg.Logger.Warn("accept failed; pausing this listener for 100ms", "service", le.svc.Name,
				"addr", le.ln.Addr().String(), "err", err, "hint", fdHint(err))
			l.p.Delete(le.fd)
			l.paused[le.fd] = l.now.Add(100 * time.Millisecond)
		}
		return false // EAGAIN, EINTR, or paused
	}
	if reason, ok := s.admit(src); !ok {
		if reason != "" {
			le.ctr.drop(reason, netip.AddrPortFrom(src, uint16(port)))
		}
		rawsys.Close(nfd)
		return true
	}
	le.ctr.accepted()
	var remote netip.AddrPort
	if src.IsValid() {
		remote = netip.AddrPortFrom(src, uint16(port))
	}
	c := l.conns.get()
	c.fd, c.ctr, c.src, c.lastRead, c.lastWrite, c.tcp = int32(nfd), le.ctr, src, l.mono, l.mono, !le.uds
	c.sess = le.svc.Stream.Open(remote)
	_, c.streams = c.sess.(Streamer)
	_, c.sendsFiles = c.sess.(FileSender)
	out, closeAfter := c.sess.Greet(l.scratch[:0])
	c.closeAfter = closeAfter
	c.fullRead = closeAfter // the peer may have sent something we will never read
	if !l.sendLast(c, out, closeAfter) {
		return true
	}
	switch {
	case c.closeAfter && len(c.out) == 0:
		l.finishClose(c)
	case c.streams && !c.closeAfter:
		l.want(c, true)
	case le.deferred && len(out) == 0 && !c.closeAfter:
		// The kernel accepted the connection once its first bytes came
		// (ClientFirst): read them now. A connection per request (HTTP
		// without keep-alive) is then answered and closed without ever
		// joining the epoll set; one that stays open joins it below.
		l.read(c)
	}
	if c.sess != nil { // not closed already
		l.register(c)
	}
	return true
}

// register adds c to the loop's epoll set, watched as want last set (a
// connection joins only once it outlives its accept).
func (l *loop) register(c *econn) {
	c.registered = true
	if err := l.p.AddTag(int(c.fd), l.events(c), c.slot+1); err != nil {
		l.close(c)
	}
}

// events is what c is watched for: readability, or writability while
// output waits (a streamer's input is read and dropped meanwhile).
func (l *loop) events(c *econn) uint32 {
	if !c.writing {
		return poll.In
	}
	if c.streams {
		return poll.Out | poll.In
	}
	return poll.Out
}

// want sets whether c is watched for writability; a connection waiting to
// write is not read (backpressure), except a streamer, whose input is dropped.
func (l *loop) want(c *econn, write bool) {
	if c.writing == write {
		return
	}
	if write {
		c.lastWrite = l.mono // the write timeout runs from here
	}
	c.writing = write
	if c.registered {
		l.p.ModifyTag(int(c.fd), l.events(c), c.slot+1)
	}
}

// send writes p (which may alias the loop's buffers) or keeps what the
// kernel did not take; false when c was closed.
func (l *loop) send(c *econn, p []byte) bool { return l.sendLast(c, p, false) }

// sendLast is send; last says that the connection closes after p, so on
// TCP the kernel may hold p's tail back for the FIN (MSG_MORE), and the
// reply and the FIN leave as one segment (the close or shutdown that
// follows sends both): a connection per request costs the peer one packet
// less to receive.
func (l *loop) sendLast(c *econn, p []byte, last bool) bool {
	if len(p) == 0 {
		return true
	}
	if len(c.out) > 0 {
		c.out = append(c.out, p...)
		return true
	}
	write := rawsys.Write
	if last && c.tcp {
		write = rawsys.WriteMore
	}
	n, err := write(int(c.fd), p)
	if n > 0 {
		c.ctr.out(n)
		c.lastWrite = l.mono
	}
	c.corked = last && c.tcp && n == len(p)
	if err != nil && err != unix.EAGAIN {
		l.close(c)
		return false
	}
	if n < 0 {
		n = 0
	}
	if n < len(p) {
		// Kept for reuse while the connection is busy (bulk transfers write
		// partially all the time); scan frees it once the connection is quiet.
		c.out = append(c.out[:0], p[n:]...)
		l.want(c, true)
	}
	return true
}

func (l *loop) handle(c *econn, ev uint32) {
	if ev&poll.Out != 0 {
		if !l.flush(c) {
			return
		}
	}
	if c.file != nil {
		// Input waits until the file body is sent; a peer that hung up or
		// failed cannot take the rest.
		if ev&(poll.Hup|poll.Err) != 0 {
			l.close(c)
		}
		return
	}
	if ev&(poll.In|poll.Hup|poll.Err|poll.RDHup) != 0 {
		l.read(c)
	}
}

// flush writes pending output; then streams more for a streamer.
func (l *loop) flush(c *econn) bool {
	for len(c.out) > 0 {
		n, err := rawsys.Write(int(c.fd), c.out)
		if n > 0 {
			c.ctr.out(n)
			rest := copy(c.out, c.out[n:]) // keep the buffer's start for reuse
			c.out = c.out[:rest]
			c.lastWrite = l.mono
		}
		if err == unix.EAGAIN {
			return true
		}
		if err != nil {
			l.close(c)
			return false
		}
	}
	if c.file != nil {
		if !l.sendFile(c) {
			return false
		}
		if c.file != nil || len(c.out) > 0 {
			return true
		}
	}
	switch {
	case c.closeAfter || c.eof:
		l.finishClose(c)
		return false
	case c.streams:
		// Generate while the kernel takes it; a few rounds, then let the
		// other connections have the thread.
		for range 4 {
			out := c.streamer().Stream(l.scratch[:0])
			if !l.send(c, out) {
				return false
			}
			if len(c.out) > 0 {
				return true
			}
		}
		return true
	}
	l.want(c, false)
	return true
}

func (l *loop) read(c *econn) {
	n, err := rawsys.Read(int(c.fd), l.buf)
	if err == unix.EAGAIN || err == unix.EINTR {
		return
	}
	if n <= 0 {
		if err == nil && c.linger != 0 || err != nil {
			l.close(c)
			return
		}
		// EOF: the peer half-closed. Everything it sent is answered; FIN
		// once the output is written.
		c.eof = true
		if len(c.out) == 0 {
			l.finishClose(c)
		}
		return
	}
	c.lastRead = l.mono
	c.fullRead = n == len(l.buf)
	c.ctr.in(n)
	if c.streams || c.linger != 0 || c.closeAfter {
		return // input is dropped
	}
	if !c.drained && l.drainReq.Load() {
		// Read after shutdown began: the session knows before it answers
		// (HTTP: with Connection: close), even if this loop has not yet
		// gone through its connections.
		c.drained = true
		tellDrain(c.sess)
	}
	out, closeAfter := c.sess.Receive(l.buf[:n], l.scratch[:0])
	if c.replies < 2 {
		c.replies++
	}
	if c.replies == 2 && !c.nodelay && c.tcp && len(out) > 0 {
		c.nodelay = true
		// A conversation: small replies must not wait for ACKs (Nagle).
		// One-shot connections never pay for the setsockopt.
		unix.SetsockoptInt(int(c.fd), unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	if !l.sendLast(c, out, closeAfter) {
		return
	}
	if c.sendsFiles {
		l.takeFile(c)
	}
	if closeAfter {
		c.closeAfter = true
		if len(c.out) == 0 && c.file == nil {
			l.finishClose(c)
		}
	}
}

// takeFile starts sending the file body the session asks for, if any, once
// the output before it is written.
func (l *loop) takeFile(c *econn) {
	f, off, n := c.sess.(FileSender).TakeFile()
	if f == nil {
		return
	}
	c.file = &fileSend{f: f, off: off, left: n}
	l.want(c, true)
}

// sendFile sends the file body with sendfile(2), at most a few MiB per
// turn so other connections get the thread; at its end the session
// resumes. False when c was closed.
func (l *loop) sendFile(c *econn) bool {
	for range 4 {
		if c.file.left == 0 {
			break
		}
		n, err := unix.Sendfile(int(c.fd), int(c.file.f.Fd()), &c.file.off, int(min(c.file.left, 1<<20)))
		if n > 0 {
			c.ctr.out(n)
			c.file.left -= int64(n)
			c.lastWrite = l.mono
		}
		if err == unix.EAGAIN {
			return true
		}
		if err != nil || n == 0 {
			l.close(c) // n == 0: the file shrank under us
			return false
		}
	}
	if c.file.left > 0 {
		return true // the socket still takes more: on the next turn
	}
	c.file = nil
	out, closeAfter := c.sess.(FileSender).Resume(l.scratch[:0], nil)
	if !l.send(c, out) {
		return false
	}
	l.takeFile(c)
	if closeAfter {
		c.closeAfter = true
	}
	return true
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

// finishClose ends a connection whose output is all written: at once when
// no input waits (FIN follows the reply), else FIN first and the input read
// and dropped until the peer closes or a second passes, so unread input
// cannot turn the close into a reset that destroys the reply. Input can
// only wait when the last read filled the buffer, or when the service
// greets and closes without reading; only then is it checked (FIONREAD).
//
// A reply held back for the FIN (MSG_MORE) leaves with it on a shutdown
// before the close: input arriving after the last read (an extra CRLF, a
// pipelined request) would make the close a reset, and a reset drops the
// reply the kernel still holds, where one already sent reaches the peer.
func (l *loop) finishClose(c *econn) {
	shut := c.eof || c.corked
	if shut {
		unix.Shutdown(int(c.fd), unix.SHUT_WR)
	}
	if c.eof || !c.fullRead {
		l.close(c)
		return
	}
	if v, err := unix.IoctlGetInt(int(c.fd), unix.SIOCINQ); err == nil && v == 0 {
		l.close(c)
		return
	}
	if !shut {
		unix.Shutdown(int(c.fd), unix.SHUT_WR)
	}
	c.linger = max(l.mono+1000, 1) // 0 is none
	c.closeAfter = false
	c.streams = false
	l.want(c, false)
}

func (l *loop) close(c *econn) {
	if c.sess == nil {
		return // closed already
	}
	rawsys.Close(int(c.fd)) // also leaves the epoll set
	if c.sendsFiles {
		endFile(c.sess.(FileSender), c.file != nil)
		c.file = nil
	}
	ctr, src := c.ctr, c.src
	l.conns.put(c)
	ctr.closed()
	l.e.s.release(src)
}

// serveStream serves ln on the event loops until the server closes, or on
// the goroutine engine when ln has no descriptor the loops can use.
func (e *loopEngine) serveStream(ln net.Listener, svc Service, ctr *counters) error {
	sc, ok := ln.(syscall.Conn)
	if _, hasFD := listenerFD(ln); !ok || !hasFD {
		return e.g.serveStream(ln, svc, ctr)
	}
	err := e.registerHeld(sc, func(fd int) error { return e.add(ln, fd, svc, ctr) }, func() { e.removeListener(ln) })
	if err != nil {
		if e.s.isClosing() {
			return ErrServerClosed
		}
		return err
	}
	<-e.s.closed // stopListening removes ln from the loops, then closes it
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
		e.removeListener(c)
	case net.PacketConn:
		e.removePacket(c)
	}
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

// drainConn closes c if it is idle, else tells its session that this
// exchange is its last.
func (l *loop) drainConn(c *econn) {
	if l.idle(c) {
		l.close(c)
		return
	}
	if !c.drained {
		c.drained = true
		tellDrain(c.sess)
	}
}

// idle reports whether closing c now cuts no exchange short: its session
// says it is between exchanges, all its output is written and no input
// waits (a request that arrived while shutdown began is read and answered,
// with Connection: close).
func (l *loop) idle(c *econn) bool {
	id, ok := c.sess.(Idler)
	if !ok || len(c.out) > 0 || c.file != nil || c.closeAfter || c.linger != 0 || !id.Idle() {
		return false
	}
	v, err := unix.IoctlGetInt(int(c.fd), unix.SIOCINQ)
	return err == nil && v == 0
}
