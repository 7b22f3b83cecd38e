package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/poll"
	"github.com/sockit/sockit/internal/rawsys"
)

// HTTP/2 on the event loops, as h2load loads a server: each of a loop's
// connections carries up to Streams requests at a time, each a stream;
// the framing is x/net/http2's Framer and the header blocks x/net/http2/
// hpack's (never by hand). A connection (h2c with prior knowledge, or h2
// chosen by ALPN over TLS) is made as https's are (looptls_linux.go: a
// goroutine connects, and handshakes, then hands the socket over), after
// which the loop alone reads and writes it. The loop sends the preface,
// SETTINGS (no push, a stream window of 1 GiB) and a connection
// WINDOW_UPDATE to the same, as h2load does, and returns what it reads in
// WINDOW_UPDATEs once half is used. A GOAWAY lets the streams up to its
// last id finish; the ones after it, which the server never saw, start
// again on a new connection (their latency counting from their first
// start), as a client retries them.

// h2Window is the stream and connection window the loop gives the server.
const h2Window = 1<<30 - 1

// h2stream is one request on a connection.
type h2stream struct {
	id      uint32
	warm    bool
	start   time.Time // the request's start (or scheduled time)
	sent    time.Time
	gotByte bool
	s       sample
}

// h2conn is one connection of the HTTP/2 loop.
type h2conn struct {
	fd         int // -1 while (re)connecting
	tc         *tls.Conn
	pipe       *tlsPipe
	fr         *http2.Framer
	src        frameSource
	wbuf       bytes.Buffer // frames made, not yet written
	pend       []byte       // h2c: bytes the socket has not taken
	in         []byte       // plaintext read, from off to n
	off, n     int
	dec        *hpack.Decoder
	enc        *hpack.Encoder
	hbuf       bytes.Buffer
	cur        *h2stream // the stream whose header block dec is decoding
	streams    map[uint32]*h2stream
	nextID     uint32
	max        int   // streams at a time: Streams, or fewer if the server says so
	window     int64 // what the server may send us before our next WINDOW_UPDATE
	sendWin    int64 // what we may send (request bodies), connection level
	streamWin  int64 // the server's initial stream window
	goingAway  bool
	lastID     uint32
	retry      []*h2stream // to start again on the next connection
	connecting bool
	fresh      bool // no request has been counted on this connection yet
	connect    time.Duration
	shake      time.Duration
	state      *tls.ConnectionState
	done       int64 // requests completed on this connection
	parked     int   // requests parked for it (at a --rate)
	deadline   time.Time
}

// frameSource is the Framer's reader: the frame the loop has checked is
// whole in the buffer.
type frameSource struct{ b []byte }

func (f *frameSource) Read(p []byte) (int, error) {
	if len(f.b) == 0 {
		return 0, errWouldBlock
	}
	n := copy(p, f.b)
	f.b = f.b[n:]
	return n, nil
}

// h2parked is a request taken for a connection whose time has not come
// (at a --rate).
type h2parked struct {
	c    *h2conn
	warm bool
	due  time.Time
}

type h2loop struct {
	*loop
	hconns  []*h2conn // by file descriptor
	all     []*h2conn
	parked  []h2parked
	over    bool // the budget is spent
	streams []int64
}

func runLoopH2(ctx context.Context, t *loopTarget, cfg *Config, conns int, st *tally, bud *budget) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p, err := poll.New()
	if err != nil {
		return err
	}
	defer p.Close()
	l := &h2loop{loop: &loop{t: t, cfg: cfg, p: p, st: st, bud: bud, ctx: ctx, raw: make([]byte, maxReadBuf)}}
	defer l.closeHandshakes()
	defer func() {
		for _, c := range l.all {
			if c.fd >= 0 {
				unix.Close(c.fd)
				l.st.StreamsPerConn = append(l.st.StreamsPerConn, c.done)
			}
		}
	}()
	l.now = time.Now()
	for range conns {
		c := &h2conn{fd: -1}
		l.all = append(l.all, c)
		l.open(c)
	}
	events := make([]poll.Event, 256)
	lastScan := l.now
	for !l.finished() {
		if ctx.Err() != nil {
			for _, c := range l.all {
				for _, s := range c.streams {
					if !s.warm {
						bud.cut.Add(1)
					}
				}
			}
			return nil
		}
		wait := 100 * time.Millisecond
		if len(l.parked) > 0 {
			l.now = time.Now()
			wait = l.unpark()
		}
		n, err := p.Wait(events, int((wait+time.Millisecond-1)/time.Millisecond))
		if err != nil {
			return err
		}
		l.now = time.Now()
		l.handshaken2()
		for i := range n {
			fd := int(events[i].Fd)
			if fd < len(l.hconns) && l.hconns[fd] != nil {
				l.event(l.hconns[fd], events[i].Events)
			}
		}
		if l.now.Sub(lastScan) > 50*time.Millisecond {
			lastScan = l.now
			l.expire()
		}
	}
	return nil
}

