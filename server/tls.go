package server

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"iter"
	"net"
	"net/netip"
	"os"
	"sync"
	"syscall"
	"time"
)

// TLS on the engines. Service.TLS turns a stream service's connections
// into TLS connections: ServeStream wraps its handler in a tlsHandler, and
// each connection's session in a tlsSession, which the protocol never
// sees: it gets the plaintext, as over TCP.
//
// On the loop engine (design (a) of issue 23) crypto/tls runs inside the
// session, over an in-memory net.Conn (memConn) that the loop fills with
// the bytes it read and empties of the bytes crypto/tls wrote:
//
//   - The handshake is crypto/tls's own blocking code, run as a coroutine
//     (iter.Pull): when it reads past the input the loop gave it, it yields
//     to the loop, which resumes it with the next read. The coroutine is
//     created and always resumed on the loop's own locked thread, which is
//     what runtime/coro.go requires of a coroutine made on a locked thread
//     (the same M, the same lock counts). It exists only while a handshake
//     is under way, and only once a whole first record (the ClientHello)
//     has come: a silent or slow client costs its bytes, not a stack.
//   - After the handshake, records are read in place: memConn's Read says
//     "would block" (a net.Error whose Temporary is true, which
//     crypto/tls's readRecordOrCCS does not make sticky) when the input
//     runs out, so Conn.Read returns and the loop moves on. Writes append
//     ciphertext to the session's output.
//
// The goroutine engine (design (b)) runs crypto/tls as it is written: a
// tls.Server over the connection, in the connection's goroutine. ARCHITECTURE.md
// has the two measured side by side.

// Drop reasons of TLS connections: a handshake that failed or did not
// finish, counted and logged as drops are.
const (
	DropTLSHandshakeTimeout = "tls-handshake-timeout" // not done within Config.HandshakeTimeout
	DropTLSNotTLS           = "tls-not-tls"           // the first bytes were no TLS record (plain HTTP to an HTTPS port)
	DropTLSTooLarge         = "tls-handshake-too-large"
	DropTLSVersion          = "tls-protocol-version"        // the client offered no version the server takes (TLS 1.0, 1.1)
	DropTLSNoShared         = "tls-handshake-failure"       // no cipher suite, group or signature scheme in common
	DropTLSALPN             = "tls-no-application-protocol" // ALPN offered, none the service speaks
	DropTLSClientAlert      = "tls-client-alert"            // the client refused the handshake (it does not trust the certificate)
	DropTLSIncomplete       = "tls-handshake-incomplete"    // the connection ended during the handshake (the client closed it, or the server shut down)
	DropTLSFailed           = "tls-handshake-failed"        // any other failure
)

// maxHandshakeInput bounds what a client may send before its handshake
// is done: a ClientHello is a few KiB at most (one with a post-quantum key
// share about 1.8 KiB), and a TLS 1.3 client may send a second one after a
// HelloRetryRequest. crypto/tls on its own would buffer up to 64 KiB of
// handshake message.
const maxHandshakeInput = 32 << 10

// tlsHandler serves inner's sessions over TLS with cfg.
type tlsHandler struct {
	inner   StreamHandler
	cfg     *tls.Config
	now     func() time.Time
	timeout time.Duration // the handshake's
	http    bool          // inner is ClientFirst: plain HTTP to the port gets a 400, as net/http answers it
}

// ClientFirst: a TLS client always speaks first (its ClientHello), so a
// TLS listener's connections are accepted once that has come.
func (h *tlsHandler) ClientFirst() {}

// Open returns the session of a new connection; nothing of TLS is made
// until its first bytes come.
func (h *tlsHandler) Open(remote netip.AddrPort) Session {
	return &tlsSession{h: h, remote: remote, started: h.now().UnixNano()}
}

