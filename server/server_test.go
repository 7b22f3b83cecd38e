package server_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/sockit/sockit"
	"go.uber.org/goleak"

	"github.com/sockit/sockit/proto/chargen"
	"github.com/sockit/sockit/proto/daytime"
	"github.com/sockit/sockit/proto/discard"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/qotd"
	"github.com/sockit/sockit/proto/timeproto"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/server/promrecorder"
	"github.com/sockit/sockit/sockittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// metric sums the samples of a metric family whose labels include want.
func metric(t *testing.T, m *promrecorder.Recorder, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, s := range f.GetMetric() {
			for k, v := range want {
				if !hasLabel(s, k, v) {
					continue next
				}
			}
			if s.Counter != nil {
				sum += s.Counter.GetValue()
			} else if s.Gauge != nil {
				sum += s.Gauge.GetValue()
			}
		}
	}
	return sum
}

func hasLabel(s *dto.Metric, k, v string) bool {
	for _, l := range s.GetLabel() {
		if l.GetName() == k && l.GetValue() == v {
			return true
		}
	}
	return false
}

// serveStream starts svc on a fresh TCP listener and returns its address;
// the server closes when the test ends.
func serveStream(tb testing.TB, srv *server.Server, svc server.Service) string {
	tb.Helper()
	return sockittest.Serve(tb, srv, "tcp", svc).String()
}

// servePacket starts svc on a fresh UDP socket and returns the socket; the
// server closes when the test ends.
func servePacket(tb testing.TB, srv *server.Server, svc server.Service) *net.UDPConn {
	tb.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	sockittest.ServeSocket(tb, srv, pc, svc)
	return pc.(*net.UDPConn)
}

// dial connects to addr; the connection closes when the test ends.
func dial(tb testing.TB, network, addr string) net.Conn {
	tb.Helper()
	c, err := net.Dial(network, addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// counted wraps a packet handler to signal every datagram it is handed.
type counted struct {
	server.PacketHandler
	seen chan struct{}
}

func (c counted) Reply(in, buf []byte) []byte {
	c.seen <- struct{}{}
	return c.PacketHandler.Reply(in, buf)
}

// TestUDPFloodIsNotAmplified sends 10,000 datagrams from one source to
// every UDP service, empty ones to the services that answer anything with
// more: the bytes sent back stay within the bytes received plus the
// budget's burst and its refill over the flood's duration, and an
// amplifying service's drops are counted.
func TestUDPFloodIsNotAmplified(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		const n = 10000
		svcs := []struct {
			svc        server.Service
			size       int  // request bytes
			amplifying bool // replies with more than it got
		}{
			{chargen.Service(), 0, true},
			{qotd.Service(nil), 0, true},
			{daytime.Service("", nil), 0, true},
			{timeproto.Service(nil), 0, true},
			{echo.Service(), 64, false},
			{discard.Service(), 64, false},
		}
		for _, tc := range svcs {
			svc := tc.svc
			t.Run(svc.Name, func(t *testing.T) {
				m := promrecorder.New()
				g := server.UDPGuard{}
				srv := server.New(server.Config{Engine: engine, Recorder: m, Logger: quiet, UDP: g})
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					t.Fatal(err)
				}
				seen := make(chan struct{}, 100)
				svc.Packet = counted{svc.Packet, seen}
				done := make(chan struct{})
				go func() { defer close(done); srv.ServePacket(pc, svc) }()
				stop := sync.OnceFunc(func() { srv.Close(); <-done })
				defer stop()

				c, err := net.Dial("udp", pc.LocalAddr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				var got atomic.Int64
				readerDone := make(chan struct{})
				go func() {
					defer close(readerDone)
					buf := make([]byte, 65536)
					for {
						k, err := c.Read(buf)
						if err != nil {
							return
						}
						got.Add(int64(k))
					}
				}()
				start := time.Now()
				req := make([]byte, tc.size)
				for sent := 0; sent < n; sent += 100 {
					for range 100 {
						if _, err := c.Write(req); err != nil {
							t.Fatal(err)
						}
					}
					// Wait until the server has handled this batch, so the
					// kernel's buffer never drops a datagram of the flood.
					for range 100 {
						select {
						case <-seen:
						case <-time.After(10 * time.Second):
							t.Fatalf("server handled only part of the flood after %d sent", sent)
						}
					}
				}
				stop() // every charge to the budget is made by now
				elapsed := time.Since(start)
				in := metric(t, m, "sockit_bytes_total", map[string]string{"direction": "in"})
				out := metric(t, m, "sockit_bytes_total", map[string]string{"direction": "out"})
				allowed := in + 4096 + 1024*elapsed.Seconds()
				t.Logf("%s: %d datagrams of %d bytes in %v: %v reply bytes sent for %v received (allowed %.0f), %v budget drops",
					svc.Name, n, tc.size, elapsed.Round(time.Millisecond), out, in, allowed,
					metric(t, m, "sockit_drops_total", map[string]string{"reason": server.DropBudget}))
				if in != float64(n*tc.size) {
					t.Errorf("server counted %v request bytes, sent %d", in, n*tc.size)
				}
				if out > allowed {
					t.Errorf("sent %v reply bytes for %v request bytes, budget allows %.0f", out, in, allowed)
				}
				if tc.amplifying {
					if out == 0 {
						t.Error("not even the first query was answered")
					}
					if d := metric(t, m, "sockit_drops_total", map[string]string{"reason": server.DropBudget}); d < n/2 {
						t.Errorf("only %v drops counted", d)
					}
				}
				c.Close()
				<-readerDone
				if got.Load() > int64(out) {
					t.Errorf("client got %d bytes, server counted %v", got.Load(), out)
				}
			})
		}
	})
}

