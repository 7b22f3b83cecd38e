//go:build !linux

package packet

import (
	"context"
	"net"
)

// Supported returns ErrLinuxOnly: there are no AF_PACKET sockets here.
func Supported() error { return ErrLinuxOnly }

// Capture would read frames from an interface; outside Linux Open never
// returns one.
type Capture struct{}

// Open fails with ErrLinuxOnly.
func Open(context.Context, string, *Filter, Options) (*Capture, error) { return nil, ErrLinuxOnly }

func (c *Capture) Next(context.Context) (Frame, error)                      { return Frame{}, ErrLinuxOnly }
func (c *Capture) WriteFile(context.Context, *FileWriter, int) (int, error) { return 0, ErrLinuxOnly }
func (c *Capture) Stats() (Stats, error)                                    { return Stats{}, ErrLinuxOnly }
func (c *Capture) Close() error                                             { return nil }
func (c *Capture) Buffered() int                                            { return 0 }

// Sender would write frames onto an interface; outside Linux NewSender
// never returns one.
type Sender struct{}

// NewSender fails with ErrLinuxOnly.
func NewSender(string) (*Sender, error) { return nil, ErrLinuxOnly }

func (s *Sender) Send([]byte) error { return ErrLinuxOnly }
func (s *Sender) Close() error      { return nil }

// linkName names an interface's link layer from what net reports.
func linkName(ifi net.Interface) string {
	switch {
	case ifi.Flags&net.FlagLoopback != 0:
		return "loopback"
	case len(ifi.HardwareAddr) == 6:
		return "ether"
	}
	return "none"
}

// linkFamilies are the families every interface carries here: none beyond
// its addresses'.
func linkFamilies() []string { return []string{} }
