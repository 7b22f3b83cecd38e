package sockittest

import (
	"net"
	"path/filepath"
	"testing"
)

// Server is what Serve needs of a server; sockit's *server.Server is one,
// with S its server.Service. (sockittest does not import server, so that
// server's own in-package tests may use sockittest.)
type Server[S any] interface {
	ServeStream(ln net.Listener, svc S) error
	ServePacket(pc net.PacketConn, svc S) error
	Close() error
}

// Serve serves svc on srv over a fresh socket of network ("tcp", "udp",
// their 4 and 6 variants on loopback with a port the kernel picks, or
// "unix" and "unixgram" in tb.TempDir()) and returns its address. The
// socket is bound before Serve returns, so a client may dial at once. When
// the test ends srv is closed and its Serve call waited for.
func Serve[S any](tb testing.TB, srv Server[S], network string, svc S) net.Addr {
	tb.Helper()
	addr := "127.0.0.1:0"
	switch network {
	case "tcp6", "udp6":
		addr = "[::1]:0"
	case "unix", "unixgram":
		addr = filepath.Join(tb.TempDir(), "s.sock")
	}
	var sock any
	var err error
	switch network {
	case "udp", "udp4", "udp6", "unixgram":
		sock, err = net.ListenPacket(network, addr)
	default:
		sock, err = net.Listen(network, addr)
	}
	if err != nil {
		tb.Fatal(err)
	}
	return ServeSocket(tb, srv, sock, svc)
}

// ServeSocket serves svc on srv over sock, a net.Listener or a
// net.PacketConn the test opened itself, and returns its address; srv is
// closed and its Serve call waited for when the test ends.
func ServeSocket[S any](tb testing.TB, srv Server[S], sock any, svc S) net.Addr {
	tb.Helper()
	done := make(chan struct{})
	var addr net.Addr
	switch s := sock.(type) {
	case net.Listener:
		addr = s.Addr()
		go func() { defer close(done); srv.ServeStream(s, svc) }()
	case net.PacketConn:
		addr = s.LocalAddr()
		go func() { defer close(done); srv.ServePacket(s, svc) }()
	default:
		tb.Fatalf("sockittest.ServeSocket: %T is neither a net.Listener nor a net.PacketConn", sock)
	}
	tb.Cleanup(func() { srv.Close(); <-done })
	return addr
}