// TestUDPEchoIsNotThrottled: echo replies never exceed requests, so a busy
// echo client is not cut off by the budget.
func TestUDPEchoIsNotThrottled(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Engine: engine, Logger: quiet})
		c := dial(t, "udp", servePacket(t, srv, echo.Service()).LocalAddr().String())
		msg := bytes.Repeat([]byte("e"), 1400)
		buf := make([]byte, 2000)
		for i := range 2000 {
			c.Write(msg)
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			k, err := c.Read(buf)
			if err != nil || !bytes.Equal(buf[:k], msg) {
				t.Fatalf("echo %d: %v", i, err)
			}
		}
	})
}

func TestUDPReservedSourcePortDropped(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		m := promrecorder.New()
		srv, lb := newLogged(server.Config{Engine: engine, Recorder: m})
		pc := servePacket(t, srv, echo.Service())
		// A peer on port 1019, as another small service would be.
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 1019}, pc.LocalAddr().(*net.UDPAddr))
		if err != nil {
			t.Skipf("cannot bind a port below 1024 (needs root): %v", err)
		}
		defer c.Close()
		c.Write([]byte("loop?"))
		sockittest.Eventually(t, 5*time.Second, "drop counted", func() bool {
			return metric(t, m, "sockit_drops_total", map[string]string{"reason": server.DropReservedPort}) == 1
		})
		if out := metric(t, m, "sockit_datagrams_total", map[string]string{"direction": "out"}); out != 0 {
			t.Errorf("%v datagrams sent to a reserved port", out)
		}
		sockittest.Eventually(t, 5*time.Second, "the drop logged", func() bool {
			ls := lb.lines(t, server.DropReservedPort)
			return len(ls) == 1 && ls[0].Count == 1 && ls[0].Source == "127.0.0.1:1019" && ls[0].Msg == "datagrams dropped"
		})
	})
}

// TestIdleConnectionsDoNotDelayNewClients holds 2,000 idle connections and
// then runs a fresh echo exchange.
func TestIdleConnectionsDoNotDelayNewClients(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Engine: engine, Logger: quiet, MaxConnsPerSource: -1})
		addr := serveStream(t, srv, echo.Service())
		var idle []net.Conn
		for range 2000 {
			c := dial(t, "tcp", addr)
			idle = append(idle, c)
		}
		sockittest.Eventually(t, 10*time.Second, "2000 connections accepted", func() bool { return srv.Active() == 2000 })
		start := time.Now()
		c := dial(t, "tcp", addr)
		c.Write([]byte("hello there"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 11)
		if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "hello there" {
			t.Fatalf("new client: %q, %v", buf, err)
		}
		t.Logf("new echo client answered in %v with 2000 idle connections open", time.Since(start))
	})
}

