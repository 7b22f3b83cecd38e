package netcat

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/sockit/sockit"
)

// Options tune a relay. The zero value is ready to use.
type Options struct {
	// Wait is how long a datagram relay waits for more replies once its
	// input is done; zero means 2s.
	Wait time.Duration
	// StopOnPeerClose ends a stream relay as soon as the peer closes, without
	// sending the rest of the input; set it when the input is a terminal.
	// By default all input is sent (nothing lost to a peer that half-closed).
	StopOnPeerClose bool
	// KeepOpen makes Listen accept peers until the context ends, serving
	// them concurrently; otherwise it serves one peer and returns.
	KeepOpen bool
	// Announce, if set, is called with the bound address once Listen is
	// ready, before any peer is accepted.
	Announce func(network string, addr net.Addr)
	// TLS is the server configuration Listen serves a tls endpoint with
	// (Connect takes its client configuration from the Dialer).
	TLS *tls.Config
	// HandshakeTimeout bounds a TLS peer's handshake in Listen; zero means
	// 10s. A peer that does not finish in time is dropped, and Listen
	// waits for the next.
	HandshakeTimeout time.Duration
	// PeerFailed, if set, is told of each peer Listen gave up on without
	// ending: one whose TLS handshake failed or timed out. Listen goes on
	// waiting for the next peer, as ncat does ("Failed SSL connection").
	PeerFailed func(peer net.Addr, err error)
}

func (o *Options) handshakeTimeout() time.Duration {
	if o.HandshakeTimeout <= 0 {
		return 10 * time.Second
	}
	return o.HandshakeTimeout
}

func (o *Options) wait() time.Duration {
	if o.Wait <= 0 {
		return 2 * time.Second
	}
	return o.Wait
}

const bufSize = 64 << 10

// Relay copies in to c and c to out. When in reaches EOF the write half of c
// is shut down (a FIN; over TLS close_notify and then the FIN, see
// sockit.CloseWrite), and output goes on until the peer finishes. When the
// peer finishes first, the rest of in is still sent, so nothing is lost to a
// peer that half-closed, unless stopOnPeerClose is set (an interactive input,
// which may never end). Canceling ctx closes c. It returns the first error
// other than an orderly close.
func Relay(ctx context.Context, c net.Conn, in io.Reader, out io.Writer, stopOnPeerClose bool) error {
	return relay(ctx, c, in, out, stopOnPeerClose, nil)
}

// relay is Relay, calling inDone (if set) once in has ended and the write
// half is shut down.
func relay(ctx context.Context, c net.Conn, in io.Reader, out io.Writer, stopOnPeerClose bool, inDone func()) error {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	sendErr := make(chan error, 1)
	go func() {
		_, err := io.CopyBuffer(c, in, make([]byte, bufSize))
		if err == nil {
			if err = sockit.CloseWrite(c); errors.Is(err, errors.ErrUnsupported) {
				err = nil
			}
			if inDone != nil {
				inDone()
			}
		}
		sendErr <- err
	}()
	_, recvErr := io.CopyBuffer(out, c, make([]byte, bufSize))
	if recvErr == nil && !stopOnPeerClose {
		select {
		case recvErr = <-sendErr:
		case <-ctx.Done():
		}
	}
	if ctx.Err() != nil {
		recvErr = ctx.Err()
	}
	// Closing c ends a sender still blocked on a write. One blocked reading
	// input that has not ended exits at its next read, when its write fails;
	// in is not ours to close, and the caller is done with it.
	c.Close()
	if errors.Is(recvErr, net.ErrClosed) {
		recvErr = nil
	}
	return recvErr
}

// Connect dials e and relays in and out over it. d.Timeout bounds the
// connect and, over a stream, once in has ended, each wait for the peer
// (sockit.TimeoutConn's rule), as nc's -w bounds "connects and final net
// reads": while in is open the peer may be quiet as long as it likes (a
// conversation typed at a terminal). Over datagrams, Options.Wait ends the
// relay instead.
func Connect(ctx context.Context, d *sockit.Dialer, e sockit.Endpoint, in io.Reader, out io.Writer, opt Options) error {
	c, err := d.Dial(ctx, e)
	if err != nil {
		return err
	}
	defer c.Close()
	var final func()
	if tc, ok := c.(*sockit.TimeoutConn); ok {
		tc.SetTimeout(0)
		final = func() { tc.SetTimeout(d.Timeout) }
	}
	if e.IsPacket() {
		return relayPackets(ctx, c, in, out, opt.wait())
	}
	return relay(ctx, c, in, out, opt.StopOnPeerClose, final)
}

// relayPackets sends each read of in as one datagram and prints each reply;
// after in ends it waits until no reply has come for wait.
func relayPackets(ctx context.Context, c net.Conn, in io.Reader, out io.Writer, wait time.Duration) error {
	stop := context.AfterFunc(ctx, func() { c.SetReadDeadline(time.Now()) })
	defer stop()
	var (
		mu      sync.Mutex
		inDone  bool
		sendErr error
	)
	c.SetReadDeadline(time.Time{})
	go func() {
		buf := make([]byte, bufSize)
		sent := false
		for {
			n, err := in.Read(buf)
			if n == 0 && err == io.EOF && !sent {
				// Input that ends empty is one empty datagram: the
				// query of QOTD, daytime and time over UDP.
				sent = true
				if _, werr := c.Write(nil); werr != nil {
					mu.Lock()
					sendErr = werr
					mu.Unlock()
					break
				}
				continue
			}
			if n > 0 {
				sent = true
				if _, werr := c.Write(buf[:n]); werr != nil {
					mu.Lock()
					sendErr = werr
					mu.Unlock()
					break
				}
			}
			if err != nil {
				if err != io.EOF {
					mu.Lock()
					sendErr = err
					mu.Unlock()
				}
				break
			}
		}
		mu.Lock()
		inDone = true
		mu.Unlock()
		// Wake the reader so it starts the quiet-period countdown.
		c.SetReadDeadline(time.Now().Add(wait))
	}()
	buf := make([]byte, bufSize)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if _, werr := out.Write(buf[:n]); werr != nil {
				return werr
			}
			mu.Lock()
			done := inDone
			mu.Unlock()
			if done {
				c.SetReadDeadline(time.Now().Add(wait))
			}
			continue
		}
		if err == nil {
			continue // an empty datagram
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			mu.Lock()
			done, serr := inDone, sendErr
			mu.Unlock()
			if done {
				return serr
			}
			continue
		}
		if errors.Is(err, net.ErrClosed) {
			return nil
		}
		// ECONNREFUSED from an earlier datagram's ICMP: report it.
		return err
	}
}
