package server

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

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

// serveConn drives one session over c until either side is done.
func (s *Server) serveConn(c net.Conn, sess Session, ctr *counters) {
	defer c.Close()
	write := func(p []byte) bool {
		if len(p) == 0 {
			return true
		}
		c.SetWriteDeadline(s.cfg.Now().Add(s.writeTimeout()))
		n, err := c.Write(p)
		ctr.out(n)
		return err == nil
	}

	scratch := bufPool.Get().(*[]byte)
	out, closeAfter := sess.Greet((*scratch)[:0])
	ok := write(out)
	if st, streams := sess.(Streamer); streams && ok && !closeAfter {
		// Generate while the peer takes it; TCP flow control paces us, the
		// write timeout ends a peer that stopped reading. Input is dropped
		// by the kernel-side close.
		go drain(c)
		for write(st.Stream((*scratch)[:0])) {
		}
		bufPool.Put(scratch)
		return
	}
	bufPool.Put(scratch)
	if !ok {
		return
	}
	if closeAfter {
		lingerClose(c)
		return
	}

	r := newReader(c)
	idle := s.idleTimeout()
	var deadlineSet time.Time
	for {
		if idle > 0 {
			// Moving the deadline costs a timer update; do it only when a
			// noticeable part of the idle period has passed.
			if now := s.cfg.Now(); now.Sub(deadlineSet) > idle/16 {
				c.SetReadDeadline(now.Add(idle))
				deadlineSet = now
			}
		}
		in, err := r.read()
		if len(in) > 0 {
			ctr.in(len(in))
			scratch := bufPool.Get().(*[]byte)
			out, closeAfter := sess.Receive(in, (*scratch)[:0])
			ok := write(out)
			bufPool.Put(scratch)
			r.done()
			if !ok {
				return
			}
			if closeAfter {
				lingerClose(c)
				return
			}
		}
		if err != nil {
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

// lingerClose ends a connection whose reply is complete. Closing a socket
// with unread input makes the kernel send a reset, which can destroy the
// reply still in flight; so when input is waiting, send FIN first and read
// (and drop) what the peer sends until it closes, at most a second. When
// nothing is waiting — the usual case, checked with one FIONREAD — the
// plain close sends FIN after the reply and costs nothing more.
func lingerClose(c net.Conn) {
	if pendingInput(c) == 0 {
		return // the caller's Close sends FIN after the queued reply
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(time.Second))
	var b [512]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			return
		}
	}
}

// drain reads and drops input until the connection closes (chargen, whose
// RFC says received data is thrown away).
func drain(c net.Conn) {
	var b [512]byte
	for {
		if _, err := c.Read(b[:]); err != nil {
			return
		}
	}
}

// pendingInput returns the bytes waiting to be read on c, or -1 if unknown.
func pendingInput(c net.Conn) int {
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
		if v, err := unix.IoctlGetInt(int(fd), unix.SIOCINQ); err == nil {
			n = v
		}
	})
	return n
}
