package server_test

import (
	"io"
	"net"
	"testing"

	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/server"
)

// BenchmarkTCPEchoPingPong is the echo hot path end to end on the event
// loops: a 64-byte message out and back over loopback per op. Allocations
// are the whole process's (client and server) per message; the aim is zero.
func BenchmarkTCPEchoPingPong(b *testing.B) {
	b.Run("loops", func(b *testing.B) { benchTCPEcho(b, "") })
	b.Run("goroutines", func(b *testing.B) { benchTCPEcho(b, "goroutine") })
}

func benchTCPEcho(b *testing.B, engine string) {
	srv := server.New(server.Config{Logger: quiet, Engine: engine})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeStream(ln, echo.Service()) }()
	defer func() { srv.Close(); <-done }()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg, buf := make([]byte, 64), make([]byte, 64)
	b.ReportAllocs()
	b.SetBytes(64)
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUDPEchoPingPong is the same over UDP, on the event loops.
func BenchmarkUDPEchoPingPong(b *testing.B) {
	srv := server.New(server.Config{Logger: quiet, UDP: server.UDPGuard{Off: true}})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServePacket(pc, echo.Service()) }()
	defer func() { srv.Close(); <-done }()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	msg, buf := make([]byte, 64), make([]byte, 128)
	b.ReportAllocs()
	b.SetBytes(64)
	for b.Loop() {
		if _, err := c.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := c.Read(buf); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkUDPEchoBurst sends 32 datagrams of 64 bytes back to back from
// one source and reads the 32 replies, per op: the path where a batch fills
// and the replies leave segmented (UDP_SEGMENT).
func BenchmarkUDPEchoBurst(b *testing.B) {
	srv := server.New(server.Config{Logger: quiet, UDP: server.UDPGuard{Off: true}})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); srv.ServePacket(pc, echo.Service()) }()
	defer func() { srv.Close(); <-done }()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	const burst = 32
	msg, buf := make([]byte, 64), make([]byte, 128)
	b.ReportAllocs()
	b.SetBytes(64 * burst)
	for b.Loop() {
		for range burst {
			if _, err := c.Write(msg); err != nil {
				b.Fatal(err)
			}
		}
		for range burst {
			if _, err := c.Read(buf); err != nil {
				b.Fatal(err)
			}
		}
	}
}
