package httpraw_test

import (
	"bytes"
	"net/netip"
	"testing"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
)

// TestSessionIdleAndDrain: the responder's session is idle only between
// requests, and once drained answers the next request with Connection:
// close and asks the runtime to close after it.
func TestSessionIdleAndDrain(t *testing.T) {
	sess := (&httpraw.Responder{}).Open(netip.AddrPort{})
	id, ok := sess.(server.Idler)
	if !ok {
		t.Fatal("the responder's session does not implement server.Idler")
	}
	buf := make([]byte, 0, 16<<10)
	if !id.Idle() {
		t.Error("a fresh session is not idle")
	}
	out, closeAfter := sess.Receive([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), buf)
	if !id.Idle() || closeAfter || !bytes.Contains(out, []byte("Connection: keep-alive\r\n")) {
		t.Fatalf("after a whole keep-alive request: idle %v, closeAfter %v", id.Idle(), closeAfter)
	}
	sess.Receive([]byte("GET / HTTP/1.1\r\nHo"), buf)
	if id.Idle() {
		t.Error("idle with a request half received")
	}
	id.Drain()
	out, closeAfter = sess.Receive([]byte("st: x\r\n\r\n"), buf)
	if !closeAfter || !bytes.Contains(out, []byte("Connection: close\r\n")) || !bytes.HasSuffix(out, httpraw.Page()) {
		t.Fatalf("request finished after Drain: closeAfter %v, response %q", closeAfter, out)
	}
}