// newTLSHandler wraps svc's stream handler for svc.TLS, offering the
// handler's protocols by ALPN when the configuration names none.
func (s *Server) newTLSHandler(svc Service) *tlsHandler {
	cfg := svc.TLS
	if th, ok := svc.Stream.(TLSHandler); ok && len(cfg.NextProtos) == 0 {
		if protos := th.NextProtos(); len(protos) > 0 {
			cfg = cfg.Clone()
			cfg.NextProtos = protos
		}
	}
	_, http := svc.Stream.(ClientFirst)
	return &tlsHandler{inner: svc.Stream, cfg: cfg, now: s.cfg.Now, timeout: s.handshakeTimeout(), http: http}
}

// open starts the protocol's session once the handshake is done.
func (h *tlsHandler) open(remote netip.AddrPort, c *tls.Conn) Session {
	if th, ok := h.inner.(TLSHandler); ok {
		st := c.ConnectionState()
		return th.OpenTLS(remote, &st)
	}
	return h.inner.Open(remote)
}

// Handshake states of a tlsSession.
const (
	hsWaiting = iota // the first record is not all here yet
	hsRunning        // the handshake coroutine runs
	hsDone           // records flow
	hsOver           // the handshake failed, or the session closed TLS: input is dropped
)

// tlsSession is one connection's TLS on the loop engine.
type tlsSession struct {
	h       *tlsHandler
	ctr     *counters // set by the engine at accept: handshakes done are counted here
	failure string    // why the handshake failed: End returns it, to be counted as a drop
	remote  netip.AddrPort
	started int64 // Open's time, Unix ns: the handshake timeout runs from here
	state   uint8
	streams bool // the protocol's session is a Streamer
	closing bool // the protocol or the peer ended: close_notify once the output is out
	unread  bool // reading stopped before crypto/tls ran out of input

	hello    []byte // the first record, while it comes in pieces
	held     []byte // input crypto/tls has not taken yet (reading stopped for output)
	fromHeld bool   // mem.in is held's
	fed      int    // handshake input so far
	conn     *tls.Conn
	mem      memConn
	next     func() (struct{}, bool) // resumes the handshake while it runs
	stop     func()
	hsErr    error
	inner    Session
	bufs     *tlsBufs // borrowed while pending aliases them
	pend     []byte   // protocol output not yet encrypted
	file     *os.File // a FileSender's body being read and encrypted after pend
	off      int64
	left     int64
}

// tlsBufs are the plaintext buffers a session borrows for one call: what
// it decrypts, and what the protocol answers.
type tlsBufs struct{ in, out []byte }

var tlsBufPool = sync.Pool{New: func() any {
	return &tlsBufs{in: make([]byte, maxTLSPiece), out: make([]byte, 0, bufSize)}
}}

// maxTLSPiece is the most plaintext encrypted in one Write: one record of
// at most 16 KiB less a little, so a record and its overhead fit the
// runtime's 16 KiB output buffer.
const maxTLSPiece = 16<<10 - 256

// Greet: nothing before the handshake; the protocol's greeting (daytime,
// qotd) goes out once it is done.
func (s *tlsSession) Greet(buf []byte) ([]byte, bool) { return buf, false }

// Receive feeds ciphertext to TLS and returns ciphertext: the handshake's
// flights, then the protocol's replies, encrypted.
func (s *tlsSession) Receive(in, buf []byte) ([]byte, bool) {
	switch s.state {
	case hsWaiting:
		return s.first(in, buf)
	case hsRunning:
		return s.handshake(in, buf)
	case hsDone:
		return s.records(in, buf)
	}
	return buf, false // over: dropped
}

// first collects the first record before starting the handshake: a
// client that sends nothing, or a few bytes, costs no coroutine.
func (s *tlsSession) first(in, buf []byte) ([]byte, bool) {
	data := in
	if len(s.hello) > 0 {
		s.hello = append(s.hello, in...)
		data = s.hello
	}
	if len(data) >= 5 && data[0] == 22 && data[1] == 3 {
		if need := 5 + int(data[3])<<8 | int(data[4]); len(data) < need && need <= 5+18<<10 {
			if len(s.hello) == 0 {
				s.hello = append(make([]byte, 0, need), in...)
			}
			return buf, false
		}
	} else if len(data) < 5 && (len(data) == 0 || data[0] == 22) {
		if len(s.hello) == 0 {
			s.hello = append(make([]byte, 0, 512), in...)
		}
		return buf, false
	}
	// A whole record, or something crypto/tls will refuse: start.
	s.conn = tls.Server(&s.mem, s.h.cfg)
	s.mem.remote = s.remote
	s.next, s.stop = iter.Pull(func(yield func(struct{}) bool) {
		s.mem.yield = yield
		s.hsErr = s.conn.Handshake()
		s.mem.yield = nil
	})
	s.state = hsRunning
	out, closeAfter := s.handshake(data, buf)
	s.hello = nil
	return out, closeAfter
}

