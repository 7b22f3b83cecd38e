package server

import (
	"net/netip"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/rawsys"
)

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
	mode := lingerMode(c.sess)
	talks := !c.eof && mode == LingerAlways // the peer may be sending still
	if c.eof || mode == LingerNever || !c.fullRead && !talks {
		l.close(c)
		return
	}
	if v, err := unix.IoctlGetInt(int(c.fd), unix.SIOCINQ); err == nil && v == 0 && !talks {
		l.close(c)
		return
	}
	if !shut {
		unix.Shutdown(int(c.fd), unix.SHUT_WR)
	}
	c.linger = max(l.mono+1000, 1) // 0 is none
	if talks {
		c.linger = max(l.mono+uint32(lingerSilence/time.Millisecond), 1)
	}
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
	if en, ok := c.sess.(Ender); ok {
		if reason := en.End(); reason != "" {
			ctr.drop(reason, netip.AddrPortFrom(src, 0))
		}
	}
	l.conns.put(c)
	ctr.closed()
	l.e.s.release(src)
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
		// A Producer may have something to say first (HTTP/2's GOAWAY);
		// once it is written the connection may be idle already.
		if produces(c) && l.produce(c) && l.idle(c) {
			l.close(c)
		}
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
