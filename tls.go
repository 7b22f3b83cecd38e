package sockit

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
)

// dialTLS connects to e over TCP and does the client handshake, both
// within d.Timeout. A failed handshake is a *net.OpError of Op "dial" and
// Net e.Network around crypto/tls's error (an x509 error when the
// certificate is refused).
func (d *Dialer) dialTLS(ctx context.Context, e Endpoint) (net.Conn, error) {
	if d.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.Timeout)
		defer cancel()
	}
	tcp := Dialer{Family: d.Family}
	conn, err := tcp.Dial(ctx, e.Transport())
	if err != nil {
		return nil, err
	}
	var cfg *tls.Config
	if d.TLS != nil {
		cfg = d.TLS.Clone()
	} else {
		cfg = &tls.Config{}
	}
	if cfg.ServerName == "" {
		// What tls.Dial does: a name is sent as SNI and verified; an IP
		// address is verified (against the certificate's IP SANs) only.
		cfg.ServerName = e.Host()
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, &net.OpError{Op: "dial", Net: e.Network, Addr: conn.RemoteAddr(), Err: err}
	}
	return tc, nil
}

// listenTLS listens on e's TCP transport and serves TLS with c.TLS.
// Accepted connections handshake on their first Read or Write (or an
// explicit HandshakeContext, which bounds it).
func (c *ListenConfig) listenTLS(ctx context.Context, e Endpoint) (net.Listener, error) {
	if c.TLS == nil || len(c.TLS.Certificates) == 0 && c.TLS.GetCertificate == nil && c.TLS.GetConfigForClient == nil {
		return nil, &net.OpError{Op: "listen", Net: e.Network, Err: errors.New("no certificate to serve TLS with")}
	}
	t := e.Transport()
	lc := c.netConfig(t)
	ln, err := lc.Listen(ctx, t.Network, t.Address)
	if err != nil {
		return nil, err
	}
	return tls.NewListener(ln, c.TLS), nil
}

// CloseWrite half-closes c, a stream connection: nothing more is sent,
// and what the peer sends can still be read. On TCP and unix sockets it
// sends a FIN (shutdown(SHUT_WR)). On TLS it sends close_notify first,
// which says the stream ended where it did and was not cut (RFC 8446,
// 6.1), then the FIN of the TCP connection under it, for a peer that
// watches the socket. A conn that cannot half-close (a datagram socket)
// gives errors.ErrUnsupported.
func CloseWrite(c net.Conn) error {
	switch c := c.(type) {
	case *tls.Conn:
		if err := c.CloseWrite(); err != nil {
			return err
		}
		return CloseWrite(c.NetConn())
	case *TimeoutConn:
		return CloseWrite(c.Conn)
	case interface{ CloseWrite() error }:
		return c.CloseWrite()
	}
	return errors.ErrUnsupported
}
