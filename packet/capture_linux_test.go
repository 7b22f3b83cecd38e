package packet

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"

	"github.com/sockit/sockit/sockittest"
)

// Frames the kernel took before the capture's context ended are still
// returned: ^C loses nothing already captured, even in a block the kernel
// had not handed over yet.
func TestCaptureDrainsOnCancel(t *testing.T) {
	sockittest.RequireRoot(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	f, err := Compile("udp dst port " + strconv.Itoa(port))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	// A long block timeout: the frames sit in an open block when the
	// context ends.
	c, err := Open(ctx, "lo", f, Options{Blocks: 2, Timeout: 200e6})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cl, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	const sent = 5
	for range sent {
		if _, err := cl.Write([]byte("hello there")); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 64)
	for range sent { // the datagrams crossed lo, so the kernel has them
		if _, _, err := pc.ReadFrom(buf); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	got := 0
	for {
		_, err := c.Next(ctx)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			break
		}
		got++
	}
	if got != sent {
		t.Errorf("got %d frames after cancel, want %d", got, sent)
	}
	st, err := c.Stats()
	if err != nil || st.Received != sent || st.Dropped != 0 {
		t.Errorf("stats %+v, %v; want %d received, 0 dropped", st, err, sent)
	}
}
