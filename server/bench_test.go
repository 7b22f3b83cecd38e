package server_test

import (
	"io"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/server"
	"golang.org/x/sys/unix"
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

// BenchmarkIdleConns holds 5,000 idle echo connections per op and reports
// what they cost the server: live-B/conn is the growth of the live heap
// (after a collection), rss-B/conn the growth of the process's resident
// memory, both divided by the connections. The client side opens raw
// sockets, which cost the Go heap nothing. perf/compare-servers measures
// the same from outside, on 15,000 connections (issue 15, target 5).
func BenchmarkIdleConns(b *testing.B) {
	b.Run("loops", func(b *testing.B) { benchIdleConns(b, "") })
	b.Run("goroutines", func(b *testing.B) { benchIdleConns(b, "goroutine") })
}

func benchIdleConns(b *testing.B, engine string) {
	const n = 5000
	fds := make([]int, 0, n)
	var live, rss float64
	for b.Loop() {
		// A fresh server for each op: the figure includes what its first
		// n connections make it allocate, as in perf/compare-servers.
		srv := server.New(server.Config{Logger: quiet, Engine: engine, Loops: 1, MaxConns: 2 * n, MaxConnsPerSource: -1})
		addr := netip.MustParseAddrPort(serveStream(b, srv, echo.Service()))
		sa := &unix.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().As4()}
		heap0, rss0 := memNow(b)
		for range n {
			fd, err := unix.Socket(unix.AF_INET, unix.SOCK_STREAM, 0)
			if err == nil {
				if err = unix.Connect(fd, sa); err != nil {
					unix.Close(fd)
				}
			}
			if err != nil {
				b.Fatal(err)
			}
			fds = append(fds, fd)
		}
		// The loop accepts in order: once a later connection echoes, it
		// has set up every one before it.
		deadline := time.Now().Add(10 * time.Second)
		for srv.Active() < n {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d connections accepted after 10s", srv.Active(), n)
			}
			time.Sleep(time.Millisecond)
		}
		c := dial(b, "tcp", addr.String())
		if _, err := c.Write([]byte("x")); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
			b.Fatal(err)
		}
		heap1, rss1 := memNow(b)
		live += float64(heap1-heap0) / n
		rss += float64(rss1-rss0) / n
		c.Close()
		for _, fd := range fds {
			unix.Close(fd)
		}
		fds = fds[:0]
		if err := srv.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(live/float64(b.N), "live-B/conn")
	b.ReportMetric(rss/float64(b.N), "rss-B/conn")
}

// memNow returns the live heap after a collection and the resident set
// size, in bytes.
func memNow(b *testing.B) (heap, rss int64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	for line := range strings.Lines(string(status)) {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmRSS:" {
			kib, _ := strconv.ParseInt(f[1], 10, 64)
			rss = kib << 10
		}
	}
	return int64(ms.HeapAlloc), rss
}
