package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"time"

	"golang.org/x/net/http2/hpack"
	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/poll"
	"github.com/sockit/sockit/internal/rawsys"
	"github.com/sockit/sockit/proto/httpraw"
)

// The event-loop engine drives HTTP, HTTPS and TCP/unix echo benchmarks the
// way wrk does: each loop is one OS thread running epoll over its share of
// the connections, with non-blocking sockets and one read per readiness
// event. It spends no goroutine park, no netpoller round trip and no
// speculative read per response, which is where the goroutine engine loses
// to wrk in client CPU. At a --rate a slot whose next request is not yet
// due is parked, and epoll_wait sleeps until the first due one. It does
// not speak datagrams or the raw protocols other than echo: those need
// --engine goroutine. HTTPS is looptls_linux.go's.

// loopTarget is what the loop engine needs to know of a target.
type loopTarget struct {
	sa       unix.Sockaddr
	family   int
	request  []byte // HTTP request bytes, or the echo payload
	http     bool
	head     bool // HEAD requests: no body in responses
	keep     bool
	network  string // for the error of a failed connect, as the goroutine engine's
	addr     string
	local    unix.Sockaddr       // -B: bound before connecting; nil for none
	tls      *tls.Config         // https: every connection's (looptls_linux.go)
	h2       bool                // HTTP/2 (looph2_linux.go)
	h2fields []hpack.HeaderField // HTTP/2: the request's fields
	body     []byte              // HTTP/2: the request's body
	dialer   net.Dialer          // https: connects on Go's netpoller, from -B's address
}

// connectErr is a failed connect's error in net's form, as a dial says it.
func (t *loopTarget) connectErr(err error) error {
	return &net.OpError{Op: "dial", Net: t.network, Addr: textAddr(t.addr), Err: err}
}

// timeoutErr is a request's -s running out, in net's form: in the
// connect, or waiting for the answer.
func (t *loopTarget) timeoutErr(connecting bool) error {
	op := "read"
	if connecting {
		op = "dial"
	}
	return &net.OpError{Op: op, Net: t.network, Addr: textAddr(t.addr), Err: os.ErrDeadlineExceeded}
}

// ioErr is a read's or write's error on a connection, in net's form.
func (t *loopTarget) ioErr(op string, err error) error {
	if err == nil {
		err = io.ErrShortWrite // a write of nothing, without an error
	}
	return &net.OpError{Op: op, Net: t.network, Addr: textAddr(t.addr), Err: os.NewSyscallError(op, err)}
}

// textAddr is an address already written out, as a net.Addr.
type textAddr string

func (a textAddr) Network() string { return "" }
func (a textAddr) String() string  { return string(a) }

// loopTargetFor says how cfg runs on the event loops, or why it cannot:
// the reason names what the loops do not speak.
func loopTargetFor(cfg *Config, newWorker func(int) worker) (*loopTarget, string) {
	switch w := newWorker(0).(type) {
	case *httpWorker:
		sa, fam, ok := sockaddr(w.t.network, w.t.addr)
		if !ok {
			return nil, "a target address that does not resolve"
		}
		lt := &loopTarget{sa: sa, family: fam, request: w.t.req, http: true, head: w.t.head, keep: cfg.KeepAlive,
			network: w.t.network, addr: w.t.addr, local: localSockaddr(w.t.local), tls: w.t.tls}
		lt.dialer.LocalAddr = w.t.local
		lt.h2, lt.h2fields, lt.body = cfg.HTTP2, w.t.h2fields, cfg.Body
		return lt, ""
	case *rawWorker:
		if w.t.e.IsPacket() {
			return nil, w.t.e.Network + " (datagrams)"
		}
		if cfg.Proto != "echo" {
			return nil, cfg.Proto + " (only echo)"
		}
		sa, fam, ok := sockaddr(w.t.e.Network, w.t.e.Address)
		if !ok {
			return nil, "a target address that does not resolve"
		}
		lt := &loopTarget{sa: sa, family: fam, request: w.payload, keep: cfg.KeepAlive,
			network: w.t.e.Network, addr: w.t.e.Address}
		if w.t.local != nil {
			lt.local = localSockaddr(&net.TCPAddr{IP: w.t.local})
		}
		return lt, ""
	}
	return nil, "this target"
}

