package server_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/server/promrecorder"
	"github.com/sockit/sockit/sockittest"
)

// windowed is a line protocol shaped like HTTP/2's flow control, to test
// the runtime's Producer and Ender hooks: "get N" asks for N bytes of 'x',
// sent only as "+K" lines open a window of K more bytes; "ping" is answered
// "pong" at once; "bad" ends the connection, blamed on the peer. On drain
// it says "bye" before anything else, then finishes the body.
type windowed struct {
	ends  *atomic.Int64
	piece int

	line              []byte
	left, window      int
	draining, byeSaid bool
	blame             string
}

type windowedHandler struct {
	ends  atomic.Int64
	piece int
}

func (h *windowedHandler) Open(netip.AddrPort) server.Session {
	return &windowed{ends: &h.ends, piece: h.piece}
}

func (w *windowed) Greet(buf []byte) ([]byte, bool) { return nil, false }

func (w *windowed) Receive(in, buf []byte) ([]byte, bool) {
	for _, b := range in {
		if b != '\n' {
			w.line = append(w.line, b)
			continue
		}
		cmd := string(w.line)
		w.line = w.line[:0]
		switch {
		case cmd == "ping":
			buf = append(buf, "pong\n"...)
		case cmd == "bad":
			w.blame = "test-abuse"
			return buf, true
		case strings.HasPrefix(cmd, "get "):
			w.left, _ = strconv.Atoi(cmd[4:])
		case strings.HasPrefix(cmd, "+"):
			n, _ := strconv.Atoi(cmd[1:])
			w.window += n
		}
	}
	return buf, false
}

func (w *windowed) More(buf []byte) ([]byte, bool) {
	if w.draining && !w.byeSaid {
		w.byeSaid = true
		return append(buf, "bye\n"...), false
	}
	n := min(w.left, w.window, w.piece)
	if n <= 0 {
		return nil, false
	}
	w.left -= n
	w.window -= n
	return append(buf, bytes.Repeat([]byte{'x'}, n)...), false
}

func (w *windowed) Idle() bool { return w.left == 0 && len(w.line) == 0 && (!w.draining || w.byeSaid) }
func (w *windowed) Drain()     { w.draining = true }
func (w *windowed) End() string {
	w.ends.Add(1)
	return w.blame
}

var (
	_ server.Producer = (*windowed)(nil)
	_ server.Ender    = (*windowed)(nil)
	_ server.Idler    = (*windowed)(nil)
)

// readXs reads n bytes of 'x' from br, failing on anything else.
func readXs(t *testing.T, br *bufio.Reader, n int) {
	t.Helper()
	for i := range n {
		b, err := br.ReadByte()
		if err != nil {
			t.Fatalf("after %d of %d bytes: %v", i, n, err)
		}
		if b != 'x' {
			t.Fatalf("byte %d of %d is %q", i, n, b)
		}
	}
}

// expectSilence checks that nothing arrives on c for a while.
func expectSilence(t *testing.T, c net.Conn, br *bufio.Reader) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if b, err := br.ReadByte(); err == nil {
		t.Fatalf("got %q while the window was closed", b)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
}

// TestProducerPacedByWindow: a Producer's output comes only as its own
// state allows (here a window the peer opens), in pieces, and its input is
// read meanwhile; on every engine.
func TestProducerPacedByWindow(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := &windowedHandler{piece: 4096}
		srv := server.New(server.Config{Engine: engine, Logger: quiet})
		addr := serveStream(t, srv, server.Service{Name: "windowed", Stream: h})
		c := dial(t, "tcp", addr)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)

		io.WriteString(c, "get 300000\n")
		expectSilence(t, c, br)
		io.WriteString(c, "+65536\n")
		readXs(t, br, 65536)
		expectSilence(t, c, br)
		io.WriteString(c, "ping\n")
		if l, err := br.ReadString('\n'); err != nil || l != "pong\n" {
			t.Fatalf("ping answered %q, %v", l, err)
		}
		io.WriteString(c, "+1000000\n")
		readXs(t, br, 300000-65536)
		expectSilence(t, c, br)
	})
}

