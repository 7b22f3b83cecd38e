package sockit

import (
	"context"
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// The Bluetooth plumbing past socket() (connect through the poller,
// accept, half-close), for tests on a family this kernel has.

func FamilyListenerOnFD(fd int, e Endpoint) net.Listener {
	return &familyListener{f: os.NewFile(uintptr(fd), "test"), e: e}
}

func ConnectFD(ctx context.Context, fd int, sa unix.Sockaddr, e Endpoint, timeout time.Duration) (net.Conn, error) {
	return connectFD(ctx, fd, sa, e, timeout)
}
