package packet

import (
	"fmt"
	"net"

	afpacket "github.com/mdlayher/packet"
)

// Sender writes whole Ethernet frames onto one interface (AF_PACKET,
// SOCK_RAW): what `sockit packet send` replays.
type Sender struct {
	conn *afpacket.Conn
	ifi  *net.Interface
}

// NewSender opens a packet socket on iface for sending only: it is bound
// to protocol 0, so no frame is queued to it.
func NewSender(iface string) (*Sender, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", iface, err)
	}
	c, err := afpacket.Listen(ifi, afpacket.Raw, 0, nil)
	if err != nil {
		return nil, socketError(err)
	}
	return &Sender{conn: c, ifi: ifi}, nil
}

// Send writes one frame as it is; the kernel adds nothing, not even a
// checksum.
func (s *Sender) Send(frame []byte) error {
	if len(frame) < 14 {
		return fmt.Errorf("frame of %d bytes is shorter than an Ethernet header (14)", len(frame))
	}
	_, err := s.conn.WriteTo(frame, &afpacket.Addr{HardwareAddr: net.HardwareAddr(frame[:6])})
	return err
}

// Close closes the socket.
func (s *Sender) Close() error { return s.conn.Close() }
