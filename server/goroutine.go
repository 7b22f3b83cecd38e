package server

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// goEngine, Config.Engine "goroutine", gives every stream connection its
// own goroutine and every datagram socket one reader goroutine: Go's
// netpoller does the waiting. It serves any net.Listener and
// net.PacketConn, which is why the loop engine hands it what it cannot
// take (listeners without a file descriptor, unixgram sockets).
//
// Shutdown reaches a connection's goroutine through a read deadline in
// the past (as miekg/dns does): the blocked read returns, the goroutine
// sees the engine draining, and closes the connection if it is idle or
// tells its session (Idler.Drain) otherwise. Sessions stay on their one
// goroutine throughout.
type goEngine struct {
	s        *Server
	draining atomic.Bool

	mu        sync.Mutex
	conns     map[net.Conn]struct{}
	listeners map[net.Listener]*goListener // being served, for unwatch and release
	released  map[net.Listener]struct{}    // released before their Serve call began
	forced    bool                         // closeConns ran: a connection started now closes at once
}

// goListener is what serves one listener's connections.
type goListener struct {
	svc Service
	ctr *counters
	// unwatched: unwatch has begun to stop the accept loop (under the
	// engine's mu), and release follows. Then acceptEnded is closed when
	// the loop has left Accept for good, and released when release has
	// closed the listener and started what it took from the queue.
	unwatched             bool
	acceptEnded, released chan struct{}
}

func newGoEngine(s *Server) *goEngine {
	return &goEngine{s: s, conns: make(map[net.Conn]struct{}),
		listeners: make(map[net.Listener]*goListener), released: make(map[net.Listener]struct{})}
}

// serveStream accepts until the listener closes. Accept errors such as
// running out of file descriptors are logged and retried with backoff;
// others are returned.
func (e *goEngine) serveStream(ln net.Listener, svc Service, ctr *counters) error {
	s := e.s
	gl := &goListener{svc: svc, ctr: ctr, acceptEnded: make(chan struct{}), released: make(chan struct{})}
	e.mu.Lock()
	if _, gone := e.released[ln]; gone {
		delete(e.released, ln)
		e.mu.Unlock()
		return ErrServerClosed
	}
	e.listeners[ln] = gl
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		delete(e.listeners, ln)
		e.mu.Unlock()
	}()
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				e.mu.Lock()
				unwatched := gl.unwatched
				e.mu.Unlock()
				if unwatched {
					close(gl.acceptEnded)
					<-gl.released
				}
				return ErrServerClosed
			}
			if isTemporaryAccept(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.cfg.Logger.Warn("accept failed; retrying", "service", svc.Name, "addr", ln.Addr().String(),
					"err", err, "hint", fdHint(err), "retry_in", backoff)
				t := time.NewTimer(backoff)
				select {
				case <-t.C:
				case <-s.closed:
					t.Stop()
				}
				continue
			}
			return err
		}
		backoff = 0
		e.start(c, svc, ctr)
	}
}

// start admits an accepted connection and serves it on a goroutine of its
// own.
func (e *goEngine) start(c net.Conn, svc Service, ctr *counters) {
	s := e.s
	remote := remoteAddrPort(c.RemoteAddr())
	src := remote.Addr()
	if reason, ok := s.admit(src); !ok {
		if reason != "" {
			ctr.drop(reason, remote)
		}
		c.Close()
		return
	}
	ctr.accepted()
	e.mu.Lock()
	e.conns[c] = struct{}{}
	if e.forced {
		c.Close() // admitted as closeConns ran: it ends with the rest
	}
	e.mu.Unlock()
	go func() {
		defer func() {
			ctr.closed()
			e.mu.Lock()
			delete(e.conns, c)
			e.mu.Unlock()
			s.release(src)
		}()
		if h, ok := svc.Stream.(*tlsHandler); ok {
			e.serveTLS(c, h, remote, ctr)
			return
		}
		e.serveConn(c, svc.Stream.Open(remote), ctr)
	}()
}

func (e *goEngine) servePacket(pc net.PacketConn, svc Service, ctr *counters) error {
	return e.s.servePacketConn(pc, svc.Packet, ctr)
}

// unwatch ends a listener's accept loop: a deadline in the past wakes its
// Accept, which then sees the server closing. It returns once the loop has
// left Accept, which held the descriptor: release's close then closes it
// at once, right after its last accept, not whenever the woken goroutine
// is next scheduled (the connections that completed their handshake in
// between were reset). A listener without deadlines keeps its loop until
// release closes it.
func (e *goEngine) unwatch(c io.Closer) {
	ln, ok := c.(net.Listener)
	if !ok {
		return
	}
	e.mu.Lock()
	gl := e.listeners[ln]
	if gl != nil {
		gl.unwatched = true
	}
	e.mu.Unlock()
	d, ok := ln.(interface{ SetDeadline(time.Time) error })
	if gl == nil || !ok || d.SetDeadline(aLongTimeAgo) != nil {
		return
	}
	<-gl.acceptEnded
}

