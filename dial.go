package sockit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/sockit/sockit/internal/rawsys"
)

// Dialer connects to endpoints. Its zero value is ready to use.
type Dialer struct {
	// Timeout bounds the connect; zero means no bound beyond the context's.
	Timeout time.Duration
	// Family narrows IP endpoints: 4, 6, or 0 for either (the default).
	Family int
}

// Dial connects to e. A unixgram socket is bound to a fresh abstract
// address first, so the peer has somewhere to send its replies.
func (d *Dialer) Dial(ctx context.Context, e Endpoint) (net.Conn, error) {
	if isFamily(e.Network) {
		return dialFamily(ctx, e, d.Timeout)
	}
	e = e.WithFamily(d.Family)
	nd := net.Dialer{Timeout: d.Timeout}
	if e.Network == "unixgram" {
		nd.LocalAddr = &net.UnixAddr{Net: "unixgram", Name: AutoAbstractName()}
	}
	return nd.DialContext(ctx, e.Network, e.Address)
}

// AutoAbstractName returns a unique Linux abstract socket name, for a client
// that must be addressable (unixgram replies).
func AutoAbstractName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "@sockit-" + hex.EncodeToString(b[:])
}

// Listen opens a stream listener (tcp*, unix) on e. A stale Unix socket file
// left by a dead server is removed first; a live one is reported in use.
func Listen(ctx context.Context, e Endpoint) (net.Listener, error) {
	if e.IsPacket() {
		return nil, &net.OpError{Op: "listen", Net: e.Network, Err: errors.New("datagram endpoint: use ListenPacket")}
	}
	if e.Network == "unix" {
		removeStaleSocket(e)
	}
	if isFamily(e.Network) {
		return listenFamily(e)
	}
	var lc net.ListenConfig
	return lc.Listen(ctx, e.Network, e.Address)
}

// ListenPacket opens a datagram socket (udp*, unixgram) bound to e. For
// unixgram on a path, closing the returned conn removes the socket file.
func ListenPacket(ctx context.Context, e Endpoint) (net.PacketConn, error) {
	if !e.IsPacket() {
		return nil, &net.OpError{Op: "listen", Net: e.Network, Err: errors.New("stream endpoint: use Listen")}
	}
	if e.Network == "unixgram" {
		removeStaleSocket(e)
	}
	if e.Network == "ipx" {
		_, _, err := familySocket("listen", e)
		return nil, err
	}
	var lc net.ListenConfig
	if !e.IsUnix() {
		// SO_REUSEPORT lets a server add sockets on the same port, one per
		// core, and let the kernel spread datagrams over them (only a
		// process of the same user may join).
		lc.Control = rawsys.ReusePort
	}
	pc, err := lc.ListenPacket(ctx, e.Network, e.Address)
	if err != nil {
		return nil, err
	}
	if uc, ok := pc.(*net.UnixConn); ok && !isAbstract(e.Address) {
		return &unlinkOnClose{UnixConn: uc, path: e.Address}, nil
	}
	return pc, nil
}

func isAbstract(addr string) bool { return len(addr) > 0 && addr[0] == '@' }

// unlinkOnClose removes a unixgram socket file when the socket closes, as
// net.UnixListener does for stream sockets.
type unlinkOnClose struct {
	*net.UnixConn
	path string
}

func (u *unlinkOnClose) Close() error {
	err := u.UnixConn.Close()
	_ = os.Remove(u.path)
	return err
}

// removeStaleSocket deletes a socket file nobody listens on any more.
func removeStaleSocket(e Endpoint) {
	if isAbstract(e.Address) {
		return
	}
	fi, err := os.Lstat(e.Address)
	if err != nil || fi.Mode()&os.ModeSocket == 0 {
		return
	}
	c, err := net.DialTimeout(e.Network, e.Address, time.Second)
	if err == nil {
		c.Close()
		return
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		_ = os.Remove(e.Address)
	}
}
