package server_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// gate is a Recorder whose first Accepted call blocks until open is
// closed: the loop or goroutine that accepted stops there, so the
// connections that follow wait in the kernel's accept queue.
type gate struct {
	once    sync.Once
	entered chan struct{} // closed once the first Accepted has begun
	open    chan struct{}
}

func newGate() *gate { return &gate{entered: make(chan struct{}), open: make(chan struct{})} }

func (g *gate) Listener(service, network string) server.ListenerRecorder { return g }
func (g *gate) Accepted() {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.entered)
		<-g.open
	}
}
func (g *gate) Closed()                       {}
func (g *gate) Received(datagrams, bytes int) {}
func (g *gate) Sent(datagrams, bytes int)     {}
func (g *gate) Dropped(reason string, n int)  {}

// TestShutdownServesTheAcceptQueue: connections the kernel accepted before
// Shutdown, still waiting in the listen queue when it begins, are accepted
// and served like any other, on each engine, over TCP and unix sockets;
// only connections after the listener has closed are refused. The engine
// is held in its first accept (a Recorder that blocks) while 40 clients
// connect and send, so they are queued when Shutdown starts.
func TestShutdownServesTheAcceptQueue(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			eachEngine(t, func(t *testing.T, engine string) {
				const queued = 40
				g := newGate()
				srv := server.New(server.Config{Logger: quiet, Engine: engine, Loops: 1, Recorder: g})
				addr := "127.0.0.1:0"
				if network == "unix" {
					addr = filepath.Join(t.TempDir(), "s.sock")
				}
				ln, err := net.Listen(network, addr)
				if err != nil {
					t.Fatal(err)
				}
				served := make(chan error, 1)
				go func() { served <- srv.ServeStream(ln, echo.Service()) }()
				dial := func() (net.Conn, error) { return net.Dial(network, ln.Addr().String()) }

				first, err := dial()
				if err != nil {
					t.Fatal(err)
				}
				defer first.Close()
				<-g.entered // the engine is held in its accept
				var conns []net.Conn
				for i := range queued {
					c, err := dial()
					if err != nil {
						t.Fatalf("connection %d: %v", i, err)
					}
					defer c.Close()
					c.SetDeadline(time.Now().Add(20 * time.Second))
					fmt.Fprintf(c, "queued %d\n", i)
					conns = append(conns, c)
				}
				shut := make(chan error, 1)
				go func() {
					ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
					defer cancel()
					shut <- srv.Shutdown(ctx)
				}()
				sockittest.Eventually(t, 10*time.Second, "the server closing", func() bool { return server.Closing(srv) })
				close(g.open)

				lost := 0
				for i, c := range conns {
					want := []byte(fmt.Sprintf("queued %d\n", i))
					got := make([]byte, len(want))
					if _, err := io.ReadFull(c, got); err != nil || !bytes.Equal(got, want) {
						lost++
						t.Logf("queued connection %d: %q, %v", i, got, err)
						continue
					}
					c.(interface{ CloseWrite() error }).CloseWrite()
					if _, err := c.Read(got); err != io.EOF {
						t.Errorf("queued connection %d: %v after its echo, want EOF", i, err)
					}
				}
				if lost > 0 {
					t.Errorf("%d of %d queued connections lost at shutdown", lost, queued)
				}
				first.Close()
				if err := <-shut; err != nil {
					t.Errorf("Shutdown: %v", err)
				}
				if err := <-served; err != server.ErrServerClosed {
					t.Errorf("ServeStream: %v", err)
				}
				if c, err := dial(); err == nil {
					c.Close()
					t.Error("a connection after shutdown was accepted")
				}
			})
		})
	}
}

// TestShutdownQueueFloodKeepsTheGrace: a queue holding 2,000 connections
// that never send, and a client connecting as fast as it can throughout,
// do not hold Shutdown past its deadline. The queued connections are
// accepted (counted) and then closed with the rest when the grace ends.
func TestShutdownQueueFloodKeepsTheGrace(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		const queued = 2000
		g := newGate()
		srv := server.New(server.Config{Logger: quiet, Engine: engine, Loops: 1, Recorder: g})
		addr := serveStream(t, srv, echo.Service())
		first, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer first.Close()
		<-g.entered
		conns := make([]net.Conn, 0, queued)
		defer func() {
			for _, c := range conns {
				c.Close()
			}
		}()
		for i := range queued {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatalf("connection %d: %v", i, err)
			}
			conns = append(conns, c)
		}
		// The flood: connect and drop, at most 20,000 times or until
		// Shutdown has returned.
		done := make(chan struct{})
		flooded := make(chan int)
		go func() {
			n := 0
			for ; n < 20000; n++ {
				select {
				case <-done:
					flooded <- n
					return
				default:
				}
				if c, err := net.Dial("tcp", addr); err == nil {
					c.Close()
				}
			}
			flooded <- n
		}()
		const grace = 500 * time.Millisecond
		shut := make(chan error, 1)
		start := time.Now()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), grace)
			defer cancel()
			shut <- srv.Shutdown(ctx)
		}()
		sockittest.Eventually(t, 10*time.Second, "the server closing", func() bool { return server.Closing(srv) })
		close(g.open)
		var serr error
		select {
		case serr = <-shut:
		case <-time.After(grace + 2*time.Second):
			t.Fatalf("Shutdown still running %v after a %v deadline", time.Since(start), grace)
		}
		took := time.Since(start)
		close(done)
		t.Logf("Shutdown returned %v after %v; the flood made %d connects", serr, took, <-flooded)
		if serr != context.DeadlineExceeded {
			t.Errorf("Shutdown: %v, want the deadline (the queued streams never end)", serr)
		}
		if n := srv.Active(); n != 0 {
			t.Errorf("%d connections left open", n)
		}
		// Every queued connection was served, then closed at the deadline.
		for i, c := range conns[:50] {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Fatalf("queued connection %d still open after Shutdown: %v", i, err)
			}
		}
	})
}
