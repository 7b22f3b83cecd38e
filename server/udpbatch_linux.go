package server

import (
	"net/netip"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/rawsys"
)

// UDP fast path: the event loops (looppacket_linux.go) read and answer a
// socket's datagrams a batch at a time with rawsys's batches: recvmmsg and
// sendmmsg move up to batchSize datagrams per system call, addresses stay
// in their raw kernel form (no net.Addr, no allocation per datagram),
// echo-style replies are sent from the very buffer they arrived in, and
// replies in a row to one address and of one size leave as one message
// with UDP segmentation offload (rawsys.SendBatch.Coalesce).

const (
	batchSize = 32
	slotSize  = MaxDatagram + 1 // one more, to see a datagram that was cut
	outSize   = 2048            // reply buffer per slot; a longer reply grows it
)

// udpBatch is one loop's datagram buffers: what came in, the reply
// buffers, and the replies on their way out.
type udpBatch struct {
	recv *rawsys.RecvBatch
	send *rawsys.SendBatch
	out  [batchSize][]byte
}

func newUDPBatch() *udpBatch {
	b := &udpBatch{recv: rawsys.NewRecvBatch(batchSize, slotSize, true), send: rawsys.NewSendBatch(batchSize)}
	for i := range batchSize {
		b.out[i] = make([]byte, 0, outSize)
	}
	return b
}

// prepareReplies runs the guards and the handler over the n datagrams in b
// and queues the replies in b.send; it returns how many there are.
func (s *Server) prepareReplies(b *udpBatch, n int, h PacketHandler, ctr *counters) int {
	b.send.Reset()
	now := s.cfg.Now()
	for i := range n {
		in := b.recv.Datagram(i)
		if len(in) > MaxDatagram || b.recv.Truncated(i) {
			ctr.received(len(in))
			continue // larger than any UDP datagram should be
		}
		reply := s.answer(h, ctr, in, b.out[i][:0], b.recv.From(i), now)
		if reply == nil {
			continue
		}
		name, namelen := b.recv.Name(i)
		b.send.Add(reply, name, namelen) // reply stays alive until sent: b holds in and out
	}
	return b.send.Len()
}

// sendAll sends the m messages of b.send on fd, counting what left. A
// message the kernel refuses is dropped, except a coalesced one, which is
// sent again one datagram at a time. EMSGSIZE there means the segment does
// not fit that destination's path MTU; EIO or EINVAL, that the device or
// kernel cannot segment at all: sendAll then reports true, and the socket
// should stop coalescing. A full send buffer drops the rest.
func (b *udpBatch) sendAll(fd, m int, ctr *counters) (gsoRefused bool) {
	for sent := 0; sent < m; {
		n, err := b.send.Send(fd, sent)
		if err == unix.EAGAIN {
			for j := sent; j < m; j++ {
				ctr.dropN(DropSendBuffer, b.send.Segments(j), netip.AddrPort{})
			}
			return gsoRefused
		}
		if err != nil {
			if b.send.Segments(sent) > 1 {
				if err == unix.EINVAL || err == unix.EIO {
					gsoRefused = true
				}
				if d, bytes := b.send.SendSingly(fd, sent); d > 0 {
					ctr.sent(d, bytes)
				}
			}
			sent++
			continue
		}
		for j := sent; j < sent+n; j++ {
			ctr.sent(b.send.Segments(j), b.send.Bytes(j))
		}
		sent += n
	}
	return gsoRefused
}
