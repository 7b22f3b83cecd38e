package bench

import (
	"bytes"
	"context"
	"errors"
	"net"
	"runtime"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/poll"
	"github.com/sockit/sockit/internal/rawsys"
)

// The event-loop engine drives plain-HTTP and TCP/unix echo benchmarks the
// way wrk does: each loop is one OS thread running epoll over its share of
// the connections, with non-blocking sockets and one read per readiness
// event. It spends no goroutine park, no netpoller round trip and no
// speculative read per response, which is where the goroutine engine loses
// to wrk in client CPU. Open-model runs (--rate), TLS and the other raw
// protocols use the goroutine engine.

// loopTarget is what the loop engine needs to know of a target.
type loopTarget struct {
	sa      unix.Sockaddr
	family  int
	request []byte // HTTP request bytes, or the echo payload
	http    bool
	head    bool // HEAD requests: no body in responses
	keep    bool
}

// loopEligible reports whether cfg can run on the event loops, and how.
func loopEligible(cfg *Config, info targetInfo, newWorker func(int) worker) (*loopTarget, bool) {
	if cfg.Rate > 0 || cfg.Warmup > 0 {
		return nil, false
	}
	switch w := newWorker(0).(type) {
	case *httpWorker:
		if w.t.tls != nil {
			return nil, false
		}
		sa, fam, ok := sockaddr(w.t.network, w.t.addr)
		if !ok {
			return nil, false
		}
		return &loopTarget{sa: sa, family: fam, request: w.t.req, http: true, head: w.t.head, keep: cfg.KeepAlive}, true
	case *rawWorker:
		if cfg.Proto != "echo" || w.t.e.IsPacket() {
			return nil, false
		}
		sa, fam, ok := sockaddr(w.t.e.Network, w.t.e.Address)
		if !ok {
			return nil, false
		}
		return &loopTarget{sa: sa, family: fam, request: w.payload, keep: cfg.KeepAlive}, true
	}
	return nil, false
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

// Response parse states.
const (
	psHead = iota
	psBody
	psChunkSize
	psChunkData
	psChunkEnd
	psTrailer
	psClose
	psEcho
)

type lconn struct {
	fd         int
	connecting bool
	wrote      int // request bytes written
	buf        []byte
	n, off     int
	state      int
	left       int64
	status     int
	keepAlive  bool
	reused     bool
	gotByte    bool
	start      time.Time // request start (connect start for a new connection)
	sent       time.Time
	deadline   time.Time
	s          sample
	active     bool // a request is in flight
}

type loop struct {
	t      *loopTarget
	cfg    *Config
	p      *poll.Poller
	conns  []*lconn // by file descriptor
	st     *Result
	issued *atomic.Int64
	done   *atomic.Int64
	failed *atomic.Int64
	start  time.Time
	now    time.Time
	server bool
}

func runLoop(ctx context.Context, t *loopTarget, cfg *Config, slots int, st *Result, issued, done, failed *atomic.Int64, start time.Time) error {
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
	switch sa := t.sa.(type) {
	case *unix.SockaddrInet4:
		c := *sa
		own.sa = &c
	case *unix.SockaddrInet6:
		c := *sa
		own.sa = &c
	case *unix.SockaddrUnix:
		c := *sa
		own.sa = &c
	}
	t = &own
	l := &loop{t: t, cfg: cfg, p: p, conns: make([]*lconn, 0, 1024), st: st, issued: issued, done: done, failed: failed, start: start}
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
		c := &lconn{buf: make([]byte, 64<<10)}
		if l.next(c) {
			live++
		}
	}
	events := make([]poll.Event, 256)
	lastScan := time.Now()
	for live > 0 {
		if ctx.Err() != nil {
			return nil
		}
		n, err := p.Wait(events, 100)
		if err != nil {
			return err
		}
		now := time.Now()
		l.now = now
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
				if c != nil && c.active && now.After(c.deadline) {
					if !l.finish(c, FailTimeout, now) {
						live--
					}
				}
			}
		}
	}
	return nil
}

func (l *loop) conn(fd int) *lconn {
	if fd < len(l.conns) {
		return l.conns[fd]
	}
	return nil
}