// release closes a listener, taking what its queue holds as it closes
// (with graceful) and starting each of those connections as the accept
// loop does (which may still take some itself until the close). Once stop
// is closed the grace is over: what is not started yet is closed.
func (e *goEngine) release(c io.Closer, graceful bool, stop <-chan struct{}) {
	ln, ok := c.(net.Listener)
	if !ok {
		c.Close()
		return
	}
	e.mu.Lock()
	gl := e.listeners[ln]
	if gl == nil {
		e.released[ln] = struct{}{} // its Serve call, when it begins, ends at once
	}
	e.mu.Unlock()
	if gl == nil {
		ln.Close()
		return
	}
	defer close(gl.released)
	q := closeQueued(ln, graceful, stop)
	for i, qc := range q {
		select {
		case <-stop:
			for _, qc := range q[i:] {
				syscall.Close(qc.fd)
			}
			return
		default:
		}
		f := os.NewFile(uintptr(qc.fd), "")
		conn, err := net.FileConn(f) // a duplicate in Go's poller
		f.Close()
		if err != nil {
			continue
		}
		e.start(conn, gl.svc, gl.ctr)
	}
}

// aLongTimeAgo is a read deadline that has passed: it wakes a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

func (e *goEngine) drain() {
	e.draining.Store(true) // before the deadlines: see serveConn
	e.mu.Lock()
	defer e.mu.Unlock()
	for c := range e.conns {
		c.SetReadDeadline(aLongTimeAgo)
	}
}

func (e *goEngine) closeConns() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.forced = true
	for c := range e.conns {
		c.Close()
	}
}

// stop has nothing to end: every goroutine of the engine belongs to a
// connection or a Serve call, and the server waited for them.
func (e *goEngine) stop() {}

// bufSize is the read and generate buffer a busy connection borrows.
const bufSize = 16 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, bufSize); return &b }}

// reader reads from a stream connection without holding a buffer while it
// waits: the buffer is taken from the pool only once the socket is
// readable, inside the RawConn callback, and handed back if the read would
// block.
type reader struct {
	c   net.Conn // used directly when it has no RawConn (in-memory conns)
	rc  syscall.RawConn
	buf *[]byte
	n   int
	err error
	fn  func(fd uintptr) bool
}

func newReader(c net.Conn) *reader {
	r := &reader{c: c}
	if sc, ok := c.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			r.rc = rc
			r.fn = r.try // bound once: no closure allocated per read
		}
	}
	return r
}

func (r *reader) try(fd uintptr) bool {
	if r.buf == nil {
		r.buf = bufPool.Get().(*[]byte)
	}
	n, err := syscall.Read(int(fd), *r.buf)
	if err == syscall.EAGAIN {
		bufPool.Put(r.buf)
		r.buf = nil
		return false
	}
	if err == syscall.EINTR {
		return false
	}
	r.n, r.err = n, err
	if n == 0 && err == nil {
		r.err = io.EOF
	}
	if n < 0 {
		r.n = 0
	}
	return true
}

// read waits for data and returns it in a pooled buffer, which the caller
// gives back with done.
func (r *reader) read() ([]byte, error) {
	if r.rc == nil {
		r.buf = bufPool.Get().(*[]byte)
		n, err := r.c.Read(*r.buf)
		if n == 0 {
			r.done()
			return nil, err
		}
		return (*r.buf)[:n], err
	}
	if err := r.rc.Read(r.fn); err != nil {
		r.done()
		return nil, err
	}
	if r.err != nil {
		r.done()
		return nil, r.err
	}
	return (*r.buf)[:r.n], nil
}

func (r *reader) done() {
	if r.buf != nil {
		bufPool.Put(r.buf)
		r.buf = nil
	}
}