// handshake resumes the handshake with in.
func (s *tlsSession) handshake(in, buf []byte) ([]byte, bool) {
	if s.fed += len(in); s.fed > maxHandshakeInput {
		s.endHandshake(DropTLSTooLarge)
		return buf, true
	}
	s.mem.in, s.mem.out = in, buf
	_, running := s.next()
	out := s.mem.out
	s.mem.in, s.mem.out = nil, nil
	if running {
		return out, false // all of in is taken: the handshake waits for more
	}
	s.stop()
	s.next, s.stop = nil, nil
	if s.hsErr != nil {
		reason := tlsFailure(s.hsErr, out[len(buf):])
		if reason == DropTLSNotTLS && s.h.http && looksLikeHTTP(in) {
			out = append(out, httpToHTTPS...)
		}
		s.endHandshake(reason)
		return out, true
	}
	s.state = hsDone
	s.endHandshake("")
	s.inner = s.h.open(s.remote, s.conn)
	_, s.streams = s.inner.(Streamer)
	b := s.borrow()
	p, closeAfter := s.inner.Greet(b.out[:0])
	s.mem.out = out
	s.emit(p, closeAfter)
	// The client's first request may have come with its Finished: it is
	// in crypto/tls's buffer already.
	if s.idleOutput() {
		s.read()
	}
	return s.finishCall()
}

// endHandshake ends the handshake: reason says why it failed ("" when it
// is done, and then it is counted). A failure is counted when the
// connection closes (End), once.
func (s *tlsSession) endHandshake(reason string) {
	if reason != "" {
		s.state = hsOver
		if s.failure == "" {
			s.failure = reason
		}
		if s.stop != nil {
			s.stop()
			s.next, s.stop = nil, nil
		}
		return
	}
	if s.ctr != nil {
		s.ctr.handshake(s.conn)
	}
}

// records reads the records in, answers them and encrypts the answers.
func (s *tlsSession) records(in, buf []byte) ([]byte, bool) {
	s.feed(in)
	s.mem.out = buf
	s.read()
	return s.finishCall()
}

// feed gives crypto/tls in, after what it had not taken yet.
func (s *tlsSession) feed(in []byte) {
	s.fromHeld = len(s.held) > 0
	if s.fromHeld {
		s.held = append(s.held, in...)
		in = s.held
	}
	s.mem.in = in
}

// finishCall keeps the input crypto/tls has not taken (it may alias the
// runtime's buffer), ends TLS when the protocol or the peer is done and
// everything is encrypted, and returns the call's output.
func (s *tlsSession) finishCall() ([]byte, bool) {
	switch rest := s.mem.in; {
	case len(rest) == 0:
		s.held = nil
	case s.fromHeld:
		s.held = s.held[:copy(s.held, rest)]
	default:
		s.held = append(s.held[:0], rest...)
	}
	closeAfter := s.closing && s.idleOutput()
	if closeAfter {
		s.closeNotify()
	}
	out := s.mem.out
	s.mem.in, s.mem.out, s.fromHeld = nil, nil, false
	s.release()
	return out, closeAfter
}

