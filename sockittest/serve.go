package sockittest

import (
	"context"
	"net"
	"os"
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
	dir := ""
	if network == "unix" || network == "unixgram" {
		dir = tb.TempDir()
	}
	sock, err := listen(network, dir)
	if err != nil {
		tb.Fatal(err)
	}
	return ServeSocket(tb, srv, sock, svc)
}

// listen opens a fresh socket of network: on loopback with a port the
// kernel picks, or a unix socket in dir.
func listen(network, dir string) (any, error) {
	addr := "127.0.0.1:0"
	switch network {
	case "tcp6", "udp6":
		addr = "[::1]:0"
	case "unix", "unixgram":
		addr = filepath.Join(dir, "s.sock")
	}
	switch network {
	case "udp", "udp4", "udp6", "unixgram":
		return net.ListenPacket(network, addr)
	}
	return net.Listen(network, addr)
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

// GracefulServer is what Start needs of a server: sockit's
// *server.Server is one, with S its server.Service.
type GracefulServer[S any] interface {
	ServeStream(ln net.Listener, svc S) error
	ServePacket(pc net.PacketConn, svc S) error
	Shutdown(ctx context.Context) error
}

// Start serves svc on srv over a fresh socket of network, as Serve does,
// where there is no testing.TB: in an Example, or a program. It returns
// the socket's address and stop, which shuts srv down gracefully, waits
// for its Serve call and removes a unix socket's directory. It panics if
// the socket cannot be opened: an Example has nowhere else to say so.
//
//	srv := server.New(server.Config{})
//	addr, stop := sockittest.Start(srv, "tcp", echo.Service())
//	defer stop()
func Start[S any](srv GracefulServer[S], network string, svc S) (addr net.Addr, stop func()) {
	dir := ""
	if network == "unix" || network == "unixgram" {
		var err error
		if dir, err = os.MkdirTemp("", "sockittest-"); err != nil {
			panic(err)
		}
	}
	sock, err := listen(network, dir)
	if err != nil {
		panic(err)
	}
	done := make(chan struct{})
	switch s := sock.(type) {
	case net.Listener:
		addr = s.Addr()
		go func() { defer close(done); srv.ServeStream(s, svc) }()
	case net.PacketConn:
		addr = s.LocalAddr()
		go func() { defer close(done); srv.ServePacket(s, svc) }()
	}
	return addr, func() {
		srv.Shutdown(context.Background())
		<-done
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
}
