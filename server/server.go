package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Config tunes a Server. The zero value is a safe server with the defaults
// written on each field.
type Config struct {
	// MaxConns bounds open stream connections across all listeners; zero
	// means 10000, negative means no bound. Connections past it are
	// accepted and closed at once, and counted.
	MaxConns int
	// MaxConnsPerSource bounds open stream connections from one IP address;
	// zero means 256, negative means no bound. Unix peers are not counted.
	MaxConnsPerSource int
	// IdleTimeout closes a stream connection that sends nothing for this
	// long; zero means 5 minutes, negative means never.
	IdleTimeout time.Duration
	// WriteTimeout closes a stream connection whose peer takes no bytes for
	// this long (a reader that never reads chargen); zero means 30s.
	WriteTimeout time.Duration
	// UDP guards datagram services against amplification.
	UDP UDPGuard
	// UDPReadBuffer is the kernel receive buffer (SO_RCVBUF) asked for on
	// every UDP socket; zero means 4 MiB, negative leaves the system
	// default. The kernel caps it at net.core.rmem_max. A deep queue rides
	// out bursts: with the 208 KiB default, a 4-sender flood here lost
	// one datagram in five at the socket while the server still had CPU
	// to spare.
	UDPReadBuffer int
	// Recorder, if set, counts connections, bytes, datagrams and drops
	// (server/promrecorder exports them to Prometheus).
	Recorder Recorder
	// Logger receives one line per listener and per unusual event; nil
	// means slog.Default().
	Logger *slog.Logger
	// Now is the clock; nil means time.Now. Tests inject one.
	Now func() time.Time
	// Engine chooses how stream connections are served: "" (the default)
	// runs TCP and unix listeners on the event loops, "goroutine" gives
	// every connection its own goroutine (kept for comparison, and used for
	// listeners without a file descriptor).
	Engine string
}

// ErrServerClosed is returned by the Serve methods after Shutdown or Close.
var ErrServerClosed = errors.New("server: closed")

// Server runs any number of services on any number of listeners.
type Server struct {
	cfg    Config
	budget *budget

	mu        sync.Mutex
	closing   bool
	listeners map[io.Closer]struct{}
	conns     map[net.Conn]struct{}
	perSource map[netip.Addr]int
	active    int
	wg        sync.WaitGroup // one per Serve call and per connection
	closed    chan struct{}  // closed when the server starts closing

	engineOnce sync.Once
	loopEng    *loopEngine
	engineErr  error
}

// New returns a Server with cfg.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Server{
		cfg:       cfg,
		budget:    newBudget(cfg.UDP),
		listeners: make(map[io.Closer]struct{}),
		conns:     make(map[net.Conn]struct{}),
		perSource: make(map[netip.Addr]int),
		closed:    make(chan struct{}),
	}
}

func (s *Server) maxConns() int {
	if s.cfg.MaxConns == 0 {
		return 10000
	}
	return s.cfg.MaxConns
}

func (s *Server) maxPerSource() int {
	if s.cfg.MaxConnsPerSource == 0 {
		return 256
	}
	return s.cfg.MaxConnsPerSource
}

func (s *Server) idleTimeout() time.Duration {
	if s.cfg.IdleTimeout == 0 {
		return 5 * time.Minute
	}
	return s.cfg.IdleTimeout
}

func (s *Server) writeTimeout() time.Duration {
	if s.cfg.WriteTimeout <= 0 {
		return 30 * time.Second
	}
	return s.cfg.WriteTimeout
}

// track registers a listener or packet conn; false means the server is
// already closing.
func (s *Server) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.listeners[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c io.Closer) {
	s.mu.Lock()
	delete(s.listeners, c)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) isClosing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

// stopListening closes every listener and packet socket; stream
// connections already open carry on.
func (s *Server) stopListening() {
	s.mu.Lock()
	if !s.closing {
		close(s.closed)
	}
	s.closing = true
	ls := make([]io.Closer, 0, len(s.listeners))
	for l := range s.listeners {
		ls = append(ls, l)
	}
	eng := s.loopEng
	s.mu.Unlock()
	for _, l := range ls {
		if ln, ok := l.(net.Listener); ok && eng != nil {
			eng.removeListener(ln)
		}
		if pc, ok := l.(net.PacketConn); ok && eng != nil {
			eng.removePacket(pc)
		}
		l.Close()
	}
}