func TestMaxConnsRefusesCleanly(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		m := promrecorder.New()
		srv := server.New(server.Config{Engine: engine, Logger: quiet, MaxConns: 3, Recorder: m})
		addr := serveStream(t, srv, echo.Service())
		var open []net.Conn
		for range 3 {
			c := dial(t, "tcp", addr)
			open = append(open, c)
		}
		sockittest.Eventually(t, 5*time.Second, "3 accepted", func() bool { return srv.Active() == 3 })
		c := dial(t, "tcp", addr)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, errTimeout(err)) {
			t.Fatalf("the fourth connection was not closed: %v", err)
		}
		if r := metric(t, m, "sockit_connections_total", map[string]string{"result": "refused"}); r != 1 {
			t.Errorf("refused count %v, want 1", r)
		}
		open[0].Close()
		sockittest.Eventually(t, 5*time.Second, "a slot freed", func() bool { return srv.Active() == 2 })
		c2, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		c2.Write([]byte("x"))
		c2.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c2.Read(make([]byte, 1)); err != nil {
			t.Fatalf("a connection after a slot freed: %v", err)
		}
	})
}

// errTimeout returns err when it is a timeout, so errors.Is matches it.
func errTimeout(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return err
	}
	return errors.New("not a timeout")
}

func TestIdleTimeoutCloses(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Engine: engine, Logger: quiet, IdleTimeout: 100 * time.Millisecond})
		addr := serveStream(t, srv, echo.Service())
		c := dial(t, "tcp", addr)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("idle connection: %v, want EOF from the server's close", err)
		}
	})
}

// TestSlowReaderCostsBoundedMemory: a chargen client that never reads is
// closed at the write timeout instead of growing a buffer.
func TestSlowReaderIsClosed(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Engine: engine, Logger: quiet, WriteTimeout: 200 * time.Millisecond})
		addr := serveStream(t, srv, chargen.Service())
		dial(t, "tcp", addr) // a client that never reads
		sockittest.Eventually(t, 5*time.Second, "accepted", func() bool { return srv.Active() == 1 })
		sockittest.Eventually(t, 10*time.Second, "the stalled chargen connection closed", func() bool { return srv.Active() == 0 })
	})
}

// TestShutdownLetsTransfersFinish starts 50 echo transfers, shuts the server
// down while they are in flight, and checks every byte came back.
func TestShutdownLetsTransfersFinish(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Engine: engine, Logger: quiet})
		addr := serveStream(t, srv, echo.Service())
		const clients, size = 50, 256 << 10
		var started, wg sync.WaitGroup
		errs := make(chan error, clients)
		release := make(chan struct{})
		for i := range clients {
			started.Add(1)
			wg.Add(1)
			go func() {
				defer wg.Done()
				msg := sockittest.RandomBytes(size, uint64(i))
				c, err := net.Dial("tcp", addr)
				if err != nil {
					started.Done()
					errs <- err
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				got := make([]byte, 0, size)
				buf := make([]byte, 4096)
				// First chunk, and its echo: the transfer is in flight.
				c.Write(msg[:1000])
				k, err := io.ReadFull(c, buf[:1000])
				got = append(got, buf[:k]...)
				started.Done()
				if err != nil {
					errs <- err
					return
				}
				<-release
				go func() { c.Write(msg[1000:]); c.(*net.TCPConn).CloseWrite() }()
				rest, err := io.ReadAll(c)
				got = append(got, rest...)
				if err != nil || !bytes.Equal(got, msg) {
					errs <- errors.New("transfer lost or changed bytes")
				}
			}()
		}
		started.Wait()
		shut := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			shut <- srv.Shutdown(ctx)
		}()
		// New connections are refused once shutdown began.
		sockittest.Eventually(t, 5*time.Second, "listener closed", func() bool {
			c, err := net.Dial("tcp", addr)
			if err == nil {
				c.Close()
			}
			return err != nil
		})
		close(release)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if err := <-shut; err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
}