// localSockaddr is -B's address (port 0) for bind(2); nil for none.
func localSockaddr(a net.Addr) unix.Sockaddr {
	ta, ok := a.(*net.TCPAddr)
	if !ok || ta == nil {
		return nil
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{}
		copy(sa.Addr[:], ip4)
		return sa
	}
	sa := &unix.SockaddrInet6{}
	copy(sa.Addr[:], ta.IP.To16())
	return sa
}

// sockaddr resolves once, before the run; names are resolved here, not per
// connection, as ab and wrk do.
func sockaddr(network, addr string) (unix.Sockaddr, int, bool) {
	if network == "unix" {
		return &unix.SockaddrUnix{Name: addr}, unix.AF_UNIX, true
	}
	ta, err := net.ResolveTCPAddr(network, addr)
	if err != nil {
		return nil, 0, false
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		sa := &unix.SockaddrInet4{Port: ta.Port}
		copy(sa.Addr[:], ip4)
		return sa, unix.AF_INET, true
	}
	sa := &unix.SockaddrInet6{Port: ta.Port}
	copy(sa.Addr[:], ta.IP.To16())
	return sa, unix.AF_INET6, true
}

// A connection's read buffer starts small and doubles, up to maxReadBuf,
// while reads fill it: at -c 10000 with small responses the buffers are
// most of the client's memory (64 KiB each, one page touched: 64 MiB of
// RSS against wrk's 53; 2 KiB each: see perf/compare).
const (
	initialReadBuf = 2 << 10
	maxReadBuf     = 64 << 10
)

type lconn struct {
	fd         int // -1 when the slot has no connection
	connecting bool
	wrote      int // request bytes written
	buf        []byte
	n, off     int
	f          httpraw.Framer // HTTP: the shared framer
	left       int64          // echo: bytes still to come back
	reused     bool
	gotByte    bool
	start      time.Time // request start (or scheduled time at a --rate)
	connStart  time.Time
	sent       time.Time
	deadline   time.Time
	s          sample
	reply      replyNote // HTTP: how the reply began
	notHTTP    bool      // HTTP: the reply is not an HTTP response (replyNote)
	active     bool      // a request is in flight
	warm       bool      // the request in flight is a warm-up one (not recorded)
	// https: the connection's TLS over the loop's buffers, and whether
	// its handshake is under way on a goroutine (looptls_linux.go).
	tc          *tls.Conn
	pipe        *tlsPipe
	handshaking bool
}

type loop struct {
	t      *loopTarget
	cfg    *Config
	p      *poll.Poller
	conns  []*lconn // by file descriptor
	st     *tally
	bud    *budget
	now    time.Time
	server bool
	// At a --rate: the slots waiting for their next request's scheduled
	// time (spare is the other buffer).
	parked, spare []*lconn
	slots         []*lconn
	ctx           context.Context
	hs            handshakes // https
	raw           []byte     // https: ciphertext read, shared by the loop's connections
}

func runLoop(ctx context.Context, t *loopTarget, cfg *Config, slots int, st *tally, bud *budget) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p, err := poll.New()
	if err != nil {
		return err
	}
	defer p.Close()
	// A unix.Sockaddr keeps a scratch buffer that Connect writes: each loop
	// needs its own.
	own := *t
	own.sa, own.local = copySockaddr(t.sa), copySockaddr(t.local)
	t = &own
	l := &loop{t: t, cfg: cfg, p: p, conns: make([]*lconn, 0, 1024), st: st, bud: bud, ctx: ctx}
	if t.tls != nil {
		l.raw = make([]byte, maxReadBuf)
	}
	defer l.closeHandshakes() // after the sockets' close below: a handshake under way ends with the run's context
	defer func() {
		for fd, c := range l.conns {
			if c != nil {
				unix.Close(fd)
			}
		}
	}()
	live := 0
	l.now = time.Now()
	for range slots {
		c := &lconn{fd: -1, buf: make([]byte, initialReadBuf)} // fd -1: none (0 is a valid descriptor)
		c.reply.req = t.request
		c.f.AnswersHEAD = t.head
		l.slots = append(l.slots, c)
		if l.next(c) {
			live++
		}
	}
	events := make([]poll.Event, 256)
	lastScan := time.Now()
	for live > 0 {
		if ctx.Err() != nil {
			for _, c := range l.slots {
				if c.active && !c.warm {
					bud.cut.Add(1) // in flight at the end of the run
				}
			}
			return nil
		}
		waitMs := 100
		if l.bud.interval > 0 {
			l.now = time.Now()
			finished, d := l.unpark(l.now)
			if live -= finished; live == 0 {
				break
			}
			waitMs = int((d + time.Millisecond - 1) / time.Millisecond)
		}
		n, err := p.Wait(events, waitMs)
		if err != nil {
			return err
		}
		now := time.Now()
		l.now = now
		if t.tls != nil {
			live -= l.handshaken()
		}
		for i := range n {
			c := l.conn(int(events[i].Fd))
			if c == nil {
				continue
			}
			if !l.event(c, events[i].Events, now) {
				live--
			}
		}
		if now.Sub(lastScan) > 50*time.Millisecond {
			lastScan = now
			for _, c := range l.conns {
				if c != nil && c.active && !c.handshaking && now.After(c.deadline) {
					c.s.err = l.t.timeoutErr(c.connecting)
					if !l.finish(c, FailTimeout, now) {
						live--
					}
				}
			}
		}
	}
	return nil
}

