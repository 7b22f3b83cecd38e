package server

import (
	"errors"
	"net"
	"net/netip"
	"time"
)

// ServePacket answers datagrams on pc for svc until Shutdown or Close, then
// returns ErrServerClosed. UDP datagrams pass the UDPGuard; unixgram ones
// come from this host and are answered when the sender has an address. On
// the "loop" engine a UDP socket (from net.ListenPacket or an inherited
// descriptor through net.FilePacketConn) joins the event loops.
func (s *Server) ServePacket(pc net.PacketConn, svc Service) error {
	if !s.track(pc) {
		pc.Close()
		return ErrServerClosed
	}
	defer s.untrack(pc)
	eng, err := s.engine()
	if err != nil {
		pc.Close()
		return err
	}
	if uc, ok := pc.(*net.UDPConn); ok {
		s.setReadBuffer(uc)
	}
	err = eng.servePacket(pc, svc, s.bindCounters(svc.Name, pc.LocalAddr().Network()))
	if s.isClosing() {
		return ErrServerClosed
	}
	return err
}

// servePacketConn is the goroutine engine's datagram loop over pc, in the
// calling goroutine (the loop engine's too, for what the loops do not take).
func (s *Server) servePacketConn(pc net.PacketConn, h PacketHandler, ctr *counters) error {
	in, out := make([]byte, MaxDatagram), make([]byte, 0, MaxDatagram)
	if uc, ok := pc.(*net.UDPConn); ok {
		return s.serveUDP(uc, h, ctr, in, out)
	}
	return s.serveUnixgram(pc, h, ctr, in, out)
}

func (s *Server) serveUDP(uc *net.UDPConn, h PacketHandler, ctr *counters, in, out []byte) error {
	for {
		n, from, err := uc.ReadFromUDPAddrPort(in)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosing() {
				return err
			}
			// ICMP errors surface as read errors on Linux; keep serving.
			continue
		}
		reply := s.answer(h, ctr, in[:n], out[:0], from, s.cfg.Now())
		if reply == nil {
			continue
		}
		if w, err := uc.WriteToUDPAddrPort(reply, from); err == nil {
			ctr.sent(1, w)
		}
	}
}

// answer counts one UDP datagram from `from`, puts it through the guards
// (source checks, then the handler, then the budget for the reply) and
// returns the reply to send, or nil.
func (s *Server) answer(h PacketHandler, ctr *counters, in, out []byte, from netip.AddrPort, now time.Time) []byte {
	ctr.received(len(in))
	if reason, ok := s.cfg.UDP.sourceOK(from); !ok {
		ctr.drop(reason, from)
		return nil
	}
	reply := h.Reply(in, out)
	if reply == nil {
		return nil
	}
	if reason, ok := s.budget.charge(from.Addr(), len(in), len(reply), now); !ok {
		ctr.drop(reason, from)
		return nil
	}
	return reply
}

func (s *Server) serveUnixgram(pc net.PacketConn, h PacketHandler, ctr *counters, in, out []byte) error {
	for {
		n, from, err := pc.ReadFrom(in)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || s.isClosing() {
				return err
			}
			continue
		}
		ctr.received(n)
		reply := h.Reply(in[:n], out[:0])
		if reply == nil {
			continue
		}
		if ua, ok := from.(*net.UnixAddr); !ok || ua == nil || ua.Name == "" {
			ctr.drop(DropUnaddressable, netip.AddrPort{})
			continue
		}
		if w, err := pc.WriteTo(reply, from); err == nil {
			ctr.sent(1, w)
		}
	}
}