// TestSlowloris holds 5,000 idle connections (as a slowloris attack does):
// a new client is still answered at once, and the server closes every idle
// one at its idle timeout.
func TestSlowloris(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Engine: engine, Logger: quiet, MaxConnsPerSource: -1, IdleTimeout: time.Second})
		addr := serveStream(t, srv, echo.Service())
		var idle []net.Conn
		for range 5000 {
			c := dial(t, "tcp", addr)
			c.Write([]byte("G")) // a request that never completes
			idle = append(idle, c)
		}
		start := time.Now()
		c := dial(t, "tcp", addr)
		c.Write([]byte("ping"))
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 4)
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatalf("new client behind 5000 idle connections: %v", err)
		}
		lat := time.Since(start)
		t.Logf("new client answered in %v with 5000 slowloris connections open", lat)
		if lat > time.Second {
			t.Errorf("new client waited %v", lat)
		}
		// Every idle connection is closed by the server at its idle timeout.
		sockittest.Eventually(t, 20*time.Second, "all idle connections closed", func() bool { return srv.Active() == 0 })
		for _, ic := range idle[:10] {
			ic.SetReadDeadline(time.Now().Add(time.Second))
			got, err := io.ReadAll(ic)
			if err != nil || string(got) != "G" {
				t.Errorf("idle connection: echo %q then %v, want the byte back and EOF", got, err)
			}
		}
	})
}

func TestMaxConnsPerSourceRefuses(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		m := promrecorder.New()
		srv := server.New(server.Config{Engine: engine, Logger: quiet, MaxConnsPerSource: 2, Recorder: m})
		addr := serveStream(t, srv, echo.Service())
		for range 2 {
			dial(t, "tcp", addr)
		}
		sockittest.Eventually(t, 5*time.Second, "2 accepted", func() bool { return srv.Active() == 2 })
		c := dial(t, "tcp", addr)
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || errTimeout(err) == err {
			t.Fatalf("a third connection from the same address was not closed: %v", err)
		}
		if d := metric(t, m, "sockit_drops_total", map[string]string{"reason": server.DropPerSource}); d != 1 {
			t.Errorf("per-source drops %v, want 1", d)
		}
	})
}

// TestEchoClientThatNeverReads: the server stops reading from a client that
// does not read its echo, so the client's writes stall on TCP flow control
// instead of the server buffering everything it sends.
func TestEchoClientThatNeverReads(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Engine: engine, Logger: quiet})
		addr := serveStream(t, srv, echo.Service())
		c := dial(t, "tcp", addr)
		c.SetWriteDeadline(time.Now().Add(2 * time.Second))
		chunk := make([]byte, 1<<20)
		var sent int
		for sent < 256<<20 {
			n, err := c.Write(chunk)
			sent += n
			if err != nil {
				break
			}
		}
		t.Logf("client that never reads got %d KiB into the connection before it stalled", sent>>10)
		if sent >= 256<<20 {
			t.Fatalf("256 MiB accepted from a client that never reads its echo: the server is buffering without bound")
		}
	})
}

// TestUDPReadBuffer: UDP sockets get a deep receive queue by default (the
// kernel caps it at net.core.rmem_max), and -1 leaves the system's.
func TestUDPReadBuffer(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		sysctl := func(name string) int {
			b, err := os.ReadFile("/proc/sys/net/core/" + name)
			if err != nil {
				t.Skipf("no %s: %v", name, err)
			}
			n, err := strconv.Atoi(strings.TrimSpace(string(b)))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		rmemMax, rmemDefault := sysctl("rmem_max"), sysctl("rmem_default")
		for _, tt := range []struct {
			cfg, want int
		}{
			{0, 2 * min(4<<20, rmemMax)},
			{1 << 20, 2 * min(1<<20, rmemMax)},
			{-1, rmemDefault},
		} {
			srv := server.New(server.Config{Engine: engine, Logger: quiet, UDPReadBuffer: tt.cfg})
			pc := servePacket(t, srv, echo.Service())
			// One echo round trip: the server has set its socket up by then.
			q := sockit.Query{Retries: 5, Timeout: time.Second}
			got, _, err := q.Exchange(context.Background(), dial(t, "udp", pc.LocalAddr().String()), []byte("x"), make([]byte, 16))
			if err != nil || string(got) != "x" {
				t.Fatalf("echo: %q, %v", got, err)
			}
			size, err := server.ReadBuffer(pc)
			if err != nil || size != tt.want {
				t.Errorf("UDPReadBuffer %d: SO_RCVBUF %d, %v; want %d", tt.cfg, size, err, tt.want)
			}
		}
	})
}

