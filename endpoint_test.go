package sockit_test

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockit/sockit"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParseEndpoint(t *testing.T) {
	def := sockit.Defaults{Network: "tcp", Port: 13}
	tests := []struct {
		in   string
		want sockit.Endpoint
	}{
		{"localhost:8001", sockit.Endpoint{"tcp", "localhost:8001"}},
		{"localhost", sockit.Endpoint{"tcp", "localhost:13"}},
		{"127.0.0.1", sockit.Endpoint{"tcp", "127.0.0.1:13"}},
		{"[::1]:8001", sockit.Endpoint{"tcp", "[::1]:8001"}},
		{"[::1]", sockit.Endpoint{"tcp", "[::1]:13"}},
		{"::1", sockit.Endpoint{"tcp", "[::1]:13"}},
		{"[fe80::1%lo]:7", sockit.Endpoint{"tcp", "[fe80::1%lo]:7"}},
		{":8001", sockit.Endpoint{"tcp", ":8001"}},
		{"tcp://host:80", sockit.Endpoint{"tcp", "host:80"}},
		{"TCP://host:80", sockit.Endpoint{"tcp", "host:80"}},
		{"tcp4://127.0.0.1:0", sockit.Endpoint{"tcp4", "127.0.0.1:0"}},
		{"tcp6://[::1]:0", sockit.Endpoint{"tcp6", "[::1]:0"}},
		{"udp://djxmmx.net:17", sockit.Endpoint{"udp", "djxmmx.net:17"}},
		{"udp4://host", sockit.Endpoint{"udp4", "host:13"}},
		{"udp6://[::1]:53", sockit.Endpoint{"udp6", "[::1]:53"}},
		{"unix:///run/x.sock", sockit.Endpoint{"unix", "/run/x.sock"}},
		{"unix://@abstract", sockit.Endpoint{"unix", "@abstract"}},
		{"unix://./rel.sock", sockit.Endpoint{"unix", "rel.sock"}},
		{"unix://rel.sock", sockit.Endpoint{"unix", "rel.sock"}},
		{"unixgram:///tmp/q.sock", sockit.Endpoint{"unixgram", "/tmp/q.sock"}},
		{"unixgram://@q", sockit.Endpoint{"unixgram", "@q"}},
		// Service names from /etc/services (netbase), per network.
		{"localhost:echo", sockit.Endpoint{"tcp", "localhost:7"}},
		{"tcp://127.0.0.1:daytime", sockit.Endpoint{"tcp", "127.0.0.1:13"}},
		{"udp6://[::1]:daytime", sockit.Endpoint{"udp6", "[::1]:13"}},
		{"tcp://h:qotd", sockit.Endpoint{"tcp", "h:17"}},
		{"udp://h:domain", sockit.Endpoint{"udp", "h:53"}},
		// TLS over TCP: a port name is TCP's.
		{"tls://example.com:443", sockit.Endpoint{"tls", "example.com:443"}},
		{"TLS://host:https", sockit.Endpoint{"tls", "host:443"}},
		{"tls4://127.0.0.1:0", sockit.Endpoint{"tls4", "127.0.0.1:0"}},
		{"tls6://[::1]:8443", sockit.Endpoint{"tls6", "[::1]:8443"}},
		{"tls://localhost", sockit.Endpoint{"tls", "localhost:13"}},
	}
	for _, tt := range tests {
		got, err := sockit.ParseEndpoint(tt.in, def)
		if err != nil {
			t.Errorf("ParseEndpoint(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseEndpoint(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		again, err := sockit.ParseEndpoint(got.String(), def)
		if err != nil || again != got {
			t.Errorf("round trip of %q via %q = %+v, %v", tt.in, got.String(), again, err)
		}
	}
}

func TestParseEndpointErrors(t *testing.T) {
	tests := []struct{ in, reason string }{
		{"", "empty"},
		{"tcp://host:99999", `port "99999"`},
		{"tcp://host:-1", `port "-1"`},
		{"tcp://host:+1", `port "+1"`},
		{"host:nosuchservice", `unknown service name "nosuchservice"`},
		{"udp://host:-echo", `port "-echo"`},
		{"host:ecé", `port "ecé"`},
		{"unix://", "no socket path"},
		{"unix://@", "empty abstract"},
		{"unixgram://./", "no socket path"},
		{"foo://x", `unknown scheme "foo"`},
		{"host:", "missing port"},
		{"[::1", "missing ']'"},
		{"[::1]x", "unexpected"},
		{"[host]:1", "not an IPv6 address"},
		{"a:b:c", "too many colons"},
		{"tcp4://[::1]:1", "not an IPv4 address"},
		{"tcp6://127.0.0.1:1", "not an IPv6 address"},
		{"tcp://ho st:1", "host"},
		{"tcp://a\nb:1", "control character"},
	}
	for _, tt := range tests {
		_, err := sockit.ParseEndpoint(tt.in, sockit.Defaults{})
		if err == nil {
			t.Errorf("ParseEndpoint(%q) succeeded, want error about %s", tt.in, tt.reason)
			continue
		}
		if !errors.Is(err, sockit.ErrBadEndpoint) {
			t.Errorf("ParseEndpoint(%q) error %v does not wrap ErrBadEndpoint", tt.in, err)
		}
		if !bytes.Contains([]byte(err.Error()), []byte(tt.reason)) {
			t.Errorf("ParseEndpoint(%q) error %q does not name %q", tt.in, err, tt.reason)
		}
	}
	// A bare host with no default port is refused.
	if _, err := sockit.ParseEndpoint("localhost", sockit.Defaults{}); err == nil {
		t.Error("bare host without a default port was accepted")
	}
}

func FuzzParseEndpoint(f *testing.F) {
	for _, s := range []string{"localhost:8001", "[::1]:0", "tcp6://[fe80::1%eth0]:1", "unix:///a", "unix://@x",
		"unixgram://./r", "udp://h", "::1", ":0", "a:b:c", "tcp://:0", "unix://.h",
		"rfcomm://AA:BB:CC:DD:EE:FF/3", "localhost:echo", "udp://h:daytime", "h:nosuch-svc", "l2cap://00:1a:7d:da:71:13/4097", "ipx://00000001:0000c0a80001:0451"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := sockit.ParseEndpoint(s, sockit.Defaults{Port: 7})
		if err != nil {
			if !errors.Is(err, sockit.ErrBadEndpoint) {
				t.Fatalf("error %v does not wrap ErrBadEndpoint", err)
			}
			return
		}
		again, err := sockit.ParseEndpoint(e.String(), sockit.Defaults{Port: 7})
		if err != nil {
			t.Fatalf("%q parsed to %+v, whose String %q fails: %v", s, e, e.String(), err)
		}
		if again != e {
			t.Fatalf("%q: round trip %+v → %q → %+v", s, e, e.String(), again)
		}
	})
}

