package server

import (
	"context"
	"log/slog"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

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
	if !s.cfg.Logger.Enabled(context.Background(), slog.LevelDebug) {
		return // what follows only feeds a debug line
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
