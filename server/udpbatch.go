package server

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// UDP fast path: recvmmsg and sendmmsg move up to batchSize datagrams per
// system call, addresses stay in their raw kernel form (no net.Addr, no
// allocation per datagram), and echo-style replies are sent from the very
// buffer they arrived in. The event loops drive it (looppacket.go).

const (
	batchSize = 32
	slotSize  = MaxDatagram + 1 // one more, to see a datagram that was cut
	outSize   = 2048            // reply buffer per slot; a longer reply grows it
)

type udpBatch struct {
	recv  [batchSize]unix.Mmsghdr
	send  [batchSize]unix.Mmsghdr
	riov  [batchSize]unix.Iovec
	siov  [batchSize]unix.Iovec
	addrs [batchSize]unix.RawSockaddrInet6
	in    [batchSize][]byte
	out   [batchSize][]byte
}

func newUDPBatch() *udpBatch {
	b := &udpBatch{}
	for i := range batchSize {
		b.in[i] = make([]byte, slotSize)
		b.out[i] = make([]byte, 0, outSize)
		b.riov[i].Base = &b.in[i][0]
		b.riov[i].SetLen(slotSize)
		b.recv[i].Hdr.Name = (*byte)(unsafe.Pointer(&b.addrs[i]))
		b.recv[i].Hdr.Iov = &b.riov[i]
		b.recv[i].Hdr.SetIovlen(1)
		b.send[i].Hdr.Iov = &b.siov[i]
		b.send[i].Hdr.SetIovlen(1)
	}
	return b
}

func mmsg(trap uintptr, fd int, hdrs []unix.Mmsghdr) (int, syscall.Errno) {
	// MSG_DONTWAIT: never blocks, so a raw call (no scheduler round trip).
	n, _, e := unix.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&hdrs[0])), uintptr(len(hdrs)), unix.MSG_DONTWAIT, 0, 0)
	return int(n), e
}

// addrPort reads slot i's source address without allocating.
func (b *udpBatch) addrPort(i int) netip.AddrPort {
	raw := &b.addrs[i]
	switch raw.Family {
	case unix.AF_INET:
		sa := (*unix.RawSockaddrInet4)(unsafe.Pointer(raw))
		p := (*[2]byte)(unsafe.Pointer(&sa.Port))
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(p[0])<<8|uint16(p[1]))
	case unix.AF_INET6:
		p := (*[2]byte)(unsafe.Pointer(&raw.Port))
		return netip.AddrPortFrom(netip.AddrFrom16(raw.Addr), uint16(p[0])<<8|uint16(p[1]))
	}
	return netip.AddrPort{}
}

// prepareReplies runs the guards and the handler over the n datagrams in b
// and fills b.send with the replies; it returns how many there are.
func (s *Server) prepareReplies(b *udpBatch, n int, h PacketHandler, ctr *counters) int {
	k := 0
	now := s.cfg.Now()
	for i := range n {
		size := int(b.recv[i].Len)
		if size > MaxDatagram || b.recv[i].Hdr.Flags&unix.MSG_TRUNC != 0 {
			ctr.add(ctr.dgramsIn, 1)
			ctr.add(ctr.bytesIn, size)
			continue // larger than any UDP datagram should be
		}
		reply := s.answer(h, ctr, b.in[i][:size], b.out[i][:0], b.addrPort(i), now)
		if reply == nil {
			continue
		}
		if len(reply) == 0 {
			b.siov[k].Base = nil
		} else {
			b.siov[k].Base = &reply[0] // reply stays alive until sent: b holds in and out
		}
		b.siov[k].SetLen(len(reply))
		b.send[k].Hdr.Name = (*byte)(unsafe.Pointer(&b.addrs[i]))
		b.send[k].Hdr.Namelen = b.recv[i].Hdr.Namelen
		k++
	}
	return k
}

// resetRecv readies b's headers for the next recvmmsg.
func (b *udpBatch) resetRecv() {
	for i := range batchSize {
		b.recv[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.recv[i].Hdr.Flags = 0
	}
}

// defaultUDPReadBuffer is Config.UDPReadBuffer's zero value.
const defaultUDPReadBuffer = 4 << 20

// setReadBuffer asks for Config.UDPReadBuffer on uc and logs, at debug
// level, what the kernel granted.
func (s *Server) setReadBuffer(uc *net.UDPConn) {
	want := s.cfg.UDPReadBuffer
	if want < 0 {
		return
	}
	if want == 0 {
		want = defaultUDPReadBuffer
	}
	if err := uc.SetReadBuffer(want); err != nil {
		s.cfg.Logger.Debug("udp receive buffer", "addr", uc.LocalAddr(), "err", err)
		return
	}
	// Linux books twice the size asked for (the other half pays for its
	// own overhead) and reports that.
	if got, err := ReadBuffer(uc); err == nil && got/2 < want {
		s.cfg.Logger.Debug("udp receive buffer capped by net.core.rmem_max", "addr", uc.LocalAddr(), "want", want, "got", got/2)
	}
}

// ReadBuffer reports SO_RCVBUF for c as the kernel holds it: on Linux,
// twice what was set, or net.core.rmem_default if nothing was.
func ReadBuffer(c syscall.Conn) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var gerr error
	if err := rc.Control(func(fd uintptr) {
		n, gerr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_RCVBUF)
	}); err != nil {
		return 0, err
	}
	return n, gerr
}
