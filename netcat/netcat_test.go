package netcat_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/netcat"
	"github.com/sockit/sockit/sockittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const mib = 1 << 20

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestConnectToNcat has sockit connect to an ncat listener; each side
// sends its own 1 MiB and both arrive byte-exact.
func TestConnectToNcat(t *testing.T) {
	ncat := sockittest.RequireTool(t, "ncat")
	port := sockittest.FreePort(t)
	toSockit := sockittest.RandomBytes(mib, 1)
	fromSockit := sockittest.RandomBytes(mib, 6)
	cmd := exec.Command(ncat, "-v", "-l", "127.0.0.1", strconv.Itoa(port))
	cmd.Stdin = bytes.NewReader(toSockit)
	var ncatOut bytes.Buffer
	cmd.Stdout = &ncatOut
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sockittest.WaitLine(t, stderr, regexp.MustCompile(`Listening on`), 10*time.Second)

	// ncat quits as soon as it reads EOF, even with its own input unsent,
	// so sockit's input ends only once all of ncat's bytes have arrived.
	got := &countingBuffer{want: len(toSockit), full: make(chan struct{})}
	in := io.MultiReader(bytes.NewReader(fromSockit), waitReader(got.full))
	e := sockit.Endpoint{Network: "tcp", Address: fmt.Sprintf("127.0.0.1:%d", port)}
	err := netcat.Connect(ctxT(t), &sockit.Dialer{}, e, in, got, netcat.Options{})
	if werr := cmd.Wait(); werr != nil {
		t.Errorf("ncat: %v", werr)
	}
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.buf.Bytes(), toSockit) {
		t.Errorf("sockit received %d bytes, want %d identical", got.buf.Len(), len(toSockit))
	}
	if !bytes.Equal(ncatOut.Bytes(), fromSockit) {
		t.Errorf("ncat received %d bytes, want %d identical", ncatOut.Len(), len(fromSockit))
	}
}

// countingBuffer closes full once it holds want bytes.
type countingBuffer struct {
	buf  bytes.Buffer
	want int
	full chan struct{}
}

func (c *countingBuffer) Write(p []byte) (int, error) {
	n, err := c.buf.Write(p)
	if c.buf.Len() >= c.want && c.full != nil {
		close(c.full)
		c.full = nil
	}
	return n, err
}

// waitReader returns EOF once ch is closed.
type waitReader chan struct{}

func (w waitReader) Read([]byte) (int, error) { <-w; return 0, io.EOF }

// TestListenForNcat has ncat connect to sockit listen; each side sends its
// own 1 MiB and both arrive byte-exact.
func TestListenForNcat(t *testing.T) {
	ncat := sockittest.RequireTool(t, "ncat")
	toNcat := sockittest.RandomBytes(mib, 2)
	fromNcat := sockittest.RandomBytes(mib, 3)
	addrc := make(chan net.Addr, 1)
	var got bytes.Buffer
	done := make(chan error, 1)
	go func() {
		e := sockit.Endpoint{Network: "tcp", Address: "127.0.0.1:0"}
		done <- netcat.Listen(ctxT(t), e, bytes.NewReader(toNcat), &got, netcat.Options{
			Announce: func(_ string, a net.Addr) { addrc <- a },
		})
	}()
	addr := (<-addrc).(*net.TCPAddr)
	cmd := exec.Command(ncat, "127.0.0.1", strconv.Itoa(addr.Port))
	cmd.Stdin = bytes.NewReader(fromNcat)
	var ncatOut bytes.Buffer
	cmd.Stdout = &ncatOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("ncat: %v", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), fromNcat) {
		t.Errorf("sockit received %d bytes, want %d identical", got.Len(), len(fromNcat))
	}
	if !bytes.Equal(ncatOut.Bytes(), toNcat) {
		t.Errorf("ncat received %d bytes, want %d identical", ncatOut.Len(), len(toNcat))
	}
}

// TestConnectListenStreams joins sockit connect to sockit listen over every
// stream family, 1 MiB each way.
func TestConnectListenStreams(t *testing.T) {
	dir := t.TempDir()
	for _, ep := range []string{"tcp4://127.0.0.1:0", "tcp6://[::1]:0",
		"unix://" + filepath.Join(dir, "nc.sock"), "unix://" + sockit.AutoAbstractName()} {
		t.Run(ep, func(t *testing.T) {
			e, err := sockit.ParseEndpoint(ep, sockit.Defaults{})
			if err != nil {
				t.Fatal(err)
			}
			up, down := sockittest.RandomBytes(mib, 4), sockittest.RandomBytes(mib, 5)
			addrc := make(chan net.Addr, 1)
			var atServer, atClient bytes.Buffer
			done := make(chan error, 1)
			go func() {
				done <- netcat.Listen(ctxT(t), e, bytes.NewReader(down), &atServer, netcat.Options{
					Announce: func(_ string, a net.Addr) { addrc <- a },
				})
			}()
			target := sockit.Endpoint{Network: e.Network, Address: (<-addrc).String()}
			if err := netcat.Connect(ctxT(t), &sockit.Dialer{}, target, bytes.NewReader(up), &atClient, netcat.Options{}); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(atServer.Bytes(), up) || !bytes.Equal(atClient.Bytes(), down) {
				t.Errorf("server got %d bytes, client %d; want %d each, identical", atServer.Len(), atClient.Len(), mib)
			}
		})
	}
}

// TestConnectDatagrams sends datagrams to an echo socket: every read of
// input is one datagram, and every reply is printed.
func TestConnectDatagrams(t *testing.T) {
	dir := t.TempDir()
	for _, ep := range []string{"udp4://127.0.0.1:0", "udp6://[::1]:0", "unixgram://" + filepath.Join(dir, "g.sock")} {
		t.Run(ep, func(t *testing.T) {
			e, _ := sockit.ParseEndpoint(ep, sockit.Defaults{})
			pc, err := sockit.ListenPacket(context.Background(), e)
			if err != nil {
				t.Fatal(err)
			}
			served := make(chan struct{})
			go func() {
				defer close(served)
				buf := make([]byte, 2048)
				for {
					n, from, err := pc.ReadFrom(buf)
					if err != nil {
						return
					}
					pc.WriteTo(buf[:n], from)
				}
			}()
			defer func() { pc.Close(); <-served }()
			var out bytes.Buffer
			target := sockit.Endpoint{Network: e.Network, Address: pc.LocalAddr().String()}
			msg := []byte("a datagram")
			err = netcat.Connect(ctxT(t), &sockit.Dialer{}, target, bytes.NewReader(msg), &out, netcat.Options{Wait: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), msg) {
				t.Errorf("got %q, want %q", out.Bytes(), msg)
			}
		})
	}
}

func TestConnectRefused(t *testing.T) {
	port := sockittest.FreePort(t)
	e := sockit.Endpoint{Network: "tcp", Address: fmt.Sprintf("127.0.0.1:%d", port)}
	err := netcat.Connect(ctxT(t), &sockit.Dialer{}, e, bytes.NewReader(nil), &bytes.Buffer{}, netcat.Options{})
	want := fmt.Sprintf("dial tcp 127.0.0.1:%d: connect: connection refused", port)
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}