// read decrypts records while crypto/tls has them and the protocol's
// output is not held up, handing the plaintext to the protocol; unread
// says whether it stopped with input left. A stream (chargen) is read
// all the time, for the peer's close_notify: what it answers, if
// anything, goes out after the piece under way.
func (s *tlsSession) read() {
	s.unread = true
	for !s.closing && (s.streams || s.idleOutput()) {
		if len(s.mem.out) >= bufSize-maxTLSPiece/4 {
			return // a call's worth of output: the rest on the next
		}
		b := s.borrow()
		n, err := s.conn.Read(b.in)
		if n > 0 {
			p, closeAfter := s.inner.Receive(b.in[:n], b.out[:0])
			if s.streams {
				if len(p) > 0 || closeAfter {
					s.drainPend()
					s.emit(p, closeAfter)
					s.drainPend()
				}
			} else {
				s.emit(p, closeAfter)
				s.takeFile()
			}
		}
		if err != nil {
			if err == error(errWouldBlock) {
				s.unread = false // input ran out: the next Receive brings more
				return
			}
			// close_notify (io.EOF): the peer is done sending; answer
			// what came and close. Anything else (a bad record) has
			// written its alert already, and ends the session.
			s.closing = true
			if err != io.EOF {
				s.state = hsOver
			}
			s.unread = false
			return
		}
	}
}

// drainPend encrypts all of pend, whatever the output's size.
func (s *tlsSession) drainPend() {
	for len(s.pend) > 0 {
		k := min(len(s.pend), maxTLSPiece)
		s.conn.Write(s.pend[:k])
		s.pend = s.pend[k:]
	}
	s.pend = nil
}

// emit encrypts p, the protocol's output, as far as one call's output
// goes; the rest waits in pend for more (p stays valid until the
// protocol is called again, which it is not until pend is out).
func (s *tlsSession) emit(p []byte, closeAfter bool) {
	if closeAfter {
		s.closing = true
	}
	s.pend = p
	s.encrypt()
}

// encrypt writes pend, then the file, into the output until it is about a
// buffer full.
func (s *tlsSession) encrypt() {
	for len(s.pend) > 0 {
		room := bufSize - len(s.mem.out)
		if room < 1024 && len(s.mem.out) > 0 {
			return
		}
		k := min(len(s.pend), max(room-256, 1024), maxTLSPiece)
		s.conn.Write(s.pend[:k])
		s.pend = s.pend[k:]
	}
	s.pend = nil
	for s.file != nil {
		room := bufSize - len(s.mem.out)
		if room < 1024 && len(s.mem.out) > 0 {
			return
		}
		b := s.borrow()
		k := int(min(s.left, int64(max(room-256, 1024)), maxTLSPiece))
		n, err := s.file.ReadAt(b.in[:k], s.off)
		if n > 0 {
			s.conn.Write(b.in[:n])
			s.off += int64(n)
			s.left -= int64(n)
		}
		if s.left == 0 || err != nil || n == 0 {
			if s.left > 0 && err == nil {
				err = io.ErrUnexpectedEOF // the file shrank under us
			}
			s.fileDone(err)
		}
	}
}

// takeFile takes the file body the protocol's last answer asked for.
func (s *tlsSession) takeFile() {
	fs, ok := s.inner.(FileSender)
	if !ok || s.file != nil {
		return
	}
	if f, off, n := fs.TakeFile(); f != nil {
		s.file, s.off, s.left = f, off, n
		if s.pend == nil {
			s.encrypt()
		}
	}
}

// fileDone ends the file body and encrypts what the protocol answers on
// resuming (the requests behind it).
func (s *tlsSession) fileDone(err error) {
	fs := s.inner.(FileSender)
	s.file = nil
	b := s.borrow()
	p, closeAfter := fs.Resume(b.out[:0], err)
	if err != nil {
		// The head promised a length the body did not keep: close.
		s.closing, s.state = true, hsOver
		return
	}
	s.emit(p, closeAfter)
	s.takeFile()
}

// idleOutput reports whether nothing of the protocol's output is left to
// encrypt.
func (s *tlsSession) idleOutput() bool { return s.pend == nil && s.file == nil }

