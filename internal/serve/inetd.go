package serve

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

// runInetd serves s.Inetd on the socket inetd handed over as standard
// input, as inetd.conf(5) and xinetd.conf(5) define it:
//
//   - a connected stream socket (wait = no): the one connection, then return;
//   - a datagram socket (wait = yes): every datagram, until none has come for
//     idle, then return so inetd listens again;
//   - a listening stream socket (wait = yes): every connection, until none
//     is open and none has come for idle.
//
// idle is s.IdleTimeout (5 minutes when not above zero). The guards of s
// apply as in `serve`. When ctx ends, connections in flight get s.Grace to
// finish. Standard input, output (and error, when it is the same socket)
// are closed once taken over, so the peer sees the connection close when
// the server closes it. SIGHUP and SIGUSR1 are logged and change nothing
// (each inetd connection is a process of its own).
func runInetd(ctx context.Context, s Settings, h Hooks) error {
	service, grace := s.Inetd, s.Grace
	in := protocol(service)
	cfg := s.serverConfig(h.Logger)
	values, release, err := s.values()
	if err != nil {
		return err
	}
	defer releaseAll(release)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGHUP, unix.SIGUSR1)
	defer signal.Stop(sigs)
	quit := make(chan struct{})
	var sigWG sync.WaitGroup
	sigWG.Go(func() {
		for {
			select {
			case sig := <-sigs:
				h.Logger.Info(fmt.Sprintf("%v: nothing to reload or reopen under --inetd", sig))
			case <-quit:
				return
			}
		}
	})
	defer func() { close(quit); sigWG.Wait() }()
	idle := cfg.IdleTimeout
	if idle <= 0 {
		idle = 5 * time.Minute
	}
	typ, err := unix.GetsockoptInt(0, unix.SOL_SOCKET, unix.SO_TYPE)
	if err != nil {
		return fmt.Errorf("--inetd: standard input is not a socket (%w); inetd passes one", err)
	}
	listening, _ := unix.GetsockoptInt(0, unix.SOL_SOCKET, unix.SO_ACCEPTCONN)
	act := &activity{done: make(chan struct{}), next: cfg.Recorder}
	act.touch()
	cfg.Recorder = act
	srv := server.New(cfg)
	svc := in.Service(proto.Runtime{Values: values})

	served := make(chan error, 1)
	oneShot := false
	switch {
	case typ == unix.SOCK_STREAM && listening == 0:
		c, err := net.FileConn(os.Stdin)
		if err != nil {
			return fmt.Errorf("--inetd: standard input: %w", err)
		}
		oneShot = true
		go func() { served <- srv.ServeStream(newOneConn(c), svc) }()
	case typ == unix.SOCK_STREAM:
		ln, err := net.FileListener(os.Stdin)
		if err != nil {
			return fmt.Errorf("--inetd: standard input: %w", err)
		}
		go func() { served <- srv.ServeStream(ln, svc) }()
	case typ == unix.SOCK_DGRAM:
		if in.StreamOnly {
			return fmt.Errorf("--inetd: %s has no datagram side", service)
		}
		pc, err := net.FilePacketConn(os.Stdin)
		if err != nil {
			return fmt.Errorf("--inetd: standard input: %w", err)
		}
		go func() { served <- srv.ServePacket(pc, svc) }()
	default:
		return fmt.Errorf("--inetd: standard input is neither a stream nor a datagram socket")
	}
	closeStdio()

	t := time.NewTicker(min(idle/4, time.Second))
	defer t.Stop()
	var serveErr error
	stopped := false
wait:
	for {
		select {
		case <-ctx.Done():
			break wait
		case <-act.done:
			if oneShot {
				break wait
			}
		case serveErr = <-served:
			stopped = true
			break wait
		case <-t.C:
			if !oneShot && srv.Active() == 0 && act.idleFor() >= idle {
				break wait
			}
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	srv.Shutdown(sctx)
	if !stopped {
		serveErr = <-served
	}
	if serveErr == server.ErrServerClosed {
		serveErr = nil
	}
	return serveErr
}

// closeStdio closes the descriptors inetd passed once the server holds its
// own duplicate, and standard error too when it is the same socket (inetd
// makes 0, 1 and 2 the connection for wait = no): a log line must not reach
// the peer, and the peer must see the close.
func closeStdio() {
	var in, errst unix.Stat_t
	sameErr := unix.Fstat(0, &in) == nil && unix.Fstat(2, &errst) == nil && in.Ino == errst.Ino && in.Dev == errst.Dev
	os.Stdin.Close()
	os.Stdout.Close()
	if sameErr {
		// Keep descriptor 2 valid (the runtime writes there on a crash) but
		// pointing nowhere.
		if null, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
			unix.Dup2(int(null.Fd()), 2)
			null.Close()
		}
	}
}

// oneConn is a listener that yields one connection, then blocks until it
// is closed.
type oneConn struct {
	mu     sync.Mutex
	c      net.Conn
	closed chan struct{}
	once   sync.Once
	addr   net.Addr
}

func newOneConn(c net.Conn) *oneConn {
	return &oneConn{c: c, closed: make(chan struct{}), addr: c.LocalAddr()}
}

func (l *oneConn) Accept() (net.Conn, error) {
	l.mu.Lock()
	c := l.c
	l.c = nil
	l.mu.Unlock()
	if c != nil {
		return c, nil
	}
	<-l.closed
	return nil, net.ErrClosed
}

func (l *oneConn) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *oneConn) Addr() net.Addr { return l.addr }

// activity is a server.Recorder that notes when a datagram or connection
// last came and when a connection ended, passing every event on to next.
type activity struct {
	last atomic.Int64 // unix nanoseconds
	done chan struct{}
	once sync.Once
	next server.Recorder
}

func (a *activity) touch() { a.last.Store(time.Now().UnixNano()) }
func (a *activity) idleFor() time.Duration {
	return time.Duration(time.Now().UnixNano() - a.last.Load())
}

func (a *activity) Listener(service, network string) server.ListenerRecorder {
	lr := &listenerActivity{a: a}
	if a.next != nil {
		lr.next = a.next.Listener(service, network)
	}
	return lr
}

type listenerActivity struct {
	a    *activity
	next server.ListenerRecorder
}

func (l *listenerActivity) Accepted() {
	l.a.touch()
	if l.next != nil {
		l.next.Accepted()
	}
}

func (l *listenerActivity) Closed() {
	l.a.touch()
	l.a.once.Do(func() { close(l.a.done) })
	if l.next != nil {
		l.next.Closed()
	}
}

func (l *listenerActivity) Received(datagrams, bytes int) {
	l.a.touch()
	if l.next != nil {
		l.next.Received(datagrams, bytes)
	}
}

func (l *listenerActivity) Sent(datagrams, bytes int) {
	if l.next != nil {
		l.next.Sent(datagrams, bytes)
	}
}

func (l *listenerActivity) Dropped(reason string, n int) {
	if l.next != nil {
		l.next.Dropped(reason, n)
	}
}