// TestEndpointsOnRealSockets binds every family on port 0 (or a fresh path),
// dials it through its parsed endpoint and exchanges bytes both ways.
func TestEndpointsOnRealSockets(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, listen string
	}{
		{"tcp4", "tcp4://127.0.0.1:0"},
		{"tcp6", "tcp6://[::1]:0"},
		{"tcp", "tcp://localhost:0"},
		{"udp4", "udp4://127.0.0.1:0"},
		{"udp6", "udp6://[::1]:0"},
		{"unix", "unix://" + filepath.Join(dir, "s.sock")},
		{"abstract", "unix://" + sockit.AutoAbstractName()},
		{"unixgram", "unixgram://" + filepath.Join(dir, "g.sock")},
		{"abstractgram", "unixgram://" + sockit.AutoAbstractName()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			e, err := sockit.ParseEndpoint(tt.listen, sockit.Defaults{})
			if err != nil {
				t.Fatal(err)
			}
			msg := []byte("hello there " + tt.name)
			var d sockit.Dialer
			if e.IsPacket() {
				pc, err := sockit.ListenPacket(ctx, e)
				if err != nil {
					t.Fatal(err)
				}
				defer pc.Close()
				target := boundEndpoint(t, e, pc.LocalAddr())
				c, err := d.Dial(ctx, target)
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				if _, err := c.Write(msg); err != nil {
					t.Fatal(err)
				}
				buf := make([]byte, 100)
				pc.SetDeadline(time.Now().Add(5 * time.Second))
				n, from, err := pc.ReadFrom(buf)
				if err != nil || !bytes.Equal(buf[:n], msg) {
					t.Fatalf("server got %q, %v", buf[:n], err)
				}
				if _, err := pc.WriteTo(buf[:n], from); err != nil {
					t.Fatal(err)
				}
				c.SetDeadline(time.Now().Add(5 * time.Second))
				n, err = c.Read(buf)
				if err != nil || !bytes.Equal(buf[:n], msg) {
					t.Fatalf("client got %q, %v", buf[:n], err)
				}
				return
			}
			ln, err := sockit.Listen(ctx, e)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			done := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					done <- err
					return
				}
				defer c.Close()
				buf := make([]byte, 100)
				n, err := c.Read(buf)
				if err == nil {
					_, err = c.Write(buf[:n])
				}
				done <- err
			}()
			c, err := d.Dial(ctx, boundEndpoint(t, e, ln.Addr()))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write(msg)
			buf := make([]byte, 100)
			c.SetDeadline(time.Now().Add(5 * time.Second))
			n, err := c.Read(buf)
			if err != nil || !bytes.Equal(buf[:n], msg) {
				t.Fatalf("echo got %q, %v", buf[:n], err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		})
	}
}

// boundEndpoint turns a listener's address back into an endpoint string and
// parses it, so the test goes through the notation users write.
func boundEndpoint(t *testing.T, e sockit.Endpoint, addr net.Addr) sockit.Endpoint {
	t.Helper()
	s := e.Network + "://" + addr.String()
	got, err := sockit.ParseEndpoint(s, sockit.Defaults{})
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return got
}

func TestListenReplacesStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stale.sock")
	e := sockit.Endpoint{Network: "unix", Address: path}
	ln, err := sockit.Listen(context.Background(), e)
	if err != nil {
		t.Fatal(err)
	}
	// Leave the file behind, as a killed server does.
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	ln.Close()
	ln, err = sockit.Listen(context.Background(), e)
	if err != nil {
		t.Fatalf("listen over a stale socket: %v", err)
	}
	defer ln.Close()
	// A live one is not taken over.
	if _, err := sockit.Listen(context.Background(), e); err == nil {
		t.Fatal("listening over a live socket succeeded")
	}
}
