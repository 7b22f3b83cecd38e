package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// eachEngine runs f once per engine, as a subtest named after it.
func eachEngine(t *testing.T, f func(t *testing.T, engine string)) {
	for _, eng := range server.Engines() {
		t.Run(eng, func(t *testing.T) { f(t, eng) })
	}
}

// bigFile writes size random bytes to DIR/big.bin and returns them with
// DIR opened as a root.
func bigFile(t *testing.T, size int) ([]byte, *os.Root) {
	dir := t.TempDir()
	big := sockittest.RandomBytes(size, 42)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { root.Close() })
	return big, root
}

// TestShutdownClosesIdleFinishesInFlight is the shutdown recipe end to end
// on the HTTP responder: 100 keep-alive connections idle between requests,
// one 8 MiB response in flight to a client that has stopped reading, and
// one request half received. Shutdown closes the 100 at once (each sees
// EOF while the large response is still unread, so none waited for it or
// for the grace period); the half request, completed after shutdown began,
// is answered with Connection: close; the large response arrives byte for
// byte; and Shutdown then returns nil, without needing its deadline.
func TestShutdownClosesIdleFinishesInFlight(t *testing.T) {
	big, root := bigFile(t, 8<<20)
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Logger: quiet, Engine: engine})
		addr := serveStream(t, srv, httpraw.Service(&httpraw.Responder{Root: root}))
		scene := sockittest.NewShutdownScene(t, addr, 100, "/big.bin")
		sockittest.Eventually(t, 10*time.Second, "102 connections open", func() bool { return srv.Active() == 102 })

		shut := make(chan error, 1)
		start := time.Now()
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			shut <- srv.Shutdown(ctx)
		}()
		if err := scene.IdleClosed(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		idleClosed := time.Since(start)
		select {
		case err := <-shut:
			t.Fatalf("Shutdown returned (%v) with a response in flight", err)
		default:
		}
		if err := scene.FinishHalf(httpraw.Page()); err != nil {
			t.Fatal(err)
		}
		if err := scene.ReadLarge(big); err != nil {
			t.Fatal(err)
		}
		read := time.Now()
		if err := <-shut; err != nil {
			t.Fatalf("Shutdown: %v, want nil (nothing forced)", err)
		}
		t.Logf("100 idle connections closed %v after Shutdown began; Shutdown had returned (%v to receive its result) when the large response had been read to its EOF",
			idleClosed.Round(time.Microsecond), time.Since(read).Round(time.Microsecond))
		if n := srv.Active(); n != 0 {
			t.Errorf("%d connections open after Shutdown", n)
		}
	})
}

// TestShutdownForcesAtDeadline: an echo stream is never idle, so it keeps
// the grace period (the wake-up that shutdown sends a blocked read does not
// end it, with or without an idle timeout); when the context ends,
// Shutdown closes it, returns the context's error, and the peer sees its
// connection end.
func TestShutdownForcesAtDeadline(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		for _, idle := range []time.Duration{0, -1} {
			shutdownForcesAtDeadline(t, engine, idle)
		}
	})
}

func shutdownForcesAtDeadline(t *testing.T, engine string, idle time.Duration) {
	srv := server.New(server.Config{Logger: quiet, Engine: engine, IdleTimeout: idle})
	c := dial(t, "tcp", serveStream(t, srv, echo.Service()))
	echoes := func(msg string) error {
		c.Write([]byte(msg))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		got := make([]byte, len(msg))
		if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
			return fmt.Errorf("echo of %q: %q, %v", msg, got, err)
		}
		return nil
	}
	if err := echoes("ping"); err != nil {
		t.Fatal(err)
	}
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	sockittest.Eventually(t, 10*time.Second, "listener closed", func() bool {
		c, err := net.Dial("tcp", c.RemoteAddr().String())
		if err == nil {
			c.Close()
		}
		return err != nil
	})
	if err := echoes("still there"); err != nil {
		t.Fatalf("idle timeout %v: the stream during the grace: %v", idle, err)
	}
	if err := <-shut; !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("idle timeout %v: Shutdown with an echo stream open: %v, want the context's deadline", idle, err)
	}
	if n, err := c.Read(make([]byte, 1)); err == nil || errTimeout(err) == err {
		t.Fatalf("the stream after the forced close: %d bytes, %v; want it closed", n, err)
	}
	if n := srv.Active(); n != 0 {
		t.Errorf("%d connections open after Shutdown", n)
	}
}

// TestUnknownEngine: a misspelt engine is an error naming the known ones,
// not a silent default.
func TestUnknownEngine(t *testing.T) {
	srv := server.New(server.Config{Logger: quiet, Engine: "epol"})
	defer srv.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	err = srv.ServeStream(ln, echo.Service())
	if err == nil || !strings.Contains(err.Error(), `"epol"`) || !strings.Contains(err.Error(), "loop, goroutine") {
		t.Fatalf("ServeStream with engine epol: %v", err)
	}
}

// TestInheritedDescriptors: a listener and a UDP socket rebuilt from
// inherited file descriptors (as systemd socket activation passes them)
// are served on every engine, and on the event loops by the loop engine.
func TestInheritedDescriptors(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Logger: quiet, Engine: engine})
		ln0, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		pc0, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lf, _ := ln0.(*net.TCPListener).File()
		pf, _ := pc0.(*net.UDPConn).File()
		ln0.Close()
		pc0.Close()
		ln, err := net.FileListener(lf)
		lf.Close()
		if err != nil {
			t.Fatal(err)
		}
		pc, err := net.FilePacketConn(pf)
		pf.Close()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{}, 2)
		go func() { srv.ServeStream(ln, echo.Service()); done <- struct{}{} }()
		go func() { srv.ServePacket(pc, echo.Service()); done <- struct{}{} }()
		defer func() { srv.Close(); <-done; <-done }()

		for _, network := range []string{"tcp", "udp"} {
			addr := ln.Addr().String()
			if network == "udp" {
				addr = pc.LocalAddr().String()
			}
			c := dial(t, network, addr)
			q := sockit.Query{Retries: 5, Timeout: time.Second}
			got, _, err := q.Exchange(context.Background(), c, []byte("hello"), make([]byte, 16))
			if err != nil || string(got) != "hello" {
				t.Fatalf("%s echo over an inherited descriptor: %q, %v", network, got, err)
			}
		}
		if onLoops := server.OnLoops(srv, ln) && server.OnLoops(srv, pc); onLoops != (engine == "loop") {
			t.Errorf("engine %s: served on the event loops: %v", engine, onLoops)
		}
	})
}

// TestLoopsConfig: Config.Loops sets the number of event loops; zero means
// GOMAXPROCS minus one, at least one.
func TestLoopsConfig(t *testing.T) {
	for _, tt := range []struct{ loops, want int }{
		{3, 3},
		{1, 1},
		{0, max(runtime.GOMAXPROCS(0)-1, 1)},
		{-1, max(runtime.GOMAXPROCS(0)-1, 1)},
	} {
		srv := server.New(server.Config{Logger: quiet, Loops: tt.loops})
		c := dial(t, "tcp", serveStream(t, srv, echo.Service()))
		c.Write([]byte("x"))
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			t.Fatal(err)
		}
		if got := server.LoopCount(srv); got != tt.want {
			t.Errorf("Loops %d: %d loops, want %d", tt.loops, got, tt.want)
		}
	}
}
