package discard

import (
	"context"
	"io"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/server"
)

// Port is the well-known port (RFC 863).
const Port = 9

// Service returns discard as a server.Service: what comes is read and
// dropped, and never answered.
func Service() server.Service {
	h := server.HandlerFunc(func(_, _ []byte) []byte { return nil })
	return server.Service{Name: "discard", Stream: h, Packet: h}
}

// Send copies r to the discard service at e and returns the bytes sent.
// Over a stream the connection is closed in order (FIN, then the server's
// FIN) so every byte is known delivered to the server's socket; over
// datagrams each read of r up to 1472 bytes is one datagram.
func Send(ctx context.Context, d *sockit.Dialer, e sockit.Endpoint, r io.Reader) (int64, error) {
	c, err := d.Dial(ctx, e)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	if e.IsPacket() {
		var total int64
		buf := make([]byte, 1472)
		for {
			n, rerr := r.Read(buf)
			if n > 0 {
				w, err := c.Write(buf[:n])
				total += int64(w)
				if err != nil {
					return total, err
				}
			}
			if rerr == io.EOF {
				return total, nil
			}
			if rerr != nil {
				return total, rerr
			}
		}
	}
	n, err := io.Copy(c, r)
	if err != nil {
		return n, err
	}
	if err := c.(interface{ CloseWrite() error }).CloseWrite(); err != nil {
		return n, err
	}
	// Wait for the server's close: it has read everything by then.
	_, err = io.Copy(io.Discard, c)
	if ctx.Err() != nil {
		err = ctx.Err()
	}
	return n, err
}