// copySockaddr is a copy of sa, with its own scratch buffer.
func copySockaddr(sa unix.Sockaddr) unix.Sockaddr {
	switch sa := sa.(type) {
	case *unix.SockaddrInet4:
		c := *sa
		return &c
	case *unix.SockaddrInet6:
		c := *sa
		return &c
	case *unix.SockaddrUnix:
		c := *sa
		return &c
	}
	return sa
}

func (l *loop) conn(fd int) *lconn {
	if fd < len(l.conns) {
		return l.conns[fd]
	}
	return nil
}

// next starts the next request on slot c; false when the run is over for it.
// At a --rate a request not yet due parks the slot until it is.
func (l *loop) next(c *lconn) bool {
	for {
		warm, due, ok := l.bud.take(l.now)
		if !ok {
			l.drop(c)
			return false
		}
		c.s = sample{}
		c.warm = warm
		c.start = l.now // the time of this batch of events: one clock read per batch
		if l.bud.interval > 0 {
			// Open model: latency runs from the request's scheduled time.
			if due.After(l.now) {
				c.start, c.active = due, false
				l.parked = append(l.parked, c)
				return true
			}
			if lag := l.now.Sub(due); lag > l.st.MaxLag {
				l.st.MaxLag = lag
			}
			c.start = due
		}
		if l.begin(c) {
			return true
		}
	}
}

// begin sends c's request, on its kept-alive connection or a new one; false
// when that failed at once (the failure is recorded).
func (l *loop) begin(c *lconn) bool {
	c.active = true
	c.deadline = l.now.Add(l.cfg.Timeout)
	if c.fd >= 0 {
		c.reused = true
		c.s.keptAlive = !l.t.http // HTTP: counted when the response keeps it open
		if l.send(c) {
			return true
		}
		// The kept-alive connection is gone: one retry on a new one.
		l.drop(c)
	}
	c.reused = false
	if err := l.open(l.ctx, c); err != nil {
		c.s.err = l.t.connectErr(err)
		l.record(c, FailConnect, l.now)
		return false
	}
	return true
}

// unpark begins the parked requests now due; it returns how many slots
// finished (their run is over), and how long until the next is due.
func (l *loop) unpark(now time.Time) (finished int, wait time.Duration) {
	wait = 100 * time.Millisecond
	ready := l.parked
	l.parked, l.spare = l.spare[:0], nil
	for _, c := range ready {
		if d := c.start.Sub(now); d > 0 {
			l.parked = append(l.parked, c)
			wait = min(wait, d)
			continue
		}
		if !l.begin(c) && !l.next(c) {
			finished++
		}
	}
	l.spare = ready[:0]
	return finished, wait
}