// serveConn drives one session over c until either side is done, or the
// server drains and the session is idle.
func (e *goEngine) serveConn(c net.Conn, sess Session, ctr *counters) {
	s := e.s
	defer c.Close()
	if en, ok := sess.(Ender); ok {
		defer func() {
			if reason := en.End(); reason != "" {
				ctr.drop(reason, peerAddr(c))
			}
		}()
	}
	write := func(p []byte) bool {
		if len(p) == 0 {
			return true
		}
		c.SetWriteDeadline(s.cfg.Now().Add(s.writeTimeout()))
		n, err := c.Write(p)
		ctr.out(n)
		countWriteTimeout(c, err, ctr)
		return err == nil
	}

	scratch := bufPool.Get().(*[]byte)
	out, closeAfter := sess.Greet((*scratch)[:0])
	ok := write(out)
	if st, streams := sess.(Streamer); streams && ok && !closeAfter {
		// Generate while the peer takes it; TCP flow control paces us, the
		// write timeout ends a peer that stopped reading. Input is dropped
		// by the kernel-side close.
		var peerDone atomic.Bool
		go discardInput(c, &peerDone)
		for !peerDone.Load() && write(st.Stream((*scratch)[:0])) {
		}
		bufPool.Put(scratch)
		return
	}
	bufPool.Put(scratch)
	if !ok {
		return
	}
	if closeAfter {
		e.lingerClose(c, sess)
		return
	}

	// produce writes what a Producer has ready beyond its replies, piece
	// by piece, each write paced by the peer; false when the connection
	// failed or is to close.
	prod, produces := sess.(Producer)
	produce := func(scratch *[]byte) bool {
		for {
			out, closeAfter := prod.More((*scratch)[:0])
			if !write(out) {
				return false
			}
			if closeAfter {
				e.lingerClose(c, sess)
				return false
			}
			if len(out) == 0 {
				return true
			}
		}
	}

	r := newReader(c)
	idle := s.idleTimeout()
	var deadlineSet time.Time
	lastRead := s.cfg.Now()
	drained := false // this connection has seen the engine draining
	for {
		if idle > 0 {
			// Moving the deadline costs a timer update; do it only when a
			// noticeable part of the idle period has passed.
			if now := s.cfg.Now(); now.Sub(deadlineSet) > idle/16 {
				c.SetReadDeadline(now.Add(idle))
				deadlineSet = now
			}
		}
		// Checked after the deadline is set: drain stores the flag before
		// it moves the deadline into the past, so either this sees the
		// flag or the read below is woken.
		if !drained && e.draining.Load() {
			drained = true
			if idleNow(sess, c) {
				return
			}
			tellDrain(sess)
			if produces {
				scratch := bufPool.Get().(*[]byte)
				ok := produce(scratch)
				bufPool.Put(scratch)
				if !ok || idleNow(sess, c) {
					return
				}
			}
		}
		in, err := r.read()
		if len(in) > 0 {
			if !drained && e.draining.Load() {
				// Read after shutdown began: the session knows before it
				// answers (HTTP: with Connection: close).
				drained = true
				tellDrain(sess)
			}
			lastRead = s.cfg.Now()
			ctr.in(len(in))
			scratch := bufPool.Get().(*[]byte)
			out, closeAfter := sess.Receive(in, (*scratch)[:0])
			ok := write(out)
			if fs, files := sess.(FileSender); files {
				if ok {
					ok = e.sendFiles(c, fs, scratch, &closeAfter, ctr)
				}
				if !ok {
					endFile(fs, false)
				}
			}
			if ok && !closeAfter && produces && !produce(scratch) {
				ok, closeAfter = false, false // closed by produce, or failed
			}
			bufPool.Put(scratch)
			r.done()
			if !ok {
				return
			}
			if closeAfter {
				e.lingerClose(c, sess)
				return
			}
			if drained && idleNow(sess, c) {
				return // the last exchange is complete
			}
		}
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && e.draining.Load() &&
				(idle <= 0 || s.cfg.Now().Sub(lastRead) < idle) {
				// Woken by drain, not by the idle timeout: read on under
				// the connection's own deadline.
				deadlineSet = time.Time{}
				if idle <= 0 {
					c.SetReadDeadline(time.Time{})
				}
				continue
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				ctr.drop(CloseIdle, peerAddr(c))
			}
			if errors.Is(err, io.EOF) {
				// The peer half-closed: everything it sent is answered.
				if cw, ok := c.(interface{ CloseWrite() error }); ok {
					cw.CloseWrite()
				}
			}
			return
		}
	}
}

// sendFiles sends the file bodies sess asks for, each followed by what
// it answers on resuming; false when the connection failed.
func (e *goEngine) sendFiles(c net.Conn, fs FileSender, scratch *[]byte, closeAfter *bool, ctr *counters) bool {
	for {
		f, off, n := fs.TakeFile()
		if f == nil {
			return true
		}
		err := e.copyFile(c, f, off, n, ctr)
		countWriteTimeout(c, err, ctr)
		out, ca := fs.Resume((*scratch)[:0], err)
		if err != nil {
			return false
		}
		*closeAfter = *closeAfter || ca
		if len(out) > 0 {
			c.SetWriteDeadline(e.s.cfg.Now().Add(e.s.writeTimeout()))
			k, err := c.Write(out)
			ctr.out(k)
			if err != nil {
				countWriteTimeout(c, err, ctr)
				return false
			}
		}
	}
}

