package server

import (
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/poll"
	"github.com/sockit/sockit/internal/rawsys"
)

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

// streamer returns c's session as a Streamer.
func (c *econn) streamer() Streamer { return c.sess.(Streamer) }

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
	if ev&(poll.In|poll.Hup|poll.Err|poll.RDHup) != 0 || l.between(c) {
		l.read(c)
	}
}

// between reports whether c is a Producer between pieces of output: all
// written, more may be ready. It is watched for writability only, so its
// input is read here, between pieces (an HTTP/2 peer's WINDOW_UPDATE,
// PING or next request during a long body); a read that finds nothing
// costs one EAGAIN per few pieces.
func (l *loop) between(c *econn) bool {
	return c.writing && len(c.out) == 0 && c.file == nil && !c.closeAfter && c.linger == 0 && c.sess != nil && produces(c)
}

// produces reports whether c's session is a Producer. It is asked, not
// kept: a flag would take econn past 112 bytes (see TestEconnSize), and
// the question costs a few nanoseconds where it is asked.
func produces(c *econn) bool {
	_, ok := c.sess.(Producer)
	return ok
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
	case produces(c):
		return l.produce(c)
	}
	l.want(c, false)
	return true
}

// produce asks a Producer for more output while the kernel takes all of
// it, a few pieces per turn; when more may be ready, c is watched for
// writability and comes back after the other connections. False when c was
// closed.
func (l *loop) produce(c *econn) bool {
	p := c.sess.(Producer)
	for range 4 {
		if len(c.out) > 0 || c.file != nil || c.closeAfter || c.linger != 0 {
			return true // the kernel has not taken the last piece yet
		}
		out, closeAfter := p.More(l.scratch[:0])
		if len(out) == 0 && !closeAfter {
			l.want(c, false)
			return true
		}
		if !c.nodelay && c.tcp {
			// Pieces of one output: Nagle would hold each behind the
			// peer's ACK of the last (1 ms a piece, measured on loopback).
			c.nodelay = true
			unix.SetsockoptInt(int(c.fd), unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
		}
		if !l.sendLast(c, out, closeAfter) {
			return false
		}
		if closeAfter {
			c.closeAfter = true
			if len(c.out) == 0 {
				l.finishClose(c)
				return false
			}
			return true
		}
	}
	l.want(c, true)
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
	if c.linger != 0 && lingerMode(c.sess) == LingerAlways && l.since(c.lastWrite) < l.e.s.writeTimeout() {
		// A Lingerer's peer that still sends is still reading what it was
		// sent (HTTP/2's WINDOW_UPDATE): wait on, up to the write timeout.
		c.linger = max(l.mono+uint32(lingerSilence/time.Millisecond), 1)
	}
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
		return
	}
	if produces(c) {
		l.produce(c)
	}
}
