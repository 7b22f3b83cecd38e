package server

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/rawsys"
)

// UDP fast path: recvmmsg and sendmmsg move up to batchSize datagrams per
// system call, addresses stay in their raw kernel form (no net.Addr, no
// allocation per datagram), and echo-style replies are sent from the very
// buffer they arrived in. Replies in a row to one address and of one size
// leave as a single message with UDP generic segmentation offload
// (UDP_SEGMENT): the kernel routes and builds the packet once and splits it
// on the way out, or in the receiver's stack on loopback. The event loops
// drive it (looppacket_linux.go).

const (
	batchSize = 32
	slotSize  = MaxDatagram + 1 // one more, to see a datagram that was cut
	outSize   = 2048            // reply buffer per slot; a longer reply grows it

	// Segmentation offload takes replies of at most gsoMaxSegment bytes
	// (what fits an IPv6 packet on the minimum MTU, 1280, so a path MTU
	// rarely refuses it), up to gsoMaxBytes in one message.
	gsoMaxSegment = 1232
	gsoMaxBytes   = 60000
)

type udpBatch struct {
	recv  [batchSize]unix.Mmsghdr
	send  [batchSize]unix.Mmsghdr
	riov  [batchSize]unix.Iovec
	siov  [batchSize]unix.Iovec
	addrs [batchSize]unix.RawSockaddrInet6
	in    [batchSize][]byte
	out   [batchSize][]byte
	segs  [batchSize]int                          // datagrams in each send message
	cmsg  [batchSize][rawsys.UDPSegmentSpace]byte // UDP_SEGMENT for a coalesced message
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
			ctr.received(size)
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

// coalesce turns the k replies in b.send (one datagram each, their iovecs
// in b.siov in the same order) into messages and returns how many there
// are. With gso, runs of replies to one address where all but the last have
// the same size become one message; without, each reply is one. Order is
// kept, so a source sees its replies in the order it asked.
func (b *udpBatch) coalesce(k int, gso bool) int {
	m := 0
	for i := 0; i < k; {
		j := i + 1
		seg := int(b.siov[i].Len)
		if gso && seg > 0 && seg <= gsoMaxSegment {
			total := seg
			for j < k && sameDest(&b.send[i].Hdr, &b.send[j].Hdr) {
				n := int(b.siov[j].Len)
				if n == 0 || n > seg || total+n > gsoMaxBytes {
					break
				}
				total += n
				j++
				if n < seg {
					break // only the last segment may be short
				}
			}
		}
		h := &b.send[m].Hdr
		if m != i {
			h.Name, h.Namelen = b.send[i].Hdr.Name, b.send[i].Hdr.Namelen
		}
		h.Iov = &b.siov[i]
		h.SetIovlen(j - i)
		rawsys.SetUDPSegment(h, &b.cmsg[m], seg, j-i)
		b.segs[m] = j - i
		m++
		i = j
	}
	return m
}

func sameDest(a, b *unix.Msghdr) bool {
	if a.Namelen != b.Namelen {
		return false
	}
	return string(unsafe.Slice(a.Name, a.Namelen)) == string(unsafe.Slice(b.Name, b.Namelen))
}

// sendAll sends the m messages of b.send on fd, counting what left. A
// message the kernel refuses is dropped, except a coalesced one, which is
// sent again one datagram at a time. EMSGSIZE there means the segment does
// not fit that destination's path MTU; EIO or EINVAL, that the device or
// kernel cannot segment at all: sendAll then reports true, and the socket
// should stop coalescing. A full send buffer drops the rest.
func (b *udpBatch) sendAll(fd, m int, ctr *counters) (gsoRefused bool) {
	for sent := 0; sent < m; {
		n, err := rawsys.SendMmsg(fd, b.send[sent:m])
		if err == unix.EAGAIN {
			for j := sent; j < m; j++ {
				ctr.dropN(DropSendBuffer, b.segs[j], netip.AddrPort{})
			}
			return gsoRefused
		}
		if err != nil {
			if b.segs[sent] > 1 {
				if err == unix.EINVAL || err == unix.EIO {
					gsoRefused = true
				}
				b.sendOneByOne(fd, &b.send[sent].Hdr, b.segs[sent], ctr)
			}
			sent++
			continue
		}
		for j := sent; j < sent+n; j++ {
			ctr.sent(b.segs[j], int(b.send[j].Len))
		}
		sent += n
	}
	return gsoRefused
}

// sendOneByOne sends the segs datagrams of coalesced message h singly.
func (b *udpBatch) sendOneByOne(fd int, h *unix.Msghdr, segs int, ctr *counters) {
	iovs := unsafe.Slice(h.Iov, segs)
	for i := range iovs {
		one := unix.Msghdr{Name: h.Name, Namelen: h.Namelen, Iov: &iovs[i]}
		one.SetIovlen(1)
		n, _, e := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&one)), unix.MSG_DONTWAIT)
		if e != 0 {
			continue
		}
		ctr.sent(1, int(n))
	}
}

// resetRecv readies b's headers for the next recvmmsg.
func (b *udpBatch) resetRecv() {
	for i := range batchSize {
		b.recv[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		b.recv[i].Hdr.Flags = 0
	}
}