// TestProducerReadsBetweenPieces: on the loop engine a Producer with a
// long output still has its input read between pieces, so a "ping" sent
// in the middle of 64 MiB is answered before the end of it.
func TestProducerReadsBetweenPieces(t *testing.T) {
	h := &windowedHandler{piece: 16 << 10}
	srv := server.New(server.Config{Engine: "loop", Logger: quiet})
	addr := serveStream(t, srv, server.Service{Name: "windowed", Stream: h})
	c := dial(t, "tcp", addr)
	c.SetDeadline(time.Now().Add(20 * time.Second))
	const total = 64 << 20
	io.WriteString(c, "+"+strconv.Itoa(total)+"\nget "+strconv.Itoa(total)+"\n")
	br := bufio.NewReaderSize(c, 64<<10)
	readXs(t, br, 1<<20)
	io.WriteString(c, "ping\n")
	got := 1 << 20
	for {
		b, err := br.ReadByte()
		if err != nil {
			t.Fatalf("after %d bytes: %v", got, err)
		}
		if b == 'p' {
			break
		}
		got++
	}
	if got >= total {
		t.Fatalf("the pong came after the whole body")
	}
	t.Logf("pong after %d of %d bytes", got, total)
}

// TestProducerDrains: Shutdown reaches a Producer through Drain and More
// ("bye" comes at once, while its body waits for the window); it finishes
// the body, turns idle and is closed, and Shutdown returns nil.
func TestProducerDrains(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := &windowedHandler{piece: 4096}
		srv := server.New(server.Config{Engine: engine, Logger: quiet})
		addr := serveStream(t, srv, server.Service{Name: "windowed", Stream: h})
		c := dial(t, "tcp", addr)
		c.SetDeadline(time.Now().Add(10 * time.Second))
		br := bufio.NewReader(c)
		io.WriteString(c, "get 10000\n+100\n")
		readXs(t, br, 100)

		done := make(chan error, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done <- srv.Shutdown(ctx)
		}()
		if l, err := br.ReadString('\n'); err != nil || l != "bye\n" {
			t.Fatalf("drain said %q, %v", l, err)
		}
		io.WriteString(c, "+100000\n")
		readXs(t, br, 9900)
		if _, err := br.ReadByte(); err != io.EOF {
			t.Fatalf("after the body: %v, want EOF", err)
		}
		if err := <-done; err != nil {
			t.Fatalf("Shutdown: %v", err)
		}
	})
}

// TestEnderCountsBlame: End is called once per connection however it
// ends, and the reason a session gives is counted as a drop.
func TestEnderCountsBlame(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		h := &windowedHandler{piece: 4096}
		rec := promrecorder.New()
		srv := server.New(server.Config{Engine: engine, Logger: quiet, Recorder: rec})
		addr := serveStream(t, srv, server.Service{Name: "windowed", Stream: h})

		bad := dial(t, "tcp", addr)
		io.WriteString(bad, "ping\nbad\n")
		bad.SetDeadline(time.Now().Add(10 * time.Second))
		if b, err := io.ReadAll(bad); err != nil || string(b) != "pong\n" {
			t.Fatalf("bad peer read %q, %v", b, err)
		}
		good := dial(t, "tcp", addr)
		io.WriteString(good, "ping\n")
		good.SetDeadline(time.Now().Add(10 * time.Second))
		if l, err := bufio.NewReader(good).ReadString('\n'); err != nil || l != "pong\n" {
			t.Fatalf("good peer read %q, %v", l, err)
		}
		good.Close()
		sockittest.Eventually(t, 10*time.Second, "both connections ended", func() bool { return h.ends.Load() == 2 })
		if n := metric(t, rec, "sockit_drops_total", map[string]string{"reason": "test-abuse"}); n != 1 {
			t.Fatalf("drops counted for test-abuse: %v, want 1", n)
		}
	})
}
