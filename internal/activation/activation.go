package activation

import (
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/activation"
	"github.com/coreos/go-systemd/v22/daemon"
	"golang.org/x/sys/unix"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto"
)

// MetricsName is the FileDescriptorName= of the socket that serves the
// metrics and the health probes.
const MetricsName = "metrics"

// Activated reports whether systemd passed sockets to this process.
func Activated() bool {
	return os.Getenv("LISTEN_FDS") != "" && os.Getenv("LISTEN_PID") == fmt.Sprint(os.Getpid())
}

// Socket is one socket systemd passed, for the service its name names.
type Socket struct {
	Service  string
	Endpoint sockit.Endpoint // where it is bound
	// Listener (a stream socket) or PacketConn (a datagram socket).
	Listener   net.Listener
	PacketConn net.PacketConn
}

// Close closes the socket.
func (s Socket) Close() {
	if s.Listener != nil {
		s.Listener.Close()
	}
	if s.PacketConn != nil {
		s.PacketConn.Close()
	}
}

// Sockets takes over the sockets systemd passed: one Socket each, for
// the service its name names, and the metrics listener if one is named
// "metrics". Stream sockets (TCP, unix) become listeners and datagram
// sockets (UDP, unixgram) packet conns. A name that is no service (and
// not the unit's default name, "sockit.socket" or "sockit-SERVICE.socket",
// which names the service too) is an error. It unsets the LISTEN_
// variables so children do not inherit them.
func Sockets() (specs []Socket, metrics net.Listener, err error) {
	files := activation.Files(true)
	defer func() {
		for _, f := range files {
			f.Close() // the listeners hold duplicates
		}
		if err != nil {
			for _, sp := range specs {
				sp.Close()
			}
			if metrics != nil {
				metrics.Close()
			}
			specs, metrics = nil, nil
		}
	}()
	for i, f := range files {
		name := serviceName(f.Name())
		typ, err := unix.GetsockoptInt(int(f.Fd()), unix.SOL_SOCKET, unix.SO_TYPE)
		if err != nil {
			return specs, metrics, fmt.Errorf("passed descriptor %d (%s) is not a socket: %w", 3+i, f.Name(), err)
		}
		if name == MetricsName {
			if typ != unix.SOCK_STREAM || metrics != nil {
				return specs, metrics, fmt.Errorf("the metrics socket must be one stream socket")
			}
			if metrics, err = net.FileListener(f); err != nil {
				return specs, metrics, fmt.Errorf("metrics socket: %w", err)
			}
			continue
		}
		base, tls := strings.CutSuffix(name, "-tls")
		if _, known := proto.Lookup(base); !tls || !known {
			base, tls = name, false
		}
		name = base
		in, ok := proto.Lookup(name)
		if !ok {
			return specs, metrics, fmt.Errorf("passed socket %d is named %q, which is no service (name it with FileDescriptorName=, one of: %s, %s)",
				3+i, f.Name(), strings.Join(proto.Names(nil), ", "), MetricsName)
		}
		sp := Socket{Service: in.Name}
		switch typ {
		case unix.SOCK_STREAM:
			if sp.Listener, err = net.FileListener(f); err != nil {
				return specs, metrics, fmt.Errorf("%s socket: %w", name, err)
			}
			sp.Endpoint = sockit.Endpoint{Network: sp.Listener.Addr().Network(), Address: sp.Listener.Addr().String()}
			if tls {
				if sp.Endpoint.Network != "tcp" {
					return specs, metrics, fmt.Errorf("%s-tls: socket %d is a %s socket; TLS runs over TCP", name, 3+i, sp.Endpoint.Network)
				}
				sp.Endpoint.Network = "tls" // served over TLS (serve's --tls-cert)
			}
		case unix.SOCK_DGRAM:
			if tls {
				return specs, metrics, fmt.Errorf("%s-tls: socket %d is a datagram socket; TLS runs over TCP", name, 3+i)
			}
			if in.StreamOnly {
				return specs, metrics, fmt.Errorf("%s has no datagram side, but socket %d is a datagram socket", name, 3+i)
			}
			if sp.PacketConn, err = net.FilePacketConn(f); err != nil {
				return specs, metrics, fmt.Errorf("%s socket: %w", name, err)
			}
			sp.Endpoint = sockit.Endpoint{Network: sp.PacketConn.LocalAddr().Network(), Address: sp.PacketConn.LocalAddr().String()}
		default:
			return specs, metrics, fmt.Errorf("%s: socket %d is neither a stream nor a datagram socket", name, 3+i)
		}
		specs = append(specs, sp)
	}
	return specs, metrics, nil
}

// serviceName maps a descriptor name to a service: FileDescriptorName=
// as is, or the socket unit's name when none was set.
func serviceName(fdname string) string {
	if _, ok := proto.Lookup(fdname); ok || fdname == MetricsName {
		return fdname
	}
	n := strings.TrimSuffix(fdname, ".socket")
	n = strings.TrimPrefix(n, "sockit-")
	if n == "sockit" {
		return "echo" // deploy/systemd/sockit.socket carries echo
	}
	return n
}

// Notify sends one sd_notify state ("READY=1", ...) to NOTIFY_SOCKET; it
// does nothing when the variable is unset.
func Notify(state string) error {
	_, err := daemon.SdNotify(false, state)
	return err
}

// Ready tells the manager the service is up.
func Ready() error { return Notify(daemon.SdNotifyReady) }

// Stopping tells the manager the service is shutting down.
func Stopping() error { return Notify(daemon.SdNotifyStopping) }

// Reloading tells the manager a reload began; Ready ends it.
func Reloading() error {
	return Notify(daemon.SdNotifyReloading + "\n" + daemon.SdNotifyMonotonicUsec())
}

// Watchdog sends WATCHDOG=1 at half the interval the manager asks for
// (WATCHDOG_USEC, and WATCHDOG_PID if set) while alive returns true, until
// ctx ends. Without a watchdog it returns at once.
func Watchdog(ctx context.Context, alive func() bool) error {
	every, err := daemon.SdWatchdogEnabled(false)
	if err != nil || every == 0 {
		return err
	}
	t := time.NewTicker(every / 2)
	defer t.Stop()
	for {
		if alive == nil || alive() {
			Notify(daemon.SdNotifyWatchdog)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
