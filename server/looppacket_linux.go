package server

import (
	"context"
	"net"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/poll"
	"github.com/sockit/sockit/internal/rawsys"
)

// packetEntry is a UDP socket served by one loop.
type packetEntry struct {
	fd    int
	pc    net.PacketConn
	h     PacketHandler
	ctr   *counters
	loop  *loop
	noGSO bool // the kernel cannot segment this socket's replies
}

// addPacket has loop l serve the UDP socket uc.
func (e *loopEngine) addPacket(l *loop, uc *net.UDPConn, h PacketHandler, ctr *counters) error {
	return e.registerHeld(uc, func(fd int) error {
		pe := &packetEntry{fd: fd, pc: uc, h: h, ctr: ctr, loop: l}
		e.mu.Lock()
		e.packets[fd] = pe
		e.mu.Unlock()
		if err := l.p.Add(fd, poll.In); err != nil {
			e.mu.Lock()
			delete(e.packets, fd)
			e.mu.Unlock()
			return err
		}
		return nil
	}, func() { e.removePacket(uc) })
}

// removePacket stops serving pc; it must run before pc is closed.
func (e *loopEngine) removePacket(pc net.PacketConn) {
	e.mu.Lock()
	var found *packetEntry
	for fd, pe := range e.packets {
		if pe.pc == pc {
			found = pe
			delete(e.packets, fd)
		}
	}
	e.mu.Unlock()
	if found != nil {
		found.loop.p.Delete(found.fd)
		found.loop.quiesce()
	}
}

// datagrams answers what waits on pe's socket, a batch at a time, until
// a batch comes back short (the queue is then likely empty; the socket is
// level-triggered, so anything left is reported again) or after 8 batches,
// so one flooded socket cannot starve the loop's other work.
func (l *loop) datagrams(pe *packetEntry) {
	if l.batch == nil {
		l.batch = newUDPBatch() // one per loop: its sockets take turns
	}
	s, b := l.e.s, l.batch
	for range 8 {
		n, err := b.recv.Recv(pe.fd)
		if err != nil {
			return
		}
		s.prepareReplies(b, n, pe.h, pe.ctr)
		if b.sendAll(pe.fd, b.send.Coalesce(!pe.noGSO), pe.ctr) {
			pe.noGSO = true
		}
		if n < batchSize {
			return
		}
	}
}

// serveUDPLoops serves uc on the event loops: one SO_REUSEPORT socket per
// loop (uc is the first), each read and answered on its loop's thread. It
// returns once the server stops listening.
func (s *Server) serveUDPLoops(eng *loopEngine, uc *net.UDPConn, h PacketHandler, ctr *counters) error {
	socks := []*net.UDPConn{uc}
	lc := net.ListenConfig{Control: rawsys.ReusePort}
	network := sameFamily(uc)
	for range len(eng.loops) - 1 {
		pc, err := lc.ListenPacket(context.Background(), network, uc.LocalAddr().String())
		if err != nil {
			break
		}
		if !s.track(pc) {
			pc.Close()
			break
		}
		defer s.untrack(pc)
		s.setReadBuffer(pc.(*net.UDPConn))
		socks = append(socks, pc.(*net.UDPConn))
	}
	for i, sock := range socks {
		if err := eng.addPacket(eng.loops[i%len(eng.loops)], sock, h, ctr); err != nil {
			for _, added := range socks[:i] {
				eng.removePacket(added)
			}
			for _, extra := range socks[1:] {
				extra.Close()
			}
			return err
		}
	}
	<-s.closed
	return ErrServerClosed
}

// sameFamily is the network that opens another socket like uc: IPv4 only,
// IPv6 only, or dual-stack (Go's "udp" on an IPv6 wildcard). Opening the
// siblings of a udp4 wildcard socket as "udp" would answer on IPv6 too.
func sameFamily(uc *net.UDPConn) string {
	if a, ok := uc.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() != nil {
		return "udp4"
	}
	v6only := 1
	if rc, err := uc.SyscallConn(); err == nil {
		rc.Control(func(fd uintptr) {
			if v, err := unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_V6ONLY); err == nil {
				v6only = v
			}
		})
	}
	if v6only == 0 {
		return "udp"
	}
	return "udp6"
}