// next starts the next request on slot c; false when the run is over for it.
func (l *loop) next(c *lconn) bool {
	for {
		if l.issued.Add(1) > l.cfg.Requests {
			l.drop(c)
			return false
		}
		c.s = sample{}
		c.active = true
		c.start = l.now // the time of this batch of events: one clock read per batch
		c.deadline = c.start.Add(l.cfg.Timeout)
		if c.fd > 0 {
			c.reused = true
			c.s.keptAlive = true
			if l.send(c) {
				return true
			}
			// The kept-alive connection is gone: one retry on a new one.
			l.drop(c)
		}
		c.reused = false
		if err := l.connect(c); err != nil {
			l.record(c, FailConnect, l.now)
			continue
		}
		return true
	}
}

func (l *loop) connect(c *lconn) error {
	fd, err := unix.Socket(l.t.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if l.t.family != unix.AF_UNIX {
		unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	}
	err = unix.Connect(fd, l.t.sa)
	if err != nil && err != unix.EINPROGRESS && err != unix.EAGAIN {
		unix.Close(fd)
		return err
	}
	c.fd, c.connecting = fd, true
	c.n, c.off, c.state, c.wrote, c.gotByte = 0, 0, psHead, 0, false
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
	c.state = psHead
	if !l.t.http {
		c.state = psEcho
		c.left = int64(len(l.t.request))
	}
	c.wrote = 0
	return l.flush(c)
}

func (l *loop) flush(c *lconn) bool {
	for c.wrote < len(l.t.request) {
		n, err := rawsys.Write(c.fd, l.t.request[c.wrote:])
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
	if c.fd > 0 {
		l.conns[c.fd] = nil
		rawsys.Close(c.fd) // also leaves the epoll set
		c.fd = 0
	}
	c.n, c.off = 0, 0
}

// event handles readiness of c; false when its slot has finished.
func (l *loop) event(c *lconn, ev uint32, now time.Time) bool {
	if c.connecting {
		if ev&(unix.EPOLLOUT|unix.EPOLLERR|unix.EPOLLHUP) == 0 {
			return true
		}
		if e, _ := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR); e != 0 || ev&unix.EPOLLERR != 0 {
			l.drop(c)
			return l.finish(c, FailConnect, now)
		}
		c.connecting = false
		c.s.connect = now.Sub(c.start)
		l.p.Modify(c.fd, poll.In)
		if !l.send(c) {
			l.drop(c)
			return l.finish(c, FailWrite, now)
		}
		return true
	}
	if ev&unix.EPOLLOUT != 0 && c.wrote < len(l.t.request) {
		if !l.flush(c) {
			l.drop(c)
			return l.finish(c, FailWrite, now)
		}
		if c.wrote == len(l.t.request) {
			l.p.Modify(c.fd, poll.In)
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		return true
	}
	if c.n == len(c.buf) {
		// A head larger than the buffer: grow, bounded.
		if len(c.buf) >= 1<<20 {
			l.drop(c)
			return l.finish(c, FailRead, now)
		}
		c.buf = append(c.buf, make([]byte, len(c.buf))...)
	}
	n, err := rawsys.Read(c.fd, c.buf[c.n:])
	if err == unix.EAGAIN {
		return true
	}
	if n <= 0 {
		eof := err == nil
		if eof && c.state == psClose {
			l.drop(c)
			return l.finish(c, l.statusKind(c), now)
		}
		if eof && c.reused && !c.gotByte && c.state == psHead {
			// The server closed an idle kept-alive connection: retry.
			l.drop(c)
			if err := l.connect(c); err != nil {
				return l.finish(c, FailConnect, now)
			}
			c.reused = false
			return true
		}
		l.drop(c)
		if eof && (c.state == psBody || c.state == psEcho) {
			return l.finish(c, FailLength, now)
		}
		return l.finish(c, FailRead, now)
	}
	if !c.gotByte {
		c.gotByte = true
		c.s.wait = now.Sub(c.sent)
	}
	c.s.received += int64(n)
	c.n += n
	complete, kind := l.advance(c)
	if !complete {
		if c.off == c.n {
			c.off, c.n = 0, 0
		}
		return true
	}
	// Keep any bytes beyond this response (there should be none).
	copy(c.buf, c.buf[c.off:c.n])
	c.n -= c.off
	c.off = 0
	if kind != "" || !c.keepAlive || !l.t.keep {
		l.drop(c)
	}
	return l.finish(c, kind, now)
}

// finish records the request on c and starts the next; false when the slot
// has no more requests.
func (l *loop) finish(c *lconn, kind string, now time.Time) bool {
	if kind != "" && c.fd > 0 {
		l.drop(c)
	}
	l.record(c, kind, now)
	return l.next(c)
}

func (l *loop) record(c *lconn, kind string, now time.Time) {
	c.active = false
	l.st.record(&c.s, kind, now.Sub(c.start), now.Sub(l.start))
	l.done.Add(1)
	if kind != "" {
		l.failed.Add(1)
	}
}

var errMalformed = errors.New("malformed response")

// advance parses what has arrived; it reports a complete response and its
// failure kind ("" for a 2xx).
func (l *loop) advance(c *lconn) (bool, string) {
	for {
		avail := c.buf[c.off:c.n]
		switch c.state {
		case psEcho:
			k := min(int64(len(avail)), c.left)
			want := l.t.request[int64(len(l.t.request))-c.left:]
			if !bytes.Equal(avail[:k], want[:k]) {
				return true, FailVerify
			}
			c.off += int(k)
			c.s.body += k
			c.left -= k
			c.keepAlive = true
			return c.left == 0, ""
		case psHead:
			end := bytes.Index(avail, []byte("\r\n\r\n"))
			if end < 0 {
				return false, ""
			}
			if err := l.parseHead(c, avail[:end+2]); err != nil {
				return true, FailRead
			}
			c.off += end + 4
		case psBody:
			if !c.consume(avail) {
				return false, ""
			}
			return true, l.statusKind(c)
		case psClose:
			c.s.body += int64(len(avail))
			c.off = c.n
			return false, ""
		case psChunkSize, psTrailer:
			i := bytes.IndexByte(avail, '\n')
			if i < 0 {
				return false, ""
			}
			line := bytes.TrimRight(avail[:i], "\r")
			c.off += i + 1
			if c.state == psTrailer {
				if len(line) == 0 {
					return true, l.statusKind(c)
				}
				continue
			}
			size, ok := chunkSize(line)
			if !ok {
				return true, FailRead
			}
			if size == 0 {
				c.state = psTrailer
			} else {
				c.state, c.left = psChunkData, size
			}
		case psChunkData:
			if !c.consume(avail) {
				return false, ""
			}
			c.state = psChunkEnd
		case psChunkEnd:
			i := bytes.IndexByte(avail, '\n')
			if i < 0 {
				return false, ""
			}
			c.off += i + 1
			c.state = psChunkSize
		}
	}
}

// consume takes up to c.left body bytes from avail; it reports whether the
// body (or chunk) is complete.
func (c *lconn) consume(avail []byte) bool {
	k := min(int64(len(avail)), c.left)
	c.off += int(k)
	c.s.body += k
	c.left -= k
	return c.left == 0
}

func (l *loop) statusKind(c *lconn) string {
	c.s.status = c.status
	if c.status < 200 || c.status > 299 {
		c.s.non2xx = true
		return FailStatus
	}
	return ""
}

func (l *loop) parseHead(c *lconn, head []byte) error {
	nl := bytes.IndexByte(head, '\n')
	if nl < 12 || !bytes.HasPrefix(head, []byte("HTTP/1.")) {
		return errMalformed
	}
	c.status = int(head[9]-'0')*100 + int(head[10]-'0')*10 + int(head[11]-'0')
	h := framing{cl: -1, keep: head[7] == '1'}
	for rest := head[nl+1:]; len(rest) > 0; {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			break
		}
		if v := h.field(bytes.TrimRight(rest[:i], "\r"), !l.server); v != nil {
			c.s.server, l.server = string(v), true
		}
		rest = rest[i+1:]
	}
	c.keepAlive = h.keep
	cl, chunked := h.cl, h.chunked
	switch {
	case l.t.head || c.status/100 == 1 || c.status == 204 || c.status == 304:
		c.state, c.left = psBody, 0
	case chunked:
		c.state = psChunkSize
	case cl >= 0:
		c.state, c.left = psBody, cl
	default:
		c.state, c.keepAlive = psClose, false
	}
	return nil
}

// chunkSize reads a chunk-size line (its line end already cut off): hex
// digits, then perhaps ";extensions", which are ignored.
func chunkSize(line []byte) (int64, bool) {
	if j := bytes.IndexByte(line, ';'); j >= 0 {
		line = line[:j]
	}
	return parseHex(bytes.TrimSpace(line))
}

func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, ch := range b {
		switch {
		case '0' <= ch && ch <= '9':
			n = n<<4 | int64(ch-'0')
		case 'a' <= ch && ch <= 'f':
			n = n<<4 | int64(ch-'a'+10)
		case 'A' <= ch && ch <= 'F':
			n = n<<4 | int64(ch-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}