// finished: the budget is spent and nothing is under way.
func (l *h2loop) finished() bool {
	if !l.over || len(l.parked) > 0 {
		return false
	}
	for _, c := range l.all {
		if len(c.streams) > 0 || len(c.retry) > 0 || c.connecting {
			return false
		}
	}
	return true
}

// open starts a connection for c on a goroutine (as https's).
func (l *h2loop) open(c *h2conn) {
	c.fd, c.connecting, c.tc, c.pipe = -1, true, nil, nil
	c.deadline = l.now.Add(l.cfg.Timeout)
	h := &handshake{h2: c, fd: -1, deadline: c.deadline}
	hs := &l.hs
	hs.wg.Go(func() {
		h.run(l.ctx, l.t, &hs.d)
		hs.mu.Lock()
		hs.done = append(hs.done, h)
		hs.mu.Unlock()
		l.p.Wake()
	})
}

// handshaken2 takes the connections made into the loop.
func (l *h2loop) handshaken2() {
	hs := &l.hs
	hs.mu.Lock()
	done := hs.done
	hs.done = nil
	hs.mu.Unlock()
	for _, h := range done {
		c := h.h2
		c.connecting = false
		if h.err != nil {
			l.connectFailed(c, h.err)
			continue
		}
		c.fd, c.tc, c.pipe = h.fd, h.tc, h.pipe
		for len(l.hconns) <= c.fd {
			l.hconns = append(l.hconns, nil)
		}
		l.hconns[c.fd] = c
		c.connect, c.shake, c.fresh = h.connect, h.shake, true
		c.state = nil
		if h.tc != nil {
			st := h.state
			c.state = &st
		}
		if err := l.p.Add(c.fd, unix.EPOLLIN); err != nil {
			l.connectFailed(c, err)
			continue
		}
		l.start(c)
	}
}

// connectFailed fails the requests waiting for c's connection (or, if
// none, the next one of the budget) as connect failures, then tries again
// while the budget lasts.
func (l *h2loop) connectFailed(c *h2conn, err error) {
	kind := classify(err, FailConnect)
	waiting := c.retry
	c.retry = nil
	if len(waiting) == 0 && !l.over {
		warm, due, ok := l.bud.take(l.now)
		if !ok {
			l.over = true
		} else {
			waiting = append(waiting, &h2stream{warm: warm, start: due})
		}
	}
	for _, s := range waiting {
		s.s.err = err
		l.record(s, kind)
	}
	if !l.over || len(c.retry) > 0 {
		l.open(c)
	}
}

// start sets up a new connection: the preface, SETTINGS and the window,
// then as many streams as it may carry.
func (l *h2loop) start(c *h2conn) {
	c.wbuf.Reset()
	c.pend, c.in, c.off, c.n = c.pend[:0], make([]byte, 32<<10), 0, 0
	c.src.b = nil
	c.fr = http2.NewFramer(&c.wbuf, &c.src)
	c.fr.SetMaxReadFrameSize(1 << 20)
	c.dec = hpack.NewDecoder(4096, func(f hpack.HeaderField) { l.field(c, f) })
	c.dec.SetMaxStringLength(64 << 10)
	c.enc = hpack.NewEncoder(&c.hbuf)
	c.streams, c.nextID, c.max = map[uint32]*h2stream{}, 1, max(l.cfg.Streams, 1)
	c.window, c.sendWin, c.streamWin = h2Window, 65535, 65535
	c.goingAway, c.lastID, c.done = false, 0, 0
	c.wbuf.WriteString(http2.ClientPreface)
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingEnablePush, Val: 0},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2Window})
	c.fr.WriteWindowUpdate(0, h2Window-65535)
	retry := c.retry
	c.retry = nil
	for _, s := range retry {
		l.stream(c, s)
	}
	l.fill(c)
	l.flush(c)
}

