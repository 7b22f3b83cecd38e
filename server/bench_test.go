package server_test

import (
	"io"
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
	c := dial(b, "tcp", serveStream(b, srv, echo.Service()))
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
func BenchmarkUDPEchoPingPong(b *testing.B) { benchUDPEcho(b, 1) }

// BenchmarkUDPEchoBurst sends 32 datagrams of 64 bytes back to back from
// one source and reads the 32 replies, per op: the path where a batch fills
// and the replies leave segmented (UDP_SEGMENT).
func BenchmarkUDPEchoBurst(b *testing.B) { benchUDPEcho(b, 32) }

// benchUDPEcho sends burst datagrams of 64 bytes, then reads the replies, per op.
func benchUDPEcho(b *testing.B, burst int) {
	srv := server.New(server.Config{Logger: quiet, UDP: server.UDPGuard{Off: true}})
	c := dial(b, "udp", servePacket(b, srv, echo.Service()).LocalAddr().String())
	msg, buf := make([]byte, 64), make([]byte, 128)
	b.ReportAllocs()
	b.SetBytes(int64(64 * burst))
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
