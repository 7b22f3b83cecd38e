package server_test

import (
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/server"
)

// deferAccept returns ln's TCP_DEFER_ACCEPT once the server's loops serve
// it (0 on other engines, where the option is never set).
func deferAccept(t *testing.T, srv *server.Server, ln net.Listener, engine string) int {
	t.Helper()
	if engine == "goroutine" {
		return 0
	}
	for deadline := time.Now().Add(5 * time.Second); !server.OnLoops(srv, ln); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the listener never joined the loops")
		}
	}
	rc, err := ln.(*net.TCPListener).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	rc.Control(func(fd uintptr) { v, gerr = unix.GetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_DEFER_ACCEPT) })
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}