// fill opens streams on c while it may carry more and the budget lasts;
// at a --rate a request not yet due is parked until it is.
func (l *h2loop) fill(c *h2conn) {
	for !l.over && !c.goingAway && c.fd >= 0 && len(c.streams)+c.parked < c.max {
		if len(l.t.body) > 0 && c.sendWin < int64(len(l.t.body)) {
			return // a WINDOW_UPDATE lets the next one go
		}
		warm, due, ok := l.bud.take(l.now)
		if !ok {
			l.over = true
			return
		}
		if l.bud.interval > 0 && due.After(l.now) {
			l.parked = append(l.parked, h2parked{c, warm, due})
			c.parked++
			continue
		}
		if l.bud.interval > 0 {
			if lag := l.now.Sub(due); lag > l.st.MaxLag {
				l.st.MaxLag = lag
			}
		}
		l.stream(c, &h2stream{warm: warm, start: due})
	}
}

// unpark starts the parked requests now due; it returns how long until
// the next is.
func (l *h2loop) unpark() time.Duration {
	i := 0
	for ; i < len(l.parked); i++ {
		p := l.parked[i]
		if p.due.After(l.now) {
			break
		}
		s := &h2stream{warm: p.warm, start: p.due}
		p.c.parked--
		if p.c.fd < 0 || p.c.goingAway {
			p.c.retry = append(p.c.retry, s) // started when the connection is back
			continue
		}
		l.stream(p.c, s)
		l.flush(p.c)
	}
	l.parked = append(l.parked[:0], l.parked[i:]...)
	if len(l.parked) == 0 {
		return 100 * time.Millisecond
	}
	return min(l.parked[0].due.Sub(l.now), 100*time.Millisecond)
}

// stream sends request s as c's next stream.
func (l *h2loop) stream(c *h2conn, s *h2stream) {
	s.id = c.nextID
	c.nextID += 2
	s.s = sample{}
	if c.fresh {
		// The connection's first request carries its connect (ab's
		// Connect, the handshake within it).
		c.fresh = false
		s.s.connect = c.connect
		if c.state != nil {
			s.s.handshook(c.shake, c.state)
		}
	} else {
		s.s.keptAlive = true
	}
	c.hbuf.Reset()
	for _, f := range l.t.h2fields {
		c.enc.WriteField(f)
	}
	body := l.t.body
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: c.hbuf.Bytes(),
		EndStream: len(body) == 0, EndHeaders: true})
	s.s.sent = int64(9 + c.hbuf.Len())
	for len(body) > 0 {
		k := min(len(body), 16384)
		c.fr.WriteData(s.id, k == len(body), body[:k])
		body = body[k:]
		s.s.sent += int64(9 + k)
	}
	c.sendWin -= int64(len(l.t.body))
	s.sent = l.now
	c.streams[s.id] = s
}

// flush writes what the framer made; false when the connection failed
// (its streams are failed and it is reconnecting).
func (l *h2loop) flush(c *h2conn) bool {
	if c.fd < 0 || c.wbuf.Len() == 0 && len(c.pend) == 0 && (c.pipe == nil || c.pipe.sent == len(c.pipe.out)) {
		return true
	}
	if c.tc != nil {
		if c.wbuf.Len() > 0 {
			if _, err := c.tc.Write(c.wbuf.Bytes()); err != nil {
				l.broken(c, err)
				return false
			}
			c.wbuf.Reset()
		}
		p := c.pipe
		for p.sent < len(p.out) {
			n, err := rawsys.Write(c.fd, p.out[p.sent:])
			if err == unix.EAGAIN {
				l.p.Modify(c.fd, unix.EPOLLIN|unix.EPOLLOUT)
				return true
			}
			if err != nil || n <= 0 {
				l.broken(c, l.t.ioErr("write", err))
				return false
			}
			p.sent += n
		}
		p.out, p.sent = p.out[:0], 0
		return true
	}
	c.pend = append(c.pend, c.wbuf.Bytes()...)
	c.wbuf.Reset()
	for len(c.pend) > 0 {
		n, err := rawsys.Write(c.fd, c.pend)
		if err == unix.EAGAIN {
			l.p.Modify(c.fd, unix.EPOLLIN|unix.EPOLLOUT)
			return true
		}
		if err != nil || n <= 0 {
			l.broken(c, l.t.ioErr("write", err))
			return false
		}
		c.pend = c.pend[:copy(c.pend, c.pend[n:])]
	}
	return true
}

