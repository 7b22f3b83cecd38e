package rawsys

import (
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The UDP batches of server's event loops and resolve's bulk sender: up to
// a batch of datagrams per system call (recvmmsg, sendmmsg), addresses in
// their raw kernel form (no net.Addr, no allocation per datagram), and runs
// of outgoing datagrams to one address where all but the last have one
// size sent as a single message with UDP generic segmentation offload
// (UDP_SEGMENT): the kernel routes and builds the packet once and splits it
// on the way out, or in the receiver's stack on loopback.

// Segmentation offload takes datagrams of at most GSOMaxSegment bytes
// (what fits an IPv6 packet on the minimum MTU, 1280, so a path MTU rarely
// refuses it), up to GSOMaxBytes in one message.
const (
	GSOMaxSegment = 1232
	GSOMaxBytes   = 60000
)

// RecvBatch receives up to its size in datagrams per recvmmsg, each into a
// buffer of its own, with the sender's address when asked for.
type RecvBatch struct {
	hdrs  []unix.Mmsghdr
	iovs  []unix.Iovec
	bufs  [][]byte
	addrs []unix.RawSockaddrInet6 // nil: no addresses (a connected socket)
}

// NewRecvBatch makes a batch of n buffers of size bytes; with names, each
// datagram's source address is kept (see From and Name).
func NewRecvBatch(n, size int, names bool) *RecvBatch {
	b := &RecvBatch{hdrs: make([]unix.Mmsghdr, n), iovs: make([]unix.Iovec, n), bufs: make([][]byte, n)}
	if names {
		b.addrs = make([]unix.RawSockaddrInet6, n)
	}
	for i := range n {
		b.bufs[i] = make([]byte, size)
		b.iovs[i].Base = &b.bufs[i][0]
		b.iovs[i].SetLen(size)
		h := &b.hdrs[i].Hdr
		h.Iov = &b.iovs[i]
		h.SetIovlen(1)
		if names {
			h.Name = (*byte)(unsafe.Pointer(&b.addrs[i]))
		}
	}
	return b
}

// Size is how many datagrams one Recv takes at most.
func (b *RecvBatch) Size() int { return len(b.hdrs) }

// Recv receives what waits on fd, without blocking, and returns how many
// datagrams came.
func (b *RecvBatch) Recv(fd int) (int, error) {
	for i := range b.hdrs {
		b.hdrs[i].Len = 0
		b.hdrs[i].Hdr.Flags = 0
		if b.addrs != nil {
			b.hdrs[i].Hdr.Namelen = unix.SizeofSockaddrInet6
		}
	}
	return recvMmsg(fd, b.hdrs)
}

// Datagram returns datagram i of the last Recv, in its buffer: valid until
// the next Recv.
func (b *RecvBatch) Datagram(i int) []byte { return b.bufs[i][:b.hdrs[i].Len] }

// Truncated reports whether datagram i was longer than its buffer.
func (b *RecvBatch) Truncated(i int) bool { return b.hdrs[i].Hdr.Flags&unix.MSG_TRUNC != 0 }

// Name returns datagram i's source address as the kernel wrote it, for
// SendBatch.Add to answer it.
func (b *RecvBatch) Name(i int) (*byte, uint32) { return b.hdrs[i].Hdr.Name, b.hdrs[i].Hdr.Namelen }

// From reads datagram i's source address without allocating.
func (b *RecvBatch) From(i int) netip.AddrPort {
	if b.addrs == nil {
		return netip.AddrPort{}
	}
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

// SendBatch gathers up to its size in outgoing datagrams (Add), makes them
// into as few messages as segmentation offload allows (Coalesce), and sends
// those with sendmmsg (Send). The datagrams' bytes and addresses are the
// caller's and must stay put until sent.
type SendBatch struct {
	msgs  []unix.Mmsghdr
	iovs  []unix.Iovec // one per datagram, in the order added
	names []*byte      // each datagram's destination (nil: the socket's peer)
	lens  []uint32
	segs  []int  // datagrams in each message
	cmsg  []byte // a UDP_SEGMENT control message per message, udpSegmentSpace apart
	n, m  int
}

// NewSendBatch makes a batch of at most n datagrams.
func NewSendBatch(n int) *SendBatch {
	return &SendBatch{msgs: make([]unix.Mmsghdr, n), iovs: make([]unix.Iovec, n), names: make([]*byte, n),
		lens: make([]uint32, n), segs: make([]int, n), cmsg: make([]byte, n*udpSegmentSpace)}
}

// Reset empties the batch.
func (b *SendBatch) Reset() { b.n, b.m = 0, 0 }

// Len is the number of datagrams added since Reset.
func (b *SendBatch) Len() int { return b.n }

// Add queues datagram p to the address name (namelen bytes of a raw
// sockaddr; nil for a connected socket's peer). The batch must have room.
func (b *SendBatch) Add(p []byte, name *byte, namelen uint32) {
	iov := &b.iovs[b.n]
	iov.Base = nil
	if len(p) > 0 {
		iov.Base = &p[0]
	}
	iov.SetLen(len(p))
	b.names[b.n], b.lens[b.n] = name, namelen
	b.n++
}

// Coalesce turns the datagrams added into messages and returns how many
// there are. With gso, runs of datagrams to one address where all but the
// last have the same size (at most GSOMaxSegment, GSOMaxBytes in all)
// become one message; without, each datagram is one. Order is kept, so a
// destination sees its datagrams in the order they were added.
func (b *SendBatch) Coalesce(gso bool) int {
	b.m = 0
	for i := 0; i < b.n; {
		j := i + 1
		seg := int(b.iovs[i].Len)
		if gso && seg > 0 && seg <= GSOMaxSegment {
			total := seg
			for j < b.n && b.sameDest(i, j) {
				n := int(b.iovs[j].Len)
				if n == 0 || n > seg || total+n > GSOMaxBytes {
					break
				}
				total += n
				j++
				if n < seg {
					break // only the last segment may be short
				}
			}
		}
		m := &b.msgs[b.m]
		m.Len = 0
		h := &m.Hdr
		h.Name, h.Namelen = b.names[i], b.lens[i]
		h.Iov = &b.iovs[i]
		h.SetIovlen(j - i)
		setUDPSegment(h, b.cmsg[b.m*udpSegmentSpace:(b.m+1)*udpSegmentSpace], seg, j-i)
		b.segs[b.m] = j - i
		b.m++
		i = j
	}
	return b.m
}

func (b *SendBatch) sameDest(i, j int) bool {
	if b.lens[i] != b.lens[j] {
		return false
	}
	if b.lens[i] == 0 {
		return true
	}
	return string(unsafe.Slice(b.names[i], b.lens[i])) == string(unsafe.Slice(b.names[j], b.lens[j]))
}

// Segments is the number of datagrams in message msg.
func (b *SendBatch) Segments(msg int) int { return b.segs[msg] }

// Bytes is what the kernel took of message msg once sent.
func (b *SendBatch) Bytes(msg int) int { return int(b.msgs[msg].Len) }

// Send sends messages from, from+1, … of the last Coalesce on fd without
// blocking and returns how many left (sendmmsg stops at the first that
// fails: the error is that one's when none left).
func (b *SendBatch) Send(fd, from int) (int, error) { return sendMmsg(fd, b.msgs[from:b.m]) }

// SendSingly sends the datagrams of message msg one at a time (a kernel or
// a path that refused the coalesced message) and returns how many left and
// their bytes.
func (b *SendBatch) SendSingly(fd, msg int) (datagrams, bytes int) {
	h := &b.msgs[msg].Hdr
	iovs := unsafe.Slice(h.Iov, b.segs[msg])
	for i := range iovs {
		one := unix.Msghdr{Name: h.Name, Namelen: h.Namelen, Iov: &iovs[i]}
		one.SetIovlen(1)
		n, _, e := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(fd), uintptr(unsafe.Pointer(&one)), unix.MSG_DONTWAIT)
		if e != 0 {
			continue
		}
		datagrams++
		bytes += int(n)
	}
	return datagrams, bytes
}
