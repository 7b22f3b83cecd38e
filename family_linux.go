package sockit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Sockaddr returns the socket address and socket() arguments of an rfcomm
// or l2cap endpoint.
func (e Endpoint) Sockaddr() (sa unix.Sockaddr, domain, typ, proto int, err error) {
	addr, n, _ := strings.Cut(e.Address, "/")
	bd, err := parseBDAddr(addr)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	v, err := strconv.ParseUint(n, 10, 16)
	if err != nil {
		return nil, 0, 0, 0, err
	}
	switch e.Network {
	case "rfcomm":
		return &unix.SockaddrRFCOMM{Addr: bdaddrLE(bd), Channel: uint8(v)}, unix.AF_BLUETOOTH, unix.SOCK_STREAM, unix.BTPROTO_RFCOMM, nil
	case "l2cap":
		return &unix.SockaddrL2{Addr: bdaddrLE(bd), PSM: uint16(v)}, unix.AF_BLUETOOTH, unix.SOCK_SEQPACKET, unix.BTPROTO_L2CAP, nil
	}
	return nil, 0, 0, 0, fmt.Errorf("%s endpoints have no x/sys socket address", e.Network)
}

// familySocket opens the socket for e, explaining a kernel without the
// family.
func familySocket(op string, e Endpoint) (fd int, sa unix.Sockaddr, err error) {
	opErr := func(err error) error {
		return &net.OpError{Op: op, Net: e.Network, Addr: FamilyAddr{e.Network, e.Address}, Err: err}
	}
	if e.Network == "ipx" {
		fd, err := unix.Socket(unix.AF_IPX, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
		if err == nil {
			// A kernel that still has IPX (before 4.18, or built with the
			// out-of-tree module): sockit does not speak it further.
			unix.Close(fd)
			return -1, nil, opErr(errors.New("this kernel opens AF_IPX sockets, but sockit has no IPX transport"))
		}
		return -1, nil, opErr(&FamilyUnavailableError{Family: "AF_IPX", Err: err,
			Why: "Linux removed IPX in 4.18 (2018); this kernel cannot open it"})
	}
	sa, domain, typ, proto, err := e.Sockaddr()
	if err != nil {
		return -1, nil, opErr(err)
	}
	fd, err = unix.Socket(domain, typ|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, proto)
	if err != nil {
		why := "the kernel refused a Bluetooth socket"
		switch {
		case errors.Is(err, unix.EAFNOSUPPORT):
			why = "this kernel has no Bluetooth support"
		case errors.Is(err, unix.EPROTONOSUPPORT):
			why = fmt.Sprintf("this kernel's Bluetooth has no %s protocol", strings.ToUpper(e.Network))
		case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
			why = "Bluetooth sockets are not permitted here"
		}
		return -1, nil, opErr(&FamilyUnavailableError{Family: "AF_BLUETOOTH", Err: err, Why: why})
	}
	return fd, sa, nil
}

// dialFamily connects to a Bluetooth endpoint (IPX fails in familySocket).
func dialFamily(ctx context.Context, e Endpoint, timeout time.Duration) (net.Conn, error) {
	fd, sa, err := familySocket("dial", e)
	if err != nil {
		return nil, err
	}
	return connectFD(ctx, fd, sa, e, timeout)
}

// connectFD connects a non-blocking socket of any family to sa through the
// runtime poller and returns it as a net.Conn.
func connectFD(ctx context.Context, fd int, sa unix.Sockaddr, e Endpoint, timeout time.Duration) (net.Conn, error) {
	f := os.NewFile(uintptr(fd), e.String())
	fail := func(err error) (net.Conn, error) {
		f.Close()
		return nil, &net.OpError{Op: "dial", Net: e.Network, Addr: FamilyAddr{e.Network, e.Address}, Err: err}
	}
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = f.SetWriteDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetWriteDeadline(time.Unix(1, 0)) })
	defer stop()
	rc, err := f.SyscallConn()
	if err != nil {
		return fail(err)
	}
	var cerr error
	started := false
	err = rc.Write(func(fd uintptr) bool {
		if !started {
			started = true
			cerr = unix.Connect(int(fd), sa)
			return cerr != unix.EINPROGRESS
		}
		// Writable: the connect finished, one way or the other.
		var soerr int
		soerr, cerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_ERROR)
		if cerr == nil && soerr != 0 {
			cerr = unix.Errno(soerr)
		}
		return true
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return fail(err)
	}
	_ = f.SetWriteDeadline(time.Time{})
	return &familyConn{File: f, local: FamilyAddr{e.Network, "local"}, remote: FamilyAddr{e.Network, e.Address}}, nil
}

// listenFamily binds and listens on a Bluetooth endpoint (00:00:00:00:00:00
// is any adapter).
func listenFamily(e Endpoint) (net.Listener, error) {
	fd, sa, err := familySocket("listen", e)
	if err != nil {
		return nil, err
	}
	opErr := func(err error) error {
		unix.Close(fd)
		return &net.OpError{Op: "listen", Net: e.Network, Addr: FamilyAddr{e.Network, e.Address}, Err: err}
	}
	if err := unix.Bind(fd, sa); err != nil {
		return nil, opErr(err)
	}
	if err := unix.Listen(fd, 128); err != nil {
		return nil, opErr(err)
	}
	return &familyListener{f: os.NewFile(uintptr(fd), e.String()), e: e}, nil
}

// familyConn is a connected Bluetooth socket: an *os.File gives it the
// runtime poller, deadlines included.
type familyConn struct {
	*os.File
	local, remote net.Addr
}

func (c *familyConn) LocalAddr() net.Addr  { return c.local }
func (c *familyConn) RemoteAddr() net.Addr { return c.remote }

// CloseWrite half-closes, so netcat can say "end of input" and keep
// reading.
func (c *familyConn) CloseWrite() error {
	rc, err := c.File.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Shutdown(int(fd), unix.SHUT_WR) }); err != nil {
		return err
	}
	return serr
}

type familyListener struct {
	f *os.File
	e Endpoint
}

func (l *familyListener) Accept() (net.Conn, error) {
	rc, err := l.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	var (
		nfd  int
		peer unix.Sockaddr
		aerr error
	)
	err = rc.Read(func(fd uintptr) bool {
		nfd, peer, aerr = unix.Accept4(int(fd), unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC)
		return aerr != unix.EAGAIN
	})
	if err == nil {
		err = aerr
	}
	if err != nil {
		return nil, &net.OpError{Op: "accept", Net: l.e.Network, Addr: l.Addr(), Err: err}
	}
	remote := FamilyAddr{l.e.Network, "peer"}
	switch p := peer.(type) {
	case *unix.SockaddrRFCOMM:
		remote.Address = formatBDAddr(bdaddrLE(p.Addr)) + "/" + strconv.Itoa(int(p.Channel))
	case *unix.SockaddrL2:
		remote.Address = formatBDAddr(bdaddrLE(p.Addr)) + "/" + strconv.Itoa(int(p.PSM))
	}
	return &familyConn{File: os.NewFile(uintptr(nfd), remote.Address), local: l.Addr(), remote: remote}, nil
}

func (l *familyListener) Close() error   { return l.f.Close() }
func (l *familyListener) Addr() net.Addr { return FamilyAddr{l.e.Network, l.e.Address} }

// SyscallConn exposes the listening descriptor, as *net.TCPListener does.
func (l *familyListener) SyscallConn() (syscall.RawConn, error) { return l.f.SyscallConn() }
