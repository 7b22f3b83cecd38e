package echo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/server"
)

// Port is the well-known port (RFC 862).
const Port = 7

// Service returns echo as a server.Service: each read of a connection,
// and each datagram, is sent back as it came, from the buffer it came in.
func Service() server.Service {
	h := server.HandlerFunc(func(in, _ []byte) []byte { return in })
	return server.Service{Name: "echo", Stream: h, Packet: h}
}

// ErrMismatch is wrapped by the error of an echo that came back different.
var ErrMismatch = errors.New("echo: reply differs from what was sent")

// Exchange sends msg to the echo service at e and returns what came back,
// with an error wrapping ErrMismatch if it differs. Over a stream the
// message is written while the reply is read (a large message would
// otherwise fill both socket buffers and stall), then the write side is
// closed and the reply read to EOF. Over datagrams msg is one datagram.
func Exchange(ctx context.Context, d *sockit.Dialer, e sockit.Endpoint, msg []byte, q *sockit.Query) ([]byte, error) {
	c, err := d.Dial(ctx, e)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	var got []byte
	if e.IsPacket() {
		if len(msg) > server.MaxDatagram {
			return nil, fmt.Errorf("echo: message of %d bytes does not fit one datagram (max %d)", len(msg), server.MaxDatagram)
		}
		got, _, err = q.Exchange(ctx, c, msg, make([]byte, server.MaxDatagram+1))
	} else {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		sent := make(chan error, 1)
		go func() {
			_, err := c.Write(msg)
			if err == nil {
				err = c.(interface{ CloseWrite() error }).CloseWrite()
			}
			sent <- err
		}()
		var buf bytes.Buffer
		buf.Grow(len(msg))
		_, err = io.Copy(&buf, c)
		if serr := <-sent; err == nil {
			err = serr
		}
		got = buf.Bytes()
	}
	if err != nil {
		return got, err
	}
	if len(got) < len(msg) && bytes.HasPrefix(msg, got) {
		return got, fmt.Errorf("%w: sent %d bytes, %d came back before the connection closed", ErrMismatch, len(msg), len(got))
	}
	if !bytes.Equal(got, msg) {
		return got, fmt.Errorf("%w: sent %d bytes, got %d back, first difference at byte %d", ErrMismatch, len(msg), len(got), firstDiff(got, msg))
	}
	return got, nil
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