// TestUDPEchoBurst: a burst from one source is answered in full and in
// order, byte for byte (runs of replies to one address leave segmented).
func TestUDPEchoBurst(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Engine: engine, Logger: quiet, UDP: server.UDPGuard{Off: true}})
		c := dial(t, "udp", servePacket(t, srv, echo.Service()).LocalAddr().String())
		var sent [][]byte
		for i := range 100 {
			size := 64
			if i%9 == 8 {
				size = 10 + i // a shorter or longer one now and then
			}
			msg := sockittest.RandomBytes(size, uint64(i))
			if _, err := c.Write(msg); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, msg)
		}
		buf := make([]byte, 2000)
		for i, want := range sent {
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := c.Read(buf)
			if err != nil {
				t.Fatalf("reply %d of %d: %v", i, len(sent), err)
			}
			if !bytes.Equal(buf[:n], want) {
				t.Fatalf("reply %d: %d bytes, want %d bytes of request %d", i, n, len(want), i)
			}
		}
	})
}

// TestCloseWhileStarting: a server closed while its listeners and UDP
// sockets are still joining the event loops stops them all, every time,
// and leaves nothing registered or running (goleak checks at the end).
func TestCloseWhileStarting(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		for i := range 200 {
			srv := server.New(server.Config{Engine: engine, Logger: quiet})
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 2)
			go func() { done <- srv.ServePacket(pc, echo.Service()) }()
			go func() { done <- srv.ServeStream(ln, echo.Service()) }()
			if i%2 == 1 {
				runtime.Gosched()
			}
			srv.Close()
			for range 2 {
				select {
				case err := <-done:
					if !errors.Is(err, server.ErrServerClosed) {
						t.Fatalf("round %d: serve returned %v, want ErrServerClosed", i, err)
					}
				case <-time.After(10 * time.Second):
					t.Fatalf("round %d: serve still running 10s after Close", i)
				}
			}
		}
	})
}

// TestUDPSiblingSocketsKeepTheFamily: with several loops (Config.Loops), a UDP service on
// the IPv4 wildcard gets sibling sockets on the same port, and they too
// are IPv4 only: nothing answers on ::1. A dual-stack socket's siblings
// answer on both.
func TestUDPSiblingSocketsKeepTheFamily(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		if c, err := net.ListenPacket("udp6", "[::1]:0"); err != nil {
			t.Skipf("no IPv6 loopback here: %v", err)
		} else {
			c.Close()
		}
		for _, tt := range []struct {
			network, addr string
			v6            bool
		}{
			{"udp4", "0.0.0.0:0", false},
			{"udp", ":0", true},
		} {
			srv := server.New(server.Config{Engine: engine, Logger: quiet, Loops: 3}) // three loops, so two siblings
			pc, err := sockit.ListenPacket(context.Background(), sockit.Endpoint{Network: tt.network, Address: tt.addr})
			if err != nil {
				t.Fatal(err)
			}
			port := pc.LocalAddr().(*net.UDPAddr).Port
			done := make(chan struct{})
			go func() { defer close(done); srv.ServePacket(pc, echo.Service()) }()
			ask := func(to string, tries int) error {
				c, err := net.Dial("udp", net.JoinHostPort(to, strconv.Itoa(port)))
				if err != nil {
					return err
				}
				defer c.Close()
				q := sockit.Query{Retries: tries, Timeout: 200 * time.Millisecond}
				_, _, err = q.Exchange(context.Background(), c, []byte("x"), make([]byte, 16))
				return err
			}
			// Many source ports, so the kernel spreads them over every sibling.
			for i := range 20 {
				if err := ask("127.0.0.1", 10); err != nil {
					t.Fatalf("%s %s: IPv4 query %d: %v", tt.network, tt.addr, i, err)
				}
			}
			for i := range 20 {
				err := ask("::1", 0)
				if tt.v6 && err != nil {
					t.Errorf("%s %s: IPv6 query %d: %v", tt.network, tt.addr, i, err)
				}
				if !tt.v6 && err == nil {
					t.Errorf("%s %s: a sibling answered on ::1", tt.network, tt.addr)
					break
				}
			}
			srv.Close()
			<-done
		}
	})
}
