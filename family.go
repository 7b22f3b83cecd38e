package sockit

import (
	"context"
	"encoding/binary"
	"encoding/hex"
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

// The families beyond IP and Unix: Bluetooth (rfcomm://, l2cap://) and
// IPX (ipx://). Their endpoints parse and build sockaddrs everywhere; the
// sockets open only where the kernel has the family — Bluetooth needs a
// kernel built with it (and an adapter to reach anything), and Linux
// removed IPX in 4.18 (2018).
//
//	rfcomm://AA:BB:CC:DD:EE:FF/CHANNEL   RFCOMM, channel 1-30 (a stream)
//	l2cap://AA:BB:CC:DD:EE:FF/PSM        L2CAP, an odd PSM (sequenced packets)
//	ipx://NETWORK:NODE:SOCKET            IPX: 8, 12 and 4 hex digits (datagrams)

// isFamily reports whether network is one of this file's families.
func isFamily(network string) bool {
	return network == "rfcomm" || network == "l2cap" || network == "ipx"
}

// parseFamily reads the address part of an rfcomm, l2cap or ipx endpoint.
func parseFamily(network, rest string) (Endpoint, error) {
	switch network {
	case "rfcomm", "l2cap":
		addr, n, ok := strings.Cut(rest, "/")
		if !ok {
			return Endpoint{}, fmt.Errorf("want %s://AA:BB:CC:DD:EE:FF/%s", network, map[string]string{"rfcomm": "CHANNEL", "l2cap": "PSM"}[network])
		}
		bd, err := parseBDAddr(addr)
		if err != nil {
			return Endpoint{}, err
		}
		v, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%q is not a number", n)
		}
		if network == "rfcomm" && (v < 1 || v > 30) {
			return Endpoint{}, fmt.Errorf("RFCOMM channel %d is not from 1 to 30", v)
		}
		// PSMs are odd, and the low bit of their high byte is 0 (Bluetooth
		// Core, Vol 3, Part A, 4.2).
		if network == "l2cap" && (v&1 == 0 || v&0x100 != 0) {
			return Endpoint{}, fmt.Errorf("L2CAP PSM %d is not valid (odd, with bit 8 clear: 1, 3, 5, ... 0x1001)", v)
		}
		return Endpoint{Network: network, Address: formatBDAddr(bd) + "/" + strconv.FormatUint(v, 10)}, nil
	case "ipx":
		a, err := parseIPX(rest)
		if err != nil {
			return Endpoint{}, err
		}
		return Endpoint{Network: network, Address: a.String()}, nil
	}
	return Endpoint{}, fmt.Errorf("unknown family %q", network)
}

// parseBDAddr reads a Bluetooth device address, most significant byte first.
func parseBDAddr(s string) ([6]byte, error) {
	var b [6]byte
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 || strings.Count(s, ":") != 5 {
		return b, fmt.Errorf("%q is not a Bluetooth address (AA:BB:CC:DD:EE:FF)", s)
	}
	copy(b[:], mac)
	return b, nil
}

func formatBDAddr(b [6]byte) string { return strings.ToUpper(net.HardwareAddr(b[:]).String()) }

// bdaddrLE is the address as the kernel's bdaddr_t holds it: least
// significant byte first.
func bdaddrLE(b [6]byte) [6]byte {
	return [6]byte{b[5], b[4], b[3], b[2], b[1], b[0]}
}

// IPXAddr is an IPX address: a 32-bit network, a 48-bit node and a 16-bit
// socket (port).
type IPXAddr struct {
	Network uint32
	Node    [6]byte
	Socket  uint16
}

func parseIPX(s string) (IPXAddr, error) {
	var a IPXAddr
	p := strings.Split(s, ":")
	if len(p) != 3 || len(p[0]) != 8 || len(p[1]) != 12 || len(p[2]) != 4 {
		return a, fmt.Errorf("%q is not NETWORK:NODE:SOCKET in 8, 12 and 4 hex digits (ipx://00000001:0000c0a80001:0451)", s)
	}
	raw, err := hex.DecodeString(p[0] + p[1] + p[2])
	if err != nil {
		return a, fmt.Errorf("%q is not NETWORK:NODE:SOCKET in hex digits", s)
	}
	a.Network = binary.BigEndian.Uint32(raw)
	copy(a.Node[:], raw[4:10])
	a.Socket = binary.BigEndian.Uint16(raw[10:])
	return a, nil
}

func (a IPXAddr) String() string {
	return fmt.Sprintf("%08x:%s:%04x", a.Network, hex.EncodeToString(a.Node[:]), a.Socket)
}

// Marshal is the kernel's struct sockaddr_ipx (linux/ipx.h): family,
// port, network, node, type and a zero byte, 16 bytes, network order.
func (a IPXAddr) Marshal() []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint16(b[0:], unix.AF_IPX)
	binary.BigEndian.PutUint16(b[2:], a.Socket)
	binary.BigEndian.PutUint32(b[4:], a.Network)
	copy(b[8:14], a.Node[:])
	return b
}

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

// FamilyAddr is a net.Addr for the families package net does not know.
type FamilyAddr struct{ Net, Address string }

func (a FamilyAddr) Network() string { return a.Net }
func (a FamilyAddr) String() string  { return a.Address }

// FamilyUnavailableError says the kernel refused a socket of a whole
// address family, in words, with the errno it gave.
type FamilyUnavailableError struct {
	Family string // AF_BLUETOOTH, AF_IPX
	Why    string // what the user should know
	Err    error  // the errno from socket()
}

func (e *FamilyUnavailableError) Error() string {
	return fmt.Sprintf("%s (socket(%s) failed with %s)", e.Why, e.Family, ErrnoString(e.Err))
}

func (e *FamilyUnavailableError) Unwrap() error { return e.Err }

// ErrnoString names a system error as C does, with its text:
// "EAFNOSUPPORT: address family not supported by protocol".
func ErrnoString(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		if name := unix.ErrnoName(e); name != "" {
			return name + ": " + e.Error()
		}
	}
	return err.Error()
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