func (l *loop) connect(c *lconn) error {
	fd, err := unix.Socket(l.t.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if l.t.family != unix.AF_UNIX {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	if l.t.local != nil {
		if err := unix.Bind(fd, l.t.local); err != nil {
			unix.Close(fd)
			return os.NewSyscallError("bind", err)
		}
	}
	err = unix.Connect(fd, l.t.sa)
	if err != nil && err != unix.EINPROGRESS && err != unix.EAGAIN {
		unix.Close(fd)
		return err
	}
	c.fd, c.connecting, c.connStart = fd, true, l.now
	c.n, c.off, c.wrote, c.gotByte = 0, 0, 0, false
	c.f.Reset()
	for len(l.conns) <= fd {
		l.conns = append(l.conns, nil)
	}
	l.conns[fd] = c
	return l.p.Add(fd, poll.Out|poll.In)
}

// send writes the request; false when the connection is unusable.
func (l *loop) send(c *lconn) bool {
	c.sent = l.now
	c.gotByte = false
	if !l.t.http {
		c.left = int64(len(l.t.request))
	} else {
		c.reply.reset()
		c.notHTTP = false
	}
	c.wrote = 0
	if c.tc != nil {
		n, err := c.tc.Write(l.t.request)
		c.wrote, c.s.sent = n, c.s.sent+int64(n)
		if err != nil {
			c.s.err = l.t.ioErr("write", err)
			return false
		}
	}
	return l.flush(c)
}

// unsent reports whether c has request bytes the socket has not taken.
func (l *loop) unsent(c *lconn) bool {
	if c.tc != nil {
		return c.pipe.sent < len(c.pipe.out)
	}
	return c.wrote < len(l.t.request)
}

// read reads c's next bytes into p: from the socket, or through TLS.
func (l *loop) read(c *lconn, p []byte) (int, error) {
	if c.tc != nil {
		return l.readTLS(c, p)
	}
	return rawsys.Read(c.fd, p)
}

func (l *loop) flush(c *lconn) bool {
	if c.tc != nil {
		return l.flushTLS(c)
	}
	for c.wrote < len(l.t.request) {
		n, err := rawsys.Write(c.fd, l.t.request[c.wrote:])
		if err != nil && err != unix.EAGAIN || err == nil && n <= 0 {
			c.s.err = l.t.ioErr("write", err)
		}
		if err == unix.EAGAIN {
			l.p.Modify(c.fd, poll.Out|poll.In)
			return true
		}
		if err != nil || n <= 0 {
			return false
		}
		c.wrote += n
		c.s.sent += int64(n)
	}
	return true
}

func (l *loop) drop(c *lconn) {
	if c.fd >= 0 {
		l.conns[c.fd] = nil
		rawsys.Close(c.fd) // also leaves the epoll set
		c.fd = -1
	}
	c.tc, c.pipe = nil, nil
	c.n, c.off = 0, 0
}

// event handles readiness of c; false when its slot has finished.
func (l *loop) event(c *lconn, ev uint32, now time.Time) bool {
	if !c.active {
		// The idle kept-alive connection of a slot parked until its next
		// request is due: the server closed it (or sent bytes unasked).
		// Drop it; the request connects anew when due.
		l.drop(c)
		return true
	}
	if c.connecting {
		if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return true
		}
		if e, _ := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); e != 0 || ev&unix.EPOLLERR != 0 {
			if e != 0 {
				c.s.err = l.t.connectErr(os.NewSyscallError("connect", unix.Errno(e)))
			}
			return l.finish(c, FailConnect, now)
		}
		c.connecting = false
		c.s.connect = now.Sub(c.connStart)
		l.p.Modify(c.fd, poll.In)
		if !l.send(c) {
			return l.finish(c, FailWrite, now)
		}
		return true
	}
	if ev&unix.EPOLLOUT != 0 && l.unsent(c) {
		if !l.flush(c) {
			return l.finish(c, FailWrite, now)
		}
		if !l.unsent(c) {
			l.p.Modify(c.fd, poll.In)
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		return true
	}
	var kind string
	for {
		if c.n == len(c.buf) && c.off > 0 {
			// A line begun at the end of the buffer: move it to the front.
			c.n = copy(c.buf, c.buf[c.off:c.n])
			c.off = 0
		}
		if c.n == len(c.buf) {
			// A line longer than the buffer: grow; the framer bounds lines.
			if len(c.buf) >= 1<<20 {
				c.s.err = errors.New("a line of the response is longer than 1 MiB")
				return l.finish(c, FailRead, now)
			}
			c.buf = append(c.buf, make([]byte, len(c.buf))...)
		}
		n, err := l.read(c, c.buf[c.n:])
		if err == unix.EAGAIN {
			return true
		}
		if n <= 0 {
			eof := err == nil
			if eof && l.t.http && (c.notHTTP || c.reply.notHTTP()) {
				// Not an HTTP response, ended by the close (see replyNote).
				l.drop(c)
				c.reply.done(&c.s)
				return l.finish(c, "", now)
			}
			if eof && l.t.http && c.f.EOF() == httpraw.MessageEnd {
				// A body read until the connection closed.
				l.drop(c)
				c.s.setStatus(c.f.Status())
				return l.finish(c, "", now)
			}
			if eof && c.reused && !c.gotByte {
				// The server closed an idle kept-alive connection: retry.
				l.drop(c)
				if err := l.open(l.ctx, c); err != nil {
					return l.finish(c, FailConnect, now)
				}
				c.reused = false
				return true
			}
			switch {
			case !eof && c.tc != nil:
				c.s.err = err // TLS's own error (a bad record, an alert)
			case !eof:
				c.s.err = l.t.ioErr("read", err)
			case l.t.http:
				c.s.err = c.f.Err() // EOF above made it the framer's failure
			default:
				c.s.err = io.ErrUnexpectedEOF // an echo cut short
			}
			if eof && (!l.t.http || c.s.inBody) {
				return l.finish(c, FailLength, now)
			}
			return l.finish(c, FailRead, now)
		}
		if !c.gotByte {
			c.gotByte = true
			c.s.wait = now.Sub(c.sent)
		}
		c.s.received += int64(n)
		if l.t.http {
			c.reply.note(c.buf[c.n : c.n+n])
		}
		c.n += n
		if c.n == len(c.buf) && len(c.buf) < maxReadBuf {
			// The read filled the buffer: more is on its way (a large body, a
			// bulk echo); read more per call from now on.
			c.buf = append(c.buf, make([]byte, len(c.buf))...)
		}
		var complete bool
		complete, kind = l.advance(c)
		if complete && c.notHTTP {
			l.drop(c)
			c.reply.done(&c.s)
			return l.finish(c, "", now)
		}
		if complete {
			break
		}
		if c.off == c.n {
			c.off, c.n = 0, 0
		}
		if c.tc == nil {
			return true // level-triggered: the next event reads on
		}
		// TLS: tls may hold more of what was read; read on until it
		// needs the socket.
	}
	c.keepInput()
	// Keep any bytes beyond this response (there should be none).
	copy(c.buf, c.buf[c.off:c.n])
	c.n -= c.off
	c.off = 0
	if l.t.http && !c.f.KeepAlive() || !l.t.keep {
		l.drop(c)
	} else if l.t.http && kind == "" {
		c.s.keptAlive = true // as on the goroutine engine
	}
	return l.finish(c, kind, now)
}

// finish records the request on c and starts the next; false when the slot
// has no more requests. A failed request's connection is dropped here, for
// every caller.
func (l *loop) finish(c *lconn, kind string, now time.Time) bool {
	if kind != "" && c.fd >= 0 {
		l.drop(c)
	}
	l.record(c, kind, now)
	return l.next(c)
}

func (l *loop) record(c *lconn, kind string, now time.Time) {
	c.active = false
	l.bud.noteServer(&c.s)
	if c.warm {
		return // a warm-up request: extra, not recorded, as on the goroutine engine
	}
	l.bud.record(l.st, &c.s, kind, now.Sub(c.start), now.Sub(l.bud.start))
}

// advance reads what has arrived; it reports a complete response (or echo)
// and its failure kind ("" for success).
func (l *loop) advance(c *lconn) (bool, string) {
	if !l.t.http {
		avail := c.buf[c.off:c.n]
		k := min(int64(len(avail)), c.left)
		want := l.t.request[int64(len(l.t.request))-c.left:]
		if !bytes.Equal(avail[:k], want[:k]) {
			c.s.err = echoDiffers(c.s.body, avail[:k], want[:k])
			return true, FailVerify
		}
		c.off += int(k)
		c.s.body += k
		c.left -= k
		return c.left == 0, ""
	}
	if c.notHTTP {
		c.off = c.n // counted, not framed
		return c.reply.echoed(), ""
	}
	for {
		ev, n := c.f.Next(c.buf[c.off:c.n])
		c.off += n
		if ev == httpraw.NeedMore {
			return false, ""
		}
		if c.s.response(ev, &c.f, &l.server) {
			if ev != httpraw.Failed {
				return true, ""
			}
			if c.reply.notHTTP() {
				// Read on until the server closes, or the whole request
				// came back (see replyNote).
				c.notHTTP = true
				c.off = c.n
				return c.reply.echoed(), ""
			}
			c.s.err = c.f.Err()
			return true, FailRead
		}
	}
}
