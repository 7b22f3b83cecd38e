package sockit

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockit/sockit/internal/rawsys"
)

// Dialer connects to endpoints. Its zero value is ready to use.
type Dialer struct {
	// Timeout bounds every wait of the client: the connect (and a tls
	// endpoint's handshake, as curl's --connect-timeout does), and on the
	// connection returned (a *TimeoutConn) each wait for the peer, so that
	// a peer that accepts and never answers, stalls halfway or trickles
	// its reply ends the exchange within Timeout (TimeoutConn says how).
	// Zero means no bound beyond the context's, and a plain connection.
	Timeout time.Duration
	// Family narrows IP endpoints: 4, 6, or 0 for either (the default).
	Family int
	// TLS is the client configuration for tls endpoints; nil means Go's
	// defaults, which verify the server's certificate against the system's
	// roots. An empty ServerName is the endpoint's host (sent as SNI when
	// it is a name, and verified either way).
	TLS *tls.Config
}

// Dial connects to e. A unixgram socket is bound to a fresh address
// first, so the peer has somewhere to send its replies: an abstract one on
// Linux, elsewhere a socket file in the temporary directory that closing
// the connection removes. A tls endpoint is connected over TCP and its
// handshake done before Dial returns (a *tls.Conn, under a TimeoutConn
// when Timeout is set); half-close it with CloseWrite.
func (d *Dialer) Dial(ctx context.Context, e Endpoint) (net.Conn, error) {
	c, err := d.dial(ctx, e)
	if err != nil || d.Timeout <= 0 {
		return c, err
	}
	return NewTimeoutConn(c, d.Timeout), nil
}

func (d *Dialer) dial(ctx context.Context, e Endpoint) (net.Conn, error) {
	if e.IsTLS() {
		return d.dialTLS(ctx, e)
	}
	if isFamily(e.Network) {
		return dialFamily(ctx, e, d.Timeout)
	}
	e = e.WithFamily(d.Family)
	nd := net.Dialer{Timeout: d.Timeout}
	if e.Network != "unixgram" {
		return nd.DialContext(ctx, e.Network, e.Address)
	}
	local := clientSocketName()
	nd.LocalAddr = &net.UnixAddr{Net: "unixgram", Name: local}
	c, err := nd.DialContext(ctx, e.Network, e.Address)
	if err != nil || isAbstract(local) {
		return c, err
	}
	u := &unlinkOnClose{UnixConn: c.(*net.UnixConn), path: local}
	u.unlink.Store(true)
	return u, nil
}

// AutoAbstractName returns a unique Linux abstract socket name, for a client
// that must be addressable (unixgram replies).
func AutoAbstractName() string { return "@" + uniqueName() }

func uniqueName() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "sockit-" + hex.EncodeToString(b[:])
}

// ListenConfig holds the options of Listen and ListenPacket. Its zero
// value is what the package functions of those names use.
type ListenConfig struct {
	// UnixMode, if not zero, is the permission bits (at most 0777) of a
	// unix or unixgram socket created on a path; zero leaves the mode the
	// umask gives. Connecting to a socket file takes write permission on
	// it, so this is who may connect. The file is created with no more
	// bits than these (never wider, even before the mode is set; on Linux:
	// elsewhere the umask rules until then), then set to exactly these.
	// Abstract sockets (@name) have no mode.
	UnixMode os.FileMode
	// TLS is the server configuration of a tls endpoint (a certificate at
	// least; package tlsconfig has sockit's defaults). Listen on a tls
	// endpoint without it fails.
	TLS *tls.Config
}

// Listen opens a stream listener (tcp*, unix) on e with the zero
// ListenConfig (a tls endpoint needs one with TLS).
func Listen(ctx context.Context, e Endpoint) (net.Listener, error) {
	var lc ListenConfig
	return lc.Listen(ctx, e)
}

// ListenPacket opens a datagram socket (udp*, unixgram) on e with the zero
// ListenConfig.
func ListenPacket(ctx context.Context, e Endpoint) (net.PacketConn, error) {
	var lc ListenConfig
	return lc.ListenPacket(ctx, e)
}

// Listen opens a stream listener (tcp*, tls*, unix) on e. A stale Unix socket
// file left by a dead server is removed first; a live one is reported in
// use, and a file that is not a socket is never removed.
func (c *ListenConfig) Listen(ctx context.Context, e Endpoint) (net.Listener, error) {
	if e.IsPacket() {
		return nil, &net.OpError{Op: "listen", Net: e.Network, Err: errors.New("datagram endpoint: use ListenPacket")}
	}
	if e.Network == "unix" {
		if err := removeStaleSocket(e); err != nil {
			return nil, err
		}
	}
	if isFamily(e.Network) {
		return listenFamily(e)
	}
	if e.IsTLS() {
		return c.listenTLS(ctx, e)
	}
	lc := c.netConfig(e)
	ln, err := lc.Listen(ctx, e.Network, e.Address)
	if err != nil {
		return nil, err
	}
	if err := c.chmod(e); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// ListenPacket opens a datagram socket (udp*, unixgram) bound to e. For
// unixgram on a path, closing the returned conn removes the socket file; a
// stale file is removed first, as Listen does.
func (c *ListenConfig) ListenPacket(ctx context.Context, e Endpoint) (net.PacketConn, error) {
	if !e.IsPacket() {
		return nil, &net.OpError{Op: "listen", Net: e.Network, Err: errors.New("stream endpoint: use Listen")}
	}
	if e.Network == "unixgram" {
		if err := removeStaleSocket(e); err != nil {
			return nil, err
		}
	}
	if e.Network == "ipx" {
		_, _, err := familySocket("listen", e)
		return nil, err
	}
	lc := c.netConfig(e)
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
		pc = UnlinkOnClose(uc, e.Address, true)
	}
	if err := c.chmod(e); err != nil {
		pc.Close()
		return nil, err
	}
	return pc, nil
}