// More implements Producer: the next piece of output once what was
// returned is written: the rest of a long answer or file, encrypted a
// buffer at a time; input it had stopped reading; the protocol's own
// (a Streamer's stream, a Producer's pieces). Nothing when none is ready.
func (s *tlsSession) More(buf []byte) ([]byte, bool) {
	if s.state != hsDone {
		return nil, false
	}
	s.mem.out = buf
	if !s.idleOutput() {
		s.encrypt()
	}
	if s.idleOutput() && s.unread {
		s.feed(nil)
		s.read()
	}
	if s.idleOutput() && !s.closing && s.state == hsDone {
		b := s.borrow()
		switch in := s.inner.(type) {
		case Producer:
			s.emit(in.More(b.out[:0]))
			s.takeFile()
		case Streamer:
			s.emit(in.Stream(b.out[:0]), false)
		}
	}
	out, closeAfter := s.finishCall()
	if len(out) == 0 && !closeAfter {
		return nil, false
	}
	return out, closeAfter
}

// Linger implements Lingerer: the protocol's way of closing (HTTP/2 waits
// for the peer's last frames).
func (s *tlsSession) Linger() Linger {
	if lg, ok := s.inner.(Lingerer); ok && s.state == hsDone {
		return lg.Linger()
	}
	return LingerIfWaiting
}

// closeNotify ends the TLS stream: the protocol or the peer is done.
func (s *tlsSession) closeNotify() {
	if s.state == hsDone {
		s.conn.CloseWrite() // writes close_notify into mem.out
	}
	s.state = hsOver
}

// borrow lends the session its plaintext buffers until release.
func (s *tlsSession) borrow() *tlsBufs {
	if s.bufs == nil {
		s.bufs = tlsBufPool.Get().(*tlsBufs)
	}
	return s.bufs
}

// release gives the buffers back unless protocol output waiting to be
// encrypted still points into them.
func (s *tlsSession) release() {
	if s.bufs != nil && s.pend == nil {
		tlsBufPool.Put(s.bufs)
		s.bufs = nil
	}
}

// expired reports whether the handshake has outlived its timeout at now.
func (s *tlsSession) expired(now time.Time) bool {
	return s.state < hsDone && s.h.timeout > 0 && now.UnixNano()-s.started > int64(s.h.timeout)
}

// Idle implements Idler: a connection still in its handshake has nothing
// under way; after it, the protocol says, with nothing left to encrypt.
func (s *tlsSession) Idle() bool {
	if s.state < hsDone {
		return true
	}
	id, ok := s.inner.(Idler)
	return ok && s.state == hsDone && s.idleOutput() && !s.unread && id.Idle()
}

// Drain implements Idler.
func (s *tlsSession) Drain() {
	if s.inner != nil {
		tellDrain(s.inner)
	}
}

// End implements Ender: it releases what the session holds (a handshake
// coroutine, a file, the buffers) and says why a handshake failed, or
// that the connection ended before it was done.
func (s *tlsSession) End() string {
	if s.stop != nil {
		s.stop()
		s.next, s.stop = nil, nil
	}
	reason := s.failure
	if reason == "" && s.state < hsDone {
		reason = DropTLSIncomplete
	}
	var inner string
	if fs, ok := s.inner.(FileSender); ok {
		endFile(fs, s.file != nil)
		s.file = nil
	}
	if en, ok := s.inner.(Ender); ok {
		inner = en.End()
	}
	s.pend = nil
	s.release()
	s.hello, s.held = nil, nil
	s.state = hsOver
	if inner != "" {
		return inner
	}
	return reason
}

// timedOut is told that the handshake timeout passed: End counts it, and
// the engine closes the connection.
func (s *tlsSession) timedOut() { s.endHandshake(DropTLSHandshakeTimeout) }

// tlsFailure names why a handshake failed, from its error and the alert
// the server sent (the last bytes written, in the clear before the
// handshake's keys are in use).
func tlsFailure(err error, out []byte) string {
	var rhe tls.RecordHeaderError
	var oe *net.OpError
	switch {
	case errors.As(err, &rhe):
		return DropTLSNotTLS
	case errors.As(err, &oe) && oe.Op == "remote error":
		return DropTLSClientAlert
	}
	if n := len(out); n >= 7 && out[n-7] == 21 && out[n-4] == 0 && out[n-3] == 2 {
		switch out[n-1] {
		case 70: // protocol_version
			return DropTLSVersion
		case 40: // handshake_failure
			return DropTLSNoShared
		case 120: // no_application_protocol
			return DropTLSALPN
		}
	}
	return DropTLSFailed
}

