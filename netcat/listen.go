package netcat

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"sync"

	"github.com/sockit/sockit"
)

// Listen binds e and relays in and out with the peers that come: for a
// stream endpoint (a tls one served with opt.TLS), one accepted connection (or, with KeepOpen, every one, with
// in copied to all of them and their bytes written to out whole reads at a
// time); for a datagram endpoint, every datagram received is written to out
// and each read of in is sent to the most recent sender. It returns when the
// single peer is done, or when ctx ends.
func Listen(ctx context.Context, e sockit.Endpoint, in io.Reader, out io.Writer, opt Options) error {
	if e.IsPacket() {
		pc, err := sockit.ListenPacket(ctx, e)
		if err != nil {
			return err
		}
		defer pc.Close()
		if opt.Announce != nil {
			opt.Announce(e.Network, pc.LocalAddr())
		}
		return listenPackets(ctx, pc, in, out)
	}
	lc := sockit.ListenConfig{TLS: opt.TLS}
	ln, err := lc.Listen(ctx, e)
	if err != nil {
		return err
	}
	defer ln.Close()
	if opt.Announce != nil {
		opt.Announce(e.Network, ln.Addr())
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	if !opt.KeepOpen {
		for {
			c, err := ln.Accept()
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			if !opt.handshake(ctx, c) {
				continue // as ncat: the next peer may do better
			}
			ln.Close()
			return Relay(ctx, c, in, out, opt.StopOnPeerClose)
		}
	}
	return serveAll(ctx, ln, in, out, opt)
}

// handshake completes c's TLS handshake, if it is a TLS connection, within
// the handshake timeout; a peer that fails is reported, closed, and false
// returned.
func (o *Options) handshake(ctx context.Context, c net.Conn) bool {
	tc, ok := c.(*tls.Conn)
	if !ok {
		return true
	}
	hctx, cancel := context.WithTimeout(ctx, o.handshakeTimeout())
	defer cancel()
	err := tc.HandshakeContext(hctx)
	if err == nil {
		return true
	}
	if ctx.Err() == nil && o.PeerFailed != nil {
		if hctx.Err() != nil {
			err = hctx.Err()
		}
		o.PeerFailed(c.RemoteAddr(), err)
	}
	c.Close()
	return false
}

// serveAll accepts until ctx ends; each peer's bytes go to out and in is
// broadcast to every peer connected at the time (a TLS peer once its
// handshake is done).
func serveAll(ctx context.Context, ln net.Listener, in io.Reader, out io.Writer, opt Options) error {
	var (
		mu    sync.Mutex
		peers = map[net.Conn]bool{} // true once the peer takes broadcasts
		wg    sync.WaitGroup
	)
	lockedOut := &lockedWriter{w: out}
	go func() {
		buf := make([]byte, bufSize)
		for {
			n, err := in.Read(buf)
			if n > 0 {
				mu.Lock()
				for c, ready := range peers {
					if !ready {
						continue
					}
					if _, werr := c.Write(buf[:n]); werr != nil {
						c.Close()
						delete(peers, c)
					}
				}
				mu.Unlock()
			}
			if err != nil {
				return
			}
		}
	}()
	defer wg.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			mu.Lock()
			for c := range peers {
				c.Close()
			}
			mu.Unlock()
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		mu.Lock()
		peers[c] = false
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !opt.handshake(ctx, c) {
				mu.Lock()
				delete(peers, c)
				mu.Unlock()
				return
			}
			mu.Lock()
			if _, open := peers[c]; open {
				peers[c] = true
			}
			mu.Unlock()
			_, _ = io.CopyBuffer(lockedOut, c, make([]byte, bufSize))
			mu.Lock()
			delete(peers, c)
			mu.Unlock()
			c.Close()
		}()
	}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// listenPackets prints every datagram and answers the latest sender with
// each read of in.
func listenPackets(ctx context.Context, pc net.PacketConn, in io.Reader, out io.Writer) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	var (
		mu   sync.Mutex
		last net.Addr
	)
	go func() {
		buf := make([]byte, bufSize)
		for {
			n, err := in.Read(buf)
			if n > 0 {
				mu.Lock()
				to := last
				mu.Unlock()
				if to != nil {
					_, _ = pc.WriteTo(buf[:n], to)
				}
			}
			if err != nil {
				return
			}
		}
	}()
	buf := make([]byte, bufSize)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		if from != nil {
			mu.Lock()
			last = from
			mu.Unlock()
		}
		if _, err := out.Write(buf[:n]); err != nil {
			return err
		}
	}
}
