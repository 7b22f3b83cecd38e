package sockit_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

func TestFamilySockaddrs(t *testing.T) {
	e, _ := sockit.ParseEndpoint("rfcomm://AA:BB:CC:DD:EE:FF/3", sockit.Defaults{})
	sa, domain, typ, proto, err := e.Sockaddr()
	if err != nil {
		t.Fatal(err)
	}
	// bdaddr_t holds the address least significant byte first.
	if r, ok := sa.(*unix.SockaddrRFCOMM); !ok || r.Addr != [6]byte{0xff, 0xee, 0xdd, 0xcc, 0xbb, 0xaa} || r.Channel != 3 ||
		domain != unix.AF_BLUETOOTH || typ != unix.SOCK_STREAM || proto != unix.BTPROTO_RFCOMM {
		t.Errorf("rfcomm: %#v %d %d %d", sa, domain, typ, proto)
	}
	e, _ = sockit.ParseEndpoint("l2cap://00:1A:7D:DA:71:13/4097", sockit.Defaults{})
	sa, domain, typ, proto, err = e.Sockaddr()
	if l, ok := sa.(*unix.SockaddrL2); err != nil || !ok || l.Addr != [6]byte{0x13, 0x71, 0xda, 0x7d, 0x1a, 0x00} || l.PSM != 4097 ||
		domain != unix.AF_BLUETOOTH || typ != unix.SOCK_SEQPACKET || proto != unix.BTPROTO_L2CAP {
		t.Errorf("l2cap: %#v %d %d %d %v", sa, domain, typ, proto, err)
	}
	a := sockit.IPXAddr{Network: 1, Node: [6]byte{0, 0, 0xc0, 0xa8, 0, 1}, Socket: 0x451}
	want := binary.NativeEndian.AppendUint16(nil, unix.AF_IPX) // Linux's layout
	want = append(want, 0x04, 0x51, 0, 0, 0, 1, 0, 0, 0xc0, 0xa8, 0, 1, 0, 0)
	if got := a.Marshal(); !bytes.Equal(got, want) {
		t.Errorf("sockaddr_ipx = % x, want % x", got, want)
	}
}

// On a kernel without the family, dialing and listening fail with its
// errno, explained. (Where the kernel has Bluetooth, the test skips: it
// cannot know whether an adapter is there.)
func TestFamiliesTheKernelLacks(t *testing.T) {
	for _, tt := range []struct {
		endpoint, family string
		domain           int
		words            string
	}{
		{"rfcomm://AA:BB:CC:DD:EE:FF/3", "AF_BLUETOOTH", unix.AF_BLUETOOTH, "this kernel has no Bluetooth support"},
		{"l2cap://AA:BB:CC:DD:EE:FF/4097", "AF_BLUETOOTH", unix.AF_BLUETOOTH, "this kernel has no Bluetooth support"},
		{"ipx://00000001:0000c0a80001:0451", "AF_IPX", unix.AF_IPX, "Linux removed IPX in 4.18 (2018); this kernel cannot open it"},
	} {
		if fd, err := unix.Socket(tt.domain, unix.SOCK_DGRAM, 0); err == nil || !errors.Is(err, unix.EAFNOSUPPORT) {
			if err == nil {
				unix.Close(fd)
			}
			t.Logf("%s: this kernel has %s (socket: %v); skipped", tt.endpoint, tt.family, err)
			continue
		}
		e, err := sockit.ParseEndpoint(tt.endpoint, sockit.Defaults{})
		if err != nil {
			t.Fatal(err)
		}
		var errs []error
		_, err = (&sockit.Dialer{}).Dial(context.Background(), e)
		errs = append(errs, err)
		if e.IsPacket() {
			_, err = sockit.ListenPacket(context.Background(), e)
		} else {
			_, err = sockit.Listen(context.Background(), e)
		}
		errs = append(errs, err)
		for _, err := range errs {
			var fe *sockit.FamilyUnavailableError
			if !errors.As(err, &fe) || !errors.Is(err, unix.EAFNOSUPPORT) {
				t.Errorf("%s: %v, want a FamilyUnavailableError wrapping EAFNOSUPPORT", tt.endpoint, err)
				continue
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.words) || !strings.Contains(msg, "socket("+tt.family+") failed with EAFNOSUPPORT: address family not supported by protocol") {
				t.Errorf("%s: message %q", tt.endpoint, msg)
			}
		}
	}
}

// The Bluetooth sockets' plumbing past socket() — accept, connect through
// the runtime poller, half-close, deadlines — serving the echo service on
// sockit's server, over a Unix stream socket standing in for RFCOMM (this
// kernel has no Bluetooth).
func TestFamilyPlumbingServesEcho(t *testing.T) {
	name := sockit.AutoAbstractName()
	lfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sa := &unix.SockaddrUnix{Name: name}
	if err := unix.Bind(lfd, sa); err != nil {
		t.Fatal(err)
	}
	if err := unix.Listen(lfd, 16); err != nil {
		t.Fatal(err)
	}
	e := sockit.Endpoint{Network: "rfcomm", Address: "00:00:00:00:00:00/1"}
	ln := sockit.FamilyListenerOnFD(lfd, e)
	if ln.Addr().Network() != "rfcomm" || ln.Addr().String() != "00:00:00:00:00:00/1" {
		t.Errorf("listener address %v %v", ln.Addr().Network(), ln.Addr())
	}
	srv := server.New(server.Config{})
	served := make(chan error, 1)
	go func() { served <- srv.ServeStream(ln, echo.Service()) }()
	defer func() {
		srv.Close()
		if err := <-served; !errors.Is(err, server.ErrServerClosed) {
			t.Errorf("ServeStream: %v", err)
		}
	}()

	for i := range 3 {
		cfd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			t.Fatal(err)
		}
		c, err := sockit.ConnectFD(context.Background(), cfd, sa, e, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		msg := sockittest.RandomBytes(100000, uint64(i))
		go func() {
			c.Write(msg)
			c.(interface{ CloseWrite() error }).CloseWrite()
		}()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		got, err := io.ReadAll(c)
		c.Close()
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("echo %d: %d bytes back of %d, %v", i, len(got), len(msg), err)
		}
	}

	// Connecting to nobody fails with the errno, through the poller.
	cfd, _ := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	_, err = sockit.ConnectFD(context.Background(), cfd, &unix.SockaddrUnix{Name: sockit.AutoAbstractName()}, e, time.Second)
	if !errors.Is(err, unix.ECONNREFUSED) || !strings.Contains(err.Error(), "dial rfcomm 00:00:00:00:00:00/1") {
		t.Errorf("connect to nobody: %v", err)
	}
}