// event handles readiness of c.
func (l *h2loop) event(c *h2conn, ev uint32) {
	if ev&unix.EPOLLOUT != 0 {
		if !l.flush(c) {
			return
		}
		if len(c.pend) == 0 && (c.pipe == nil || c.pipe.sent == len(c.pipe.out)) {
			l.p.Modify(c.fd, unix.EPOLLIN)
		}
	}
	if ev&(unix.EPOLLIN|unix.EPOLLHUP|unix.EPOLLERR) == 0 {
		return
	}
	for {
		if c.n == len(c.in) {
			if c.off > 0 {
				c.n = copy(c.in, c.in[c.off:c.n])
				c.off = 0
			} else {
				c.in = append(c.in, make([]byte, len(c.in))...)
			}
		}
		var n int
		var err error
		if c.tc != nil {
			n, err = tlsRead(c.tc, c.pipe, c.fd, l.raw, c.in[c.n:])
		} else {
			n, err = rawsys.Read(c.fd, c.in[c.n:])
		}
		if err == unix.EAGAIN {
			break
		}
		if n <= 0 {
			if err == nil {
				err = errors.New("the server closed the connection")
				if c.goingAway {
					err = nil
				}
			}
			l.broken(c, err)
			return
		}
		c.n += n
		if !l.frames(c) {
			return
		}
		if c.tc == nil {
			break // level-triggered: the next event reads on
		}
	}
	if c.pipe != nil {
		c.pipe.short = false
		if len(c.pipe.in) > 0 {
			c.pipe.in = append([]byte(nil), c.pipe.in...)
		}
	}
	l.fill(c)
	l.flush(c)
	if c.goingAway && len(c.streams) == 0 && c.fd >= 0 {
		l.reconnect(c)
	}
}

// frames handles the whole frames read; false when the connection failed.
func (l *h2loop) frames(c *h2conn) bool {
	for c.n-c.off >= 9 {
		b := c.in[c.off:c.n]
		size := int(b[0])<<16 | int(b[1])<<8 | int(b[2])
		if size > 1<<20 {
			l.broken(c, fmt.Errorf("HTTP/2: a frame of %d bytes, past the 1 MiB this client reads", size))
			return false
		}
		if len(b) < 9+size {
			if 9+size > len(c.in) {
				c.in = append(c.in, make([]byte, 9+size)...)
			}
			return true
		}
		c.src.b = b[:9+size]
		f, err := c.fr.ReadFrame()
		c.off += 9 + size
		if err != nil {
			l.broken(c, fmt.Errorf("HTTP/2: %w", err))
			return false
		}
		if !l.frame(c, f, 9+size) {
			return false
		}
	}
	if c.off == c.n {
		c.off, c.n = 0, 0
	}
	return true
}

// frame handles one frame of size bytes; false when the connection failed.
func (l *h2loop) frame(c *h2conn, f http2.Frame, size int) bool {
	id := f.Header().StreamID
	s := c.streams[id]
	if s != nil {
		s.s.received += int64(size)
		if !s.gotByte {
			s.gotByte = true
			s.s.wait = l.now.Sub(s.sent)
		}
	}
	switch f := f.(type) {
	case *http2.DataFrame:
		if n := int64(len(f.Data())); n > 0 || f.Length > 0 {
			c.window -= int64(f.Length)
			if c.window < h2Window/2 {
				c.fr.WriteWindowUpdate(0, uint32(h2Window-c.window))
				c.window = h2Window
			}
			if s != nil {
				s.s.body += n
			}
		}
		if s != nil && f.StreamEnded() {
			l.end(c, s, "")
		}
	case *http2.HeadersFrame:
		c.cur = s
		if _, err := c.dec.Write(f.HeaderBlockFragment()); err != nil {
			l.broken(c, fmt.Errorf("HTTP/2 HPACK: %w", err))
			return false
		}
		if f.HeadersEnded() && !l.headersEnd(c) {
			return false
		}
		if s != nil && f.StreamEnded() {
			l.end(c, s, "")
		}
	case *http2.ContinuationFrame:
		if _, err := c.dec.Write(f.HeaderBlockFragment()); err != nil {
			l.broken(c, fmt.Errorf("HTTP/2 HPACK: %w", err))
			return false
		}
		if f.HeadersEnded() && !l.headersEnd(c) {
			return false
		}
	case *http2.SettingsFrame:
		if !f.IsAck() {
			if v, ok := f.Value(http2.SettingMaxConcurrentStreams); ok && int(v) < c.max {
				c.max = max(int(v), 1)
			}
			if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
				c.streamWin = int64(v)
			}
			if v, ok := f.Value(http2.SettingHeaderTableSize); ok {
				c.enc.SetMaxDynamicTableSizeLimit(v) // the server's decoder holds no more
			}
			c.fr.WriteSettingsAck()
		}
	case *http2.WindowUpdateFrame:
		if id == 0 {
			c.sendWin += int64(f.Increment)
		}
	case *http2.PingFrame:
		if !f.IsAck() {
			c.fr.WritePing(true, f.Data)
		}
	case *http2.RSTStreamFrame:
		if s != nil {
			s.s.err = fmt.Errorf("the server reset stream %d: %v", id, f.ErrCode)
			l.end(c, s, FailRead)
		}
	case *http2.GoAwayFrame:
		c.goingAway, c.lastID = true, f.LastStreamID
		for sid, s := range c.streams {
			if sid > f.LastStreamID {
				// Never processed: start again on the next connection.
				delete(c.streams, sid)
				c.retry = append(c.retry, s)
			}
		}
		if f.ErrCode != http2.ErrCodeNo {
			l.broken(c, fmt.Errorf("the server sent GOAWAY %v", f.ErrCode))
			return false
		}
	}
	return true
}

