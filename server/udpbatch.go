package server

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/rawsys"
)

// UDP fast path: recvmmsg and sendmmsg move up to batchSize datagrams per
// system call, addresses stay in their raw kernel form (no net.Addr, no
// allocation per datagram), and echo-style replies are sent from the very
// buffer they arrived in.

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

// serveUDPBatch is serveUDP on recvmmsg/sendmmsg. It returns when the
// socket is closed.
func (s *Server) serveUDPBatch(uc *net.UDPConn, h PacketHandler, ctr *counters) error {
	rc, err := uc.SyscallConn()
	if err != nil {
		return err
	}
	b := newUDPBatch()
	var n int
	var rerr syscall.Errno
	recvFn := func(fd uintptr) bool {
		b.resetRecv()
		n, rerr = mmsg(unix.SYS_RECVMMSG, int(fd), b.recv[:])
		return rerr != unix.EAGAIN
	}
	var k, sent int
	sendFn := func(fd uintptr) bool {
		for sent < k {
			m, e := mmsg(unix.SYS_SENDMMSG, int(fd), b.send[sent:k])
			if e == unix.EAGAIN {
				return false
			}
			if e != 0 {
				// The first message failed (an ICMP error pending, say):
				// drop it and go on with the rest.
				sent++
				continue
			}
			for j := sent; j < sent+m; j++ {
				ctr.add(ctr.bytesOut, int(b.send[j].Len))
			}
			ctr.add(ctr.dgramsOut, m)
			sent += m
		}
		return true
	}
	for {
		if err := rc.Read(recvFn); err != nil {
			return err
		}
		if rerr != 0 {
			if rerr == unix.EINTR || rerr == unix.ECONNREFUSED || rerr == unix.EHOSTUNREACH {
				continue
			}
			if s.isClosing() {
				return net.ErrClosed
			}
			return rerr
		}
		k = s.prepareReplies(b, n, h, ctr)
		sent = 0
		if k > 0 {
			if err := rc.Write(sendFn); err != nil {
				return err
			}
		}
	}
}

// serveUDPShared serves uc and, when uc was opened with SO_REUSEPORT (as
// sockit.ListenPacket does), one more socket per further core on the same
// address, each with its own reader: the kernel spreads the sources over
// them. It returns when all are closed.
func (s *Server) serveUDPShared(uc *net.UDPConn, h PacketHandler, ctr *counters) error {
	socks := []*net.UDPConn{uc}
	lc := net.ListenConfig{Control: rawsys.ReusePort}
	for range runtime.GOMAXPROCS(0) - 1 {
		pc, err := lc.ListenPacket(context.Background(), "udp", uc.LocalAddr().String())
		if err != nil {
			break // uc has no SO_REUSEPORT: one socket it is
		}
		if !s.track(pc) {
			pc.Close()
			break
		}
		socks = append(socks, pc.(*net.UDPConn))
	}
	errs := make(chan error, len(socks))
	for i, sock := range socks {
		go func() {
			if i > 0 {
				defer s.untrack(sock)
			}
			errs <- s.serveUDPBatch(sock, h, ctr)
		}()
	}
	var first error
	for range socks {
		if err := <-errs; first == nil {
			first = err
		}
	}
	return first
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
