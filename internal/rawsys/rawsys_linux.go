package rawsys

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

func errno(e unix.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// Read reads from a non-blocking descriptor.
func Read(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_READ, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno(e)
}

// Write writes to a non-blocking descriptor.
func Write(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall(unix.SYS_WRITE, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
	return int(n), errno(e)
}

// WriteMore writes to a non-blocking TCP socket with MSG_MORE: the kernel
// holds a short tail back for what follows, which may be the FIN of a
// close or shutdown (either sends what is held), so a last reply and the
// FIN leave in one segment.
func WriteMore(fd int, p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)),
		unix.MSG_MORE|unix.MSG_NOSIGNAL, 0, 0)
	return int(n), errno(e)
}

// Close closes a socket that has no SO_LINGER (so close does not block).
func Close(fd int) error {
	_, _, e := unix.RawSyscall(unix.SYS_CLOSE, uintptr(fd), 0, 0)
	return errno(e)
}

// Accept4 accepts a connection as a non-blocking, close-on-exec socket and
// returns the peer's address (invalid for a unix peer), allocating nothing.
func Accept4(fd int) (int, netip.Addr, int, error) {
	var rsa unix.RawSockaddrAny
	l := uint32(unix.SizeofSockaddrAny)
	n, _, e := unix.RawSyscall6(unix.SYS_ACCEPT4, uintptr(fd), uintptr(unsafe.Pointer(&rsa)), uintptr(unsafe.Pointer(&l)),
		unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0, 0)
	if e != 0 {
		return -1, netip.Addr{}, 0, e
	}
	switch rsa.Addr.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(&rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return int(n), netip.AddrFrom4(sa.Addr), int(p[0])<<8 | int(p[1]), nil
	case unix.AF_INET6:
		sa := (*unix.RawSockaddrInet6)(unsafe.Pointer(&rsa))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return int(n), netip.AddrFrom16(sa.Addr).Unmap(), int(p[0])<<8 | int(p[1]), nil
	}
	return int(n), netip.Addr{}, 0, nil
}

// sendMmsg sends up to len(hdrs) datagrams in one call without blocking
// (MSG_DONTWAIT) and returns how many left.
func sendMmsg(fd int, hdrs []unix.Mmsghdr) (int, error) {
	return mmsg(unix.SYS_SENDMMSG, fd, hdrs)
}

// recvMmsg receives up to len(hdrs) datagrams in one call without blocking
// (MSG_DONTWAIT); each header's Len is set to its datagram's size.
func recvMmsg(fd int, hdrs []unix.Mmsghdr) (int, error) {
	return mmsg(unix.SYS_RECVMMSG, fd, hdrs)
}

func mmsg(trap uintptr, fd int, hdrs []unix.Mmsghdr) (int, error) {
	if len(hdrs) == 0 {
		return 0, nil
	}
	n, _, e := unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), unix.MSG_DONTWAIT, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// udpSegmentSpace is the room of a control message holding a UDP_SEGMENT
// size (24 bytes on 64-bit Linux, 16 on 32-bit).
var udpSegmentSpace = unix.CmsgSpace(2)

// setUDPSegment makes the message h, its iovecs n datagrams of seg bytes
// (the last one may be shorter), leave as one packet the kernel cuts into
// them (UDP segmentation offload), its control message written into c
// (udpSegmentSpace bytes, aligned as a cmsghdr). With n < 2 it clears h's
// control: one datagram, sent whole.
func setUDPSegment(h *unix.Msghdr, c []byte, seg, n int) {
	if n < 2 {
		h.Control = nil
		h.SetControllen(0)
		return
	}
	ch := (*unix.Cmsghdr)(unsafe.Pointer(&c[0]))
	ch.Level, ch.Type = unix.SOL_UDP, unix.UDP_SEGMENT
	ch.SetLen(unix.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&c[unix.CmsgLen(0)])) = uint16(seg)
	h.Control = &c[0]
	h.SetControllen(udpSegmentSpace)
}