// looksLikeHTTP reports whether p, the first bytes of a connection,
// begin an HTTP request (net/http's test, on a TLS record header's 5
// bytes).
func looksLikeHTTP(p []byte) bool {
	if len(p) < 5 {
		return false
	}
	switch string(p[:5]) {
	case "GET /", "HEAD ", "POST ", "PUT /", "OPTIO", "DELET", "PATCH", "CONNE":
		return true
	}
	return false
}

// httpToHTTPS is net/http's answer to an http:// request at an https port.
const httpToHTTPS = "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n"

// serveTLS is the goroutine engine's TLS (design (b)): crypto/tls as it is
// written, a tls.Server over c in c's own goroutine, the handshake bounded
// by the handshake timeout; then the protocol's session over the
// *tls.Conn, as over any net.Conn.
func (e *goEngine) serveTLS(c net.Conn, h *tlsHandler, remote netip.AddrPort, ctr *counters) {
	ac := &alertConn{Conn: c}
	tc := tls.Server(ac, h.cfg)
	ctx := context.Background()
	if h.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, h.timeout)
		defer cancel()
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		var reason string
		var rhe tls.RecordHeaderError
		switch {
		case ctx.Err() != nil:
			reason = DropTLSHandshakeTimeout
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET):
			reason = DropTLSIncomplete
		default:
			reason = tlsFailure(err, ac.last[:ac.n])
		}
		if errors.As(err, &rhe) && h.http && rhe.Conn != nil && looksLikeHTTP(rhe.RecordHeader[:]) {
			c.SetWriteDeadline(time.Now().Add(time.Second))
			io.WriteString(c, httpToHTTPS)
		}
		ctr.drop(reason, remote)
		c.Close()
		return
	}
	ac.handshakeDone = true
	ctr.handshake(tc)
	e.serveConn(tc, h.open(remote, tc), ctr)
}

// alertConn keeps the last bytes written during a handshake, where a
// failed one's alert is (in the clear, before the keys are in use).
type alertConn struct {
	net.Conn
	last          [7]byte
	n             int
	handshakeDone bool
}

func (a *alertConn) Write(p []byte) (int, error) {
	if !a.handshakeDone {
		a.n = copy(a.last[:], p[max(len(p)-len(a.last), 0):])
	}
	return a.Conn.Write(p)
}

// memConn is the net.Conn a loop's tlsSession runs crypto/tls over: Read
// takes from in (while the handshake runs it yields to the loop for more;
// after, it says "would block"), Write appends to out.
type memConn struct {
	in, out []byte
	yield   func(struct{}) bool
	remote  netip.AddrPort
}

// errWouldBlock is the input running out after the handshake: temporary,
// so crypto/tls keeps the connection usable.
var errWouldBlock = &wouldBlock{}

type wouldBlock struct{}

func (*wouldBlock) Error() string   { return "server: TLS input would block" }
func (*wouldBlock) Timeout() bool   { return false }
func (*wouldBlock) Temporary() bool { return true }

func (m *memConn) Read(p []byte) (int, error) {
	for len(m.in) == 0 {
		if m.yield == nil {
			return 0, errWouldBlock
		}
		if !m.yield(struct{}{}) {
			return 0, net.ErrClosed // the connection ended mid-handshake
		}
	}
	n := copy(p, m.in)
	m.in = m.in[n:]
	return n, nil
}

func (m *memConn) Write(p []byte) (int, error) {
	m.out = append(m.out, p...)
	return len(p), nil
}

func (m *memConn) Close() error                     { return nil }
func (m *memConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (m *memConn) RemoteAddr() net.Addr             { return net.TCPAddrFromAddrPort(m.remote) }
func (m *memConn) SetDeadline(time.Time) error      { return nil }
func (m *memConn) SetReadDeadline(time.Time) error  { return nil }
func (m *memConn) SetWriteDeadline(time.Time) error { return nil }