// copyFile writes n bytes of f from off to c, in pieces so the write
// timeout bounds each piece rather than the whole file. A TCP connection
// sends them with sendfile(2) (net.TCPConn.ReadFrom of a limited *os.File).
func (e *goEngine) copyFile(c net.Conn, f *os.File, off, n int64, ctr *counters) error {
	if _, err := f.Seek(off, io.SeekStart); err != nil {
		return err
	}
	for n > 0 {
		c.SetWriteDeadline(e.s.cfg.Now().Add(e.s.writeTimeout()))
		k, err := io.Copy(c, io.LimitReader(f, min(n, 1<<20)))
		n -= k
		ctr.out(int(k))
		if err != nil {
			return err
		}
		if k == 0 {
			return io.ErrUnexpectedEOF // the file shrank under us
		}
	}
	return nil
}

// countWriteTimeout counts c's end if err is its write deadline passing.
func countWriteTimeout(c net.Conn, err error, ctr *counters) {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		ctr.drop(CloseWriteTimeout, peerAddr(c))
	}
}

// peerAddr is c's peer address without its port, as the loops keep it: a
// timed-out connection is logged with its address alone.
func peerAddr(c net.Conn) netip.AddrPort {
	return netip.AddrPortFrom(remoteAddrPort(c.RemoteAddr()).Addr(), 0)
}

// tellDrain tells sess, if it can listen, that its exchange is the last.
func tellDrain(sess Session) {
	if d, ok := sess.(Idler); ok {
		d.Drain()
	}
}

// idleNow reports whether closing c now cuts no exchange short: its session
// says it is between exchanges and no input waits to be read.
func idleNow(sess Session, c net.Conn) bool {
	id, ok := sess.(Idler)
	return ok && id.Idle() && pendingInput(c) <= 0
}

// lingerClose ends a connection whose reply is complete. Closing a socket
// with unread input makes the kernel send a reset, which can destroy the
// reply still in flight; so when input is waiting, send FIN first and read
// (and drop) what the peer sends until it closes, at most a second. When
// nothing is waiting — the usual case, checked with one FIONREAD — the
// plain close sends FIN after the reply and costs nothing more. A
// Lingerer's close always waits so, for up to 5 s of silence from the peer
// and the write timeout in all (see lingerSilence), when it lingers always.
func (e *goEngine) lingerClose(c net.Conn, sess Session) {
	mode := lingerMode(sess)
	talks := mode == LingerAlways
	if mode == LingerNever || pendingInput(c) == 0 && !talks {
		return // the caller's Close sends FIN after the queued reply
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	silence := time.Second
	if talks {
		silence = lingerSilence
	}
	start := time.Now()
	end := start.Add(silence)
	c.SetReadDeadline(end)
	var b [512]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) && time.Now().Before(end) {
				c.SetReadDeadline(end) // moved by drain: the linger keeps its time
				continue
			}
			return
		}
		if talks && time.Since(start) < e.s.writeTimeout() {
			end = time.Now().Add(silence)
			c.SetReadDeadline(end)
		}
	}
}

// discardInput reads and drops input until the connection closes
// (chargen, whose RFC says received data is thrown away). A read deadline
// set by drain does not end it: chargen is never idle. The peer's end of
// its input (a FIN, or TLS's close_notify) sets peerDone, which ends the
// stream, as the loop engine ends it.
func discardInput(c net.Conn, peerDone *atomic.Bool) {
	var b [512]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				c.SetReadDeadline(time.Time{})
				continue
			}
			if err == io.EOF {
				peerDone.Store(true)
			}
			return
		}
	}
}

// lingerMode is how sess's connection closes (see Lingerer).
func lingerMode(sess Session) Linger {
	if lg, ok := sess.(Lingerer); ok {
		return lg.Linger()
	}
	return LingerIfWaiting
}

// pendingInput returns the bytes waiting to be read on c, or -1 if unknown.
func pendingInput(c net.Conn) int {
	if tc, ok := c.(*tls.Conn); ok {
		// What waits in the kernel, under TLS: unread input there is
		// what would turn a close into a reset.
		c = tc.NetConn()
		if ac, ok := c.(*alertConn); ok {
			c = ac.Conn
		}
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return -1
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	n := -1
	rc.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), fionread); err == nil {
			n = v
		}
	})
	return n
}