// field is one decoded header field of the current stream's block.
func (l *h2loop) field(c *h2conn, f hpack.HeaderField) {
	s := c.cur
	if s == nil {
		return
	}
	switch f.Name {
	case ":status":
		if st, err := strconv.Atoi(f.Value); err == nil {
			s.s.status = st
		}
	case "server":
		if !l.server {
			v := f.Value
			if i := bytes.IndexAny([]byte(v), " \t"); i >= 0 {
				v = v[:i]
			}
			s.s.server, l.server = v, true
		}
	}
}

// headersEnd ends a header block: an interim (1xx) one leaves the stream
// waiting for its final one.
func (l *h2loop) headersEnd(c *h2conn) bool {
	if err := c.dec.Close(); err != nil {
		l.broken(c, fmt.Errorf("HTTP/2 HPACK: %w", err))
		return false
	}
	if s := c.cur; s != nil && s.s.status >= 200 {
		s.s.inBody = true
	}
	c.cur = nil
	return true
}

// end completes stream s with kind ("" for success) and records it.
func (l *h2loop) end(c *h2conn, s *h2stream, kind string) {
	delete(c.streams, s.id)
	if kind == "" {
		if s.s.status == 0 {
			s.s.err = errors.New("HTTP/2: a response without :status")
			kind = FailRead
		} else {
			s.s.setStatus(s.s.status)
		}
	}
	c.done++
	l.record(s, kind)
}

func (l *h2loop) record(s *h2stream, kind string) {
	l.bud.noteServer(&s.s)
	if s.warm {
		return
	}
	l.bud.record(l.st, &s.s, kind, l.now.Sub(s.start), l.now.Sub(l.bud.start))
}

// broken ends c after a failure (err nil: the end a GOAWAY announced):
// its streams fail, and it reconnects while there is work.
func (l *h2loop) broken(c *h2conn, err error) {
	for _, s := range c.streams {
		s.s.err = err
		kind := FailRead
		if err == nil {
			s.s.err = errors.New("the server closed the connection after GOAWAY")
		} else {
			kind = classify(err, FailRead)
		}
		l.end(c, s, kind)
	}
	l.reconnect(c)
}

// reconnect closes c's socket and opens a new connection, if there is
// work left for it.
func (l *h2loop) reconnect(c *h2conn) {
	if c.fd >= 0 {
		l.hconns[c.fd] = nil
		rawsys.Close(c.fd)
		c.fd = -1
	}
	l.st.StreamsPerConn = append(l.st.StreamsPerConn, c.done)
	c.done = 0
	if !l.over || len(c.retry) > 0 || c.parked > 0 {
		l.open(c)
	}
}

// expire fails the streams past their -s timeout (with their connection:
// a stream the server never answers may hold the others up).
func (l *h2loop) expire() {
	for _, c := range l.all {
		for _, s := range c.streams {
			if l.now.Sub(s.sent) > l.cfg.Timeout {
				l.broken(c, l.t.timeoutErr(false))
				break
			}
		}
	}
}
