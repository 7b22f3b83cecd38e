package server

import (
	"net/netip"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/poll"
	"github.com/sockit/sockit/internal/rawsys"
)

// loop is one event loop: an OS thread running epoll over its own
// connections and, with UDP, its share of the packet sockets.
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
	// batches (see quiesce), and have it run a task there (see do).
	barrierMu sync.Mutex
	barriers  []chan struct{}
	tasks     []func(*loop)
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

// do runs fn on l's thread, between event batches, and returns once it
// has run (or the loop has ended).
func (l *loop) do(fn func(*loop)) {
	ch := make(chan struct{})
	l.barrierMu.Lock()
	l.tasks = append(l.tasks, fn)
	l.barriers = append(l.barriers, ch)
	l.barrierMu.Unlock()
	l.barrier.Store(true)
	l.wake()
	select {
	case <-ch:
	case <-l.done:
	}
}

// releaseBarriers runs the tasks given to do, then lets every quiesce and
// do waiting on l return.
func (l *loop) releaseBarriers() {
	l.barrierMu.Lock()
	l.barrier.Store(false)
	tasks, barriers := l.tasks, l.barriers
	l.tasks, l.barriers = nil, nil
	l.barrierMu.Unlock()
	for _, fn := range tasks {
		fn(l)
	}
	for _, ch := range barriers {
		close(ch)
	}
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
		case c.ctr.tls && c.sess.(*tlsSession).expired(l.now):
			c.sess.(*tlsSession).timedOut()
			l.close(c)
		// A Producer between pieces of output (writing, nothing held) is
		// not idle: the write timeout watches it.
		case idle > 0 && !c.streams && !c.writing && len(c.out) == 0 && c.file == nil && l.since(c.lastRead) > idle:
			c.ctr.drop(CloseIdle, netip.AddrPortFrom(c.src, 0))
			l.close(c)
		case len(c.out) == 0 && c.out != nil && l.since(c.lastWrite) > time.Second:
			c.out = nil // a quiet connection gives its output buffer back
		}
	})
	for fd, until := range l.paused {
		if l.now.After(until) {
			delete(l.paused, fd)
			if le := l.e.listener(fd); le != nil && !le.unwatched.Load() {
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
	l.adopt(le, nfd, src, port)
	return true
}

// adopt serves nfd, a connection accepted on le (by the loop, or taken
// from le's queue at shutdown), from src and port.
func (l *loop) adopt(le *listenerEntry, nfd int, src netip.Addr, port int) {
	s := l.e.s
	if reason, ok := s.admit(src); !ok {
		if reason != "" {
			le.ctr.drop(reason, netip.AddrPortFrom(src, uint16(port)))
		}
		rawsys.Close(nfd)
		return
	}
	le.ctr.accepted()
	var remote netip.AddrPort
	if src.IsValid() {
		remote = netip.AddrPortFrom(src, uint16(port))
	}
	c := l.conns.get()
	c.fd, c.ctr, c.src, c.lastRead, c.lastWrite, c.tcp = int32(nfd), le.ctr, src, l.mono, l.mono, !le.uds
	c.sess = le.svc.Stream.Open(remote)
	if le.ctr.tls {
		c.sess.(*tlsSession).ctr = le.ctr
	}
	_, c.streams = c.sess.(Streamer)
	_, c.sendsFiles = c.sess.(FileSender)
	out, closeAfter := c.sess.Greet(l.scratch[:0])
	c.closeAfter = closeAfter
	c.fullRead = closeAfter // the peer may have sent something we will never read
	if !l.sendLast(c, out, closeAfter) {
		return
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
	if l.draining && c.sess != nil {
		l.drainConn(c) // accepted during shutdown: its first exchange is its last
	}
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
