package bench

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/rawsys"
)

// HTTPS on the event loops. crypto/tls's handshake cannot be resumed
// after a read that would block (its error is kept), so each new
// connection's TCP connect and handshake run on a goroutine of their own,
// on Go's netpoller; the socket is then handed to the loop (a dup of its
// descriptor), which carries every record after it: tls.Conn reads from
// and writes to a tlsPipe over the loop's buffers, never the socket, so
// the loop keeps one read per readiness event and never blocks. A
// goroutine lives only as long as one handshake; with -k the records of
// every request after the first are the loop's alone. The designs were
// measured side by side (BenchmarkLoopTLS in loop_internal_linux_test.go).

// errWouldBlock is a tlsPipe's read when the loop has no more ciphertext:
// a temporary net.Error, which tls.Conn passes on without keeping it, so
// the next Read goes on where this one stopped.
var errWouldBlock error = wouldBlock{}

type wouldBlock struct{}

func (wouldBlock) Error() string   { return "tls pipe: no input yet" }
func (wouldBlock) Timeout() bool   { return false }
func (wouldBlock) Temporary() bool { return true }

// tlsPipe is the net.Conn a loop's tls.Conn runs over: during the
// handshake the real connection (nc), after it the loop's buffers: in is
// ciphertext read from the socket and not yet taken by tls, out the
// ciphertext tls wrote and the socket has not yet taken.
type tlsPipe struct {
	nc    net.Conn
	in    []byte
	out   []byte
	sent  int  // of out
	eof   bool // the socket reached its end
	short bool // the last socket read did not fill the buffer: nothing more waits
}

func (p *tlsPipe) Read(b []byte) (int, error) {
	if p.nc != nil {
		return p.nc.Read(b)
	}
	if len(p.in) == 0 {
		if p.eof {
			return 0, io.EOF
		}
		return 0, errWouldBlock
	}
	n := copy(b, p.in)
	p.in = p.in[n:]
	return n, nil
}

func (p *tlsPipe) Write(b []byte) (int, error) {
	if p.nc != nil {
		return p.nc.Write(b)
	}
	p.out = append(p.out, b...)
	return len(b), nil
}

func (p *tlsPipe) Close() error {
	if p.nc != nil {
		return p.nc.Close()
	}
	return nil
}

func (p *tlsPipe) LocalAddr() net.Addr                { return nil }
func (p *tlsPipe) RemoteAddr() net.Addr               { return nil }
func (p *tlsPipe) SetDeadline(t time.Time) error      { return p.nc.SetDeadline(t) }
func (p *tlsPipe) SetReadDeadline(t time.Time) error  { return p.nc.SetReadDeadline(t) }
func (p *tlsPipe) SetWriteDeadline(t time.Time) error { return p.nc.SetWriteDeadline(t) }

// handshake is one new TLS connection, made on its own goroutine.
type handshake struct {
	c        *lconn
	h2       *h2conn // the HTTP/2 loop's connection, instead of c
	fd       int     // the loop's descriptor of the socket; -1 on failure
	tc       *tls.Conn
	pipe     *tlsPipe
	err      error
	connect  time.Duration // TCP connect and handshake, ab's Connect
	shake    time.Duration // the handshake alone
	state    tls.ConnectionState
	deadline time.Time
}

// handshakes are a loop's handshakes under way and done.
type handshakes struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	done []*handshake
	d    net.Dialer
}

// open starts a new connection for c: a connect on the loop, or for https
// a connect and handshake on a goroutine (see above).
func (l *loop) open(ctx context.Context, c *lconn) error {
	if l.t.tls == nil {
		return l.connect(c)
	}
	c.fd, c.connecting, c.connStart, c.handshaking = -1, true, l.now, true
	c.n, c.off, c.wrote, c.gotByte = 0, 0, 0, false
	c.f.Reset()
	h := &handshake{c: c, fd: -1, deadline: c.deadline}
	hs := &l.hs
	hs.wg.Go(func() {
		h.run(ctx, l.t, &hs.d)
		hs.mu.Lock()
		hs.done = append(hs.done, h)
		hs.mu.Unlock()
		l.p.Wake()
	})
	return nil
}

