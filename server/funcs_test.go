package server_test

import (
	"bytes"
	"io"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/server"
)

// TestFuncAdapters: a HandlerFunc answers each read and each datagram and
// leaves the connection to the peer; a GreetingFunc speaks first, then
// closes, and answers any datagram with the same message; on every engine.
// Opening a session of either allocates nothing.
func TestFuncAdapters(t *testing.T) {
	upper := server.HandlerFunc(func(in, buf []byte) []byte { return append(buf, bytes.ToUpper(in)...) })
	hello := server.GreetingFunc(func(buf []byte) []byte { return append(buf, "hello\r\n"...) })
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv := server.New(server.Config{Engine: engine, Logger: quiet})
			c := dial(t, "tcp", serveStream(t, srv, server.Service{Name: "upper", Stream: upper, Packet: upper}))
			for _, word := range []string{"one", "two"} {
				c.Write([]byte(word))
				got := make([]byte, len(word))
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				if _, err := io.ReadFull(c, got); err != nil || string(got) != strings.ToUpper(word) {
					t.Fatalf("HandlerFunc over TCP: %q, %v; want %q (the connection stays open)", got, err, strings.ToUpper(word))
				}
			}

			g := dial(t, "tcp", serveStream(t, srv, server.Service{Name: "hello", Stream: hello, Packet: hello}))
			g.SetReadDeadline(time.Now().Add(5 * time.Second))
			if got, err := io.ReadAll(g); err != nil || string(got) != "hello\r\n" {
				t.Fatalf("GreetingFunc over TCP: %q, %v; want the greeting, then the close", got, err)
			}

			for _, tc := range []struct {
				svc        server.Service
				send, want string
			}{
				{server.Service{Name: "upper", Packet: upper}, "three", "THREE"},
				{server.Service{Name: "hello", Packet: hello}, "anything", "hello\r\n"},
				{server.Service{Name: "hello", Packet: hello}, "", "hello\r\n"},
			} {
				pc := servePacket(t, srv, tc.svc)
				u := dial(t, "udp", pc.LocalAddr().String())
				u.Write([]byte(tc.send))
				buf := make([]byte, 100)
				u.SetReadDeadline(time.Now().Add(5 * time.Second))
				n, err := u.Read(buf)
				if err != nil || string(buf[:n]) != tc.want {
					t.Errorf("%s over UDP, sent %q: %q, %v; want %q", tc.svc.Name, tc.send, buf[:n], err, tc.want)
				}
			}
		})
	}
	var s server.Session
	for _, h := range []server.StreamHandler{upper, hello} {
		if n := testing.AllocsPerRun(100, func() { s = h.Open(netip.AddrPort{}) }); n != 0 {
			t.Errorf("%T.Open allocates %v times, want 0", h, n)
		}
	}
	_ = s
}