// Shutdown stops accepting and receiving, then waits for open stream
// connections to finish until ctx ends, when it closes them. It returns
// ctx's error if it had to force them.
func (s *Server) Shutdown(ctx context.Context) error {
	s.stopListening()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.stopEngine()
		return nil
	case <-ctx.Done():
		s.closeConns()
		<-done
		s.stopEngine()
		return ctx.Err()
	}
}

func (s *Server) stopEngine() {
	s.engineOnce.Do(func() {}) // no engine may start after this
	s.mu.Lock()
	eng := s.loopEng
	s.loopEng = nil
	s.mu.Unlock()
	if eng != nil {
		eng.stop()
	}
}

// Close stops everything at once.
func (s *Server) Close() error {
	s.stopListening()
	s.closeConns()
	s.wg.Wait()
	s.stopEngine()
	return nil
}

func (s *Server) closeConns() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	eng := s.loopEng
	s.mu.Unlock()
	if eng != nil {
		eng.forceClose()
	}
}

// Active returns the number of open stream connections.
func (s *Server) Active() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.active
}

// admit applies the connection guards to a peer from src (an invalid Addr
// for unix peers) and counts it; it returns the drop reason when refused
// ("" when the server is closing).
func (s *Server) admit(src netip.Addr) (reason string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return "", false
	}
	if m := s.maxConns(); m > 0 && s.active >= m {
		return DropMaxConns, false
	}
	if src.IsValid() {
		if m := s.maxPerSource(); m > 0 && s.perSource[src] >= m {
			return DropPerSource, false
		}
		s.perSource[src]++
	}
	s.active++
	s.wg.Add(1)
	return "", true
}

func (s *Server) release(src netip.Addr) {
	s.mu.Lock()
	s.active--
	if src.IsValid() {
		if s.perSource[src]--; s.perSource[src] <= 0 {
			delete(s.perSource, src)
		}
	}
	s.mu.Unlock()
	s.wg.Done()
}

func remoteIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort().Addr().Unmap()
	}
	return netip.Addr{}
}

// ServeStream accepts connections on ln for svc until Shutdown or Close,
// then returns ErrServerClosed. Accept errors such as running out of file
// descriptors are logged and retried with backoff; others are returned.
func (s *Server) ServeStream(ln net.Listener, svc Service) error {
	if !s.track(ln) {
		ln.Close()
		return ErrServerClosed
	}
	defer s.untrack(ln)
	ctr := bindRecorder(s.cfg.Recorder, svc.Name, ln.Addr().Network())
	if s.cfg.Engine != "goroutine" {
		if _, ok := listenerFD(ln); ok {
			return s.serveLoop(ln, svc, ctr)
		}
	}
	var backoff time.Duration
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.isClosing() {
				return ErrServerClosed
			}
			if isTemporaryAccept(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.cfg.Logger.Warn("accept failed; retrying", "service", svc.Name, "addr", ln.Addr().String(),
					"err", err, "hint", fdHint(err), "retry_in", backoff)
				t := time.NewTimer(backoff)
				<-t.C
				continue
			}
			return err
		}
		backoff = 0
		src := remoteIP(c.RemoteAddr())
		if reason, ok := s.admit(src); !ok {
			if reason != "" {
				ctr.drop(reason)
			}
			c.Close()
			continue
		}
		ctr.accepted()
		s.mu.Lock()
		s.conns[c] = struct{}{}
		s.mu.Unlock()
		go func() {
			defer func() {
				ctr.closed()
				s.mu.Lock()
				delete(s.conns, c)
				s.mu.Unlock()
				s.release(src)
			}()
			s.serveConn(c, svc.Stream.Open(c.RemoteAddr()), ctr)
		}()
	}
}

func isTemporaryAccept(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED)
}

func fdHint(err error) string {
	if errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) {
		return "open file limit reached: raise ulimit -n or lower --max-conns"
	}
	return ""
}
