package rawsys

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// ReusePort is a net.ListenConfig Control function that sets SO_REUSEPORT
// before the socket is bound, so further sockets (of the same user) can
// share the address and the kernel spreads traffic over them. (On macOS
// and the BSDs the option lets them share the address; FreeBSD spreads
// traffic only with SO_REUSEPORT_LB, and the loops that add sockets are
// Linux's.)
func ReusePort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
	}); err != nil {
		return err
	}
	return serr
}