func (h *handshake) run(ctx context.Context, t *loopTarget, d *net.Dialer) {
	t0 := time.Now()
	ctx, cancel := context.WithDeadline(ctx, h.deadline)
	defer cancel()
	nc, err := d.DialContext(ctx, t.network, t.addr)
	if err != nil {
		h.err = err
		return
	}
	defer nc.Close() // the loop has its own descriptor of the socket
	t1 := time.Now()
	if t.tls != nil {
		h.pipe = &tlsPipe{nc: nc}
		h.tc = tls.Client(h.pipe, t.tls)
		nc.SetDeadline(h.deadline)
		if err := h.tc.HandshakeContext(ctx); err != nil {
			h.err = err
			return
		}
		h.shake = time.Since(t1)
		h.state = h.tc.ConnectionState()
		if t.h2 && h.state.NegotiatedProtocol != "h2" {
			h.err = fmt.Errorf("the server did not choose HTTP/2 (ALPN h2): it chose %q", h.state.NegotiatedProtocol)
			return
		}
	}
	h.connect = time.Since(t0)
	sc, ok := nc.(syscall.Conn)
	if !ok {
		h.err = errors.New("bench: not a socket")
		return
	}
	rc, err := sc.SyscallConn()
	if err == nil {
		cerr := rc.Control(func(fd uintptr) {
			h.fd, err = unix.FcntlInt(fd, unix.F_DUPFD_CLOEXEC, 0)
		})
		err = errors.Join(err, cerr)
	}
	if err != nil {
		h.err, h.fd = err, -1
		return
	}
	if h.pipe != nil {
		h.pipe.nc = nil
	}
}

// handshaken takes the finished handshakes into the loop; it returns how
// many slots finished (their run is over).
func (l *loop) handshaken() (finished int) {
	hs := &l.hs
	hs.mu.Lock()
	done := hs.done
	hs.done = nil
	hs.mu.Unlock()
	for _, h := range done {
		c := h.c
		c.handshaking = false
		if h.err != nil {
			c.s.err = h.err
			if !l.finish(c, classify(h.err, FailConnect), l.now) {
				finished++
			}
			continue
		}
		c.fd, c.connecting, c.tc, c.pipe = h.fd, false, h.tc, h.pipe
		for len(l.conns) <= h.fd {
			l.conns = append(l.conns, nil)
		}
		l.conns[h.fd] = c
		c.s.connect = h.connect
		c.s.handshook(h.shake, &h.state)
		if err := l.p.Add(h.fd, unix.EPOLLIN); err != nil {
			c.s.err = err
			if !l.finish(c, FailConnect, l.now) {
				finished++
			}
			continue
		}
		if !l.send(c) && !l.finish(c, FailWrite, l.now) {
			finished++
		}
	}
	return finished
}

// closeHandshakes waits for the handshakes under way (the run is over:
// its context ends them) and closes the sockets they made.
func (l *loop) closeHandshakes() {
	l.hs.wg.Wait()
	for _, h := range l.hs.done {
		if h.fd >= 0 {
			unix.Close(h.fd)
		}
	}
	l.hs.done = nil
}

// readTLS reads plaintext from c's TLS connection into p (tlsRead).
func (l *loop) readTLS(c *lconn, p []byte) (int, error) { return tlsRead(c.tc, c.pipe, c.fd, l.raw, p) }

// tlsRead reads plaintext from tc into p: what tls has, else the socket's
// (fd) next bytes, read into raw (the loop's) and decrypted. It returns
// unix.EAGAIN when nothing more can be had without waiting, (0, nil) at
// the end.
func tlsRead(tc *tls.Conn, pipe *tlsPipe, fd int, raw, p []byte) (int, error) {
	for {
		n, err := tc.Read(p)
		if n > 0 {
			return n, nil
		}
		switch {
		case err == io.EOF:
			return 0, nil
		case err != errWouldBlock:
			return 0, err
		case pipe.short:
			pipe.short = false // the socket was drained: wait for the next event
			return 0, unix.EAGAIN
		}
		m, err := rawsys.Read(fd, raw)
		if err == unix.EAGAIN {
			return 0, err
		}
		if m <= 0 {
			if err != nil {
				return 0, err
			}
			pipe.eof = true
			continue
		}
		pipe.in, pipe.short = raw[:m], m < len(raw)
	}
}

// keepInput copies ciphertext tls has not taken yet out of the loop's
// shared buffer, before another connection's read reuses it, at the end of
// a response; the next event reads the socket first (short is of this
// event's reads: left set, the next event would end on it unread, and
// epoll report it again).
func (c *lconn) keepInput() {
	if c.pipe == nil {
		return
	}
	c.pipe.short = false
	if len(c.pipe.in) > 0 {
		c.pipe.in = append([]byte(nil), c.pipe.in...)
	}
}

// flushTLS writes the ciphertext tls made; false when the connection is
// unusable.
func (l *loop) flushTLS(c *lconn) bool {
	p := c.pipe
	for p.sent < len(p.out) {
		n, err := rawsys.Write(c.fd, p.out[p.sent:])
		if err == unix.EAGAIN {
			l.p.Modify(c.fd, unix.EPOLLOUT|unix.EPOLLIN)
			return true
		}
		if err != nil || n <= 0 {
			c.s.err = l.t.ioErr("write", err)
			return false
		}
		p.sent += n
	}
	p.out, p.sent = p.out[:0], 0
	return true
}