// netConfig is the net.ListenConfig for e: for a unix socket on a path
// with a UnixMode, the socket's own mode is narrowed before bind, which
// Linux gives the file it creates (less the umask), so the file is never
// wider than asked for between bind and chmod. (Elsewhere the umask alone
// sets the mode until chmod.)
func (c *ListenConfig) netConfig(e Endpoint) net.ListenConfig {
	var lc net.ListenConfig
	if chmodBeforeBind && c.UnixMode != 0 && e.IsUnix() && !isAbstract(e.Address) {
		mode := uint32(c.UnixMode.Perm())
		lc.Control = func(_, _ string, rc syscall.RawConn) error {
			var err error
			if cerr := rc.Control(func(fd uintptr) { err = syscall.Fchmod(int(fd), mode) }); cerr != nil {
				return cerr
			}
			if err != nil {
				return os.NewSyscallError("fchmod", err)
			}
			return nil
		}
	}
	return lc
}

// chmod sets a unix socket file to UnixMode.
func (c *ListenConfig) chmod(e Endpoint) error {
	if c.UnixMode == 0 || !e.IsUnix() || isAbstract(e.Address) {
		return nil
	}
	if err := SetSocketMode(e.Address, c.UnixMode); err != nil {
		return &net.OpError{Op: "listen", Net: e.Network, Addr: &net.UnixAddr{Net: e.Network, Name: e.Address}, Err: err}
	}
	return nil
}

// SetSocketMode sets the permission bits (at most 0777) of the unix
// socket file at path. It changes only a socket this process's user owns:
// a symbolic link put at path by whoever may write its directory is not
// followed, and no other file is touched, so a server running as root
// cannot be led to chmod another file (os.Chmod follows the link). On
// Linux what is checked is what is changed (one O_PATH descriptor);
// elsewhere the check and the change are two steps, the change never
// following a link: keep a socket's directory writable by its owner only.
func SetSocketMode(path string, mode os.FileMode) error {
	if mode&^0o777 != 0 {
		return fmt.Errorf("mode %#o is not permission bits (0 to 0777)", uint32(mode))
	}
	return chmodSocket(path, mode)
}

func isAbstract(addr string) bool { return len(addr) > 0 && addr[0] == '@' }

// UnlinkOnClose returns uc, a unixgram socket bound to path, so that
// closing it removes the file, as net.UnixListener does for stream
// sockets; unlink sets whether it does at first. ListenPacket returns its
// unixgram sockets so. The result has SetUnlinkOnClose, as
// net.UnixListener has: a server handing its socket over to another owner
// (a reload's new generation) clears it on the old one and sets it on the
// new.
func UnlinkOnClose(uc *net.UnixConn, path string, unlink bool) net.PacketConn {
	u := &unlinkOnClose{UnixConn: uc, path: path}
	u.unlink.Store(unlink)
	return u
}

type unlinkOnClose struct {
	*net.UnixConn
	path   string
	unlink atomic.Bool
}

// SetUnlinkOnClose sets whether Close removes the socket file.
func (u *unlinkOnClose) SetUnlinkOnClose(unlink bool) { u.unlink.Store(unlink) }

func (u *unlinkOnClose) Close() error {
	err := u.UnixConn.Close()
	if u.unlink.Load() {
		_ = os.Remove(u.path)
	}
	return err
}

// removeStaleSocket deletes a socket file nobody listens on any more (left
// by a server that died), as many daemons do. A live socket is left to fail
// the bind as in use; a file that is not a socket is never removed, and
// is reported.
func removeStaleSocket(e Endpoint) error {
	if isAbstract(e.Address) {
		return nil
	}
	fi, err := os.Lstat(e.Address)
	if err != nil {
		return nil
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return &net.OpError{Op: "listen", Net: e.Network, Addr: &net.UnixAddr{Net: e.Network, Name: e.Address},
			Err: fmt.Errorf("%s is in the way: not a socket (only a stale socket is removed)", fileKind(fi.Mode()))}
	}
	c, err := net.DialTimeout(e.Network, e.Address, time.Second)
	if err == nil {
		c.Close()
		return nil
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		_ = os.Remove(e.Address)
	}
	return nil
}

// fileKind names what a mode is, for messages.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeSymlink != 0:
		return "a symbolic link"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m.IsRegular():
		return "a regular file"
	}
	return "a file"
}
