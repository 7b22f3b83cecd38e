package netcat_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/netcat"
	"github.com/sockit/sockit/sockittest"
	"github.com/sockit/sockit/tlsconfig"
)

// serverTLS is listen --ssl's configuration with a throwaway certificate,
// and a client configuration that trusts it (and verifies it).
func serverTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	cert, err := tlsconfig.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return tlsconfig.Server(tlsconfig.Static(&cert)), &tls.Config{RootCAs: pool}
}

// listenTLS runs netcat.Listen on a tls endpoint in the background and
// returns its address and the channel its result comes on.
func listenTLS(t *testing.T, ep string, in io.Reader, out io.Writer, opt netcat.Options) (net.Addr, chan error) {
	t.Helper()
	e, err := sockit.ParseEndpoint(ep, sockit.Defaults{})
	if err != nil {
		t.Fatal(err)
	}
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	opt.Announce = func(_ string, a net.Addr) { addrc <- a }
	go func() { done <- netcat.Listen(ctxT(t), e, in, out, opt) }()
	select {
	case a := <-addrc:
		return a, done
	case err := <-done:
		t.Fatalf("listen: %v", err)
	}
	return nil, nil
}

// TestConnectListenTLS joins sockit connect to sockit listen over TLS, on
// IPv4 and IPv6, the client verifying the server: 1 MiB each way arrives
// whole, so the half-close (close_notify, then FIN) loses nothing.
func TestConnectListenTLS(t *testing.T) {
	for _, ep := range []string{"tls4://127.0.0.1:0", "tls6://[::1]:0"} {
		t.Run(ep, func(t *testing.T) {
			srv, cli := serverTLS(t)
			up, down := sockittest.RandomBytes(mib, 14), sockittest.RandomBytes(mib, 15)
			var atServer, atClient bytes.Buffer
			addr, done := listenTLS(t, ep, bytes.NewReader(down), &atServer, netcat.Options{TLS: srv})
			target, err := sockit.ParseEndpoint(strings.Split(ep, "://")[0]+"://"+addr.String(), sockit.Defaults{})
			if err != nil {
				t.Fatal(err)
			}
			if err := netcat.Connect(ctxT(t), &sockit.Dialer{TLS: cli}, target, bytes.NewReader(up), &atClient, netcat.Options{}); err != nil {
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

// A peer that fails its handshake (plain text to a TLS listener, or a
// client that refuses the certificate) is reported and dropped, and
// listen goes on to serve the next peer, as ncat does.
func TestListenTLSSurvivesFailedHandshakes(t *testing.T) {
	srv, cli := serverTLS(t)
	var (
		mu     sync.Mutex
		failed []error
	)
	var got bytes.Buffer
	addr, done := listenTLS(t, "tls://127.0.0.1:0", strings.NewReader("hello back"), &got, netcat.Options{
		TLS: srv,
		PeerFailed: func(_ net.Addr, err error) {
			mu.Lock()
			failed = append(failed, err)
			mu.Unlock()
		},
	})
	// Plain text: the server answers with an alert, or closes.
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "GET / HTTP/1.0\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, c)
	c.Close()
	// A client that trusts nothing refuses the throwaway certificate.
	target := sockit.Endpoint{Network: "tls", Address: addr.String()}
	err = netcat.Connect(ctxT(t), &sockit.Dialer{}, target, strings.NewReader("x"), io.Discard, netcat.Options{})
	var uae x509.UnknownAuthorityError
	if !errors.As(err, &uae) {
		t.Errorf("unverified certificate: %v, want x509.UnknownAuthorityError", err)
	}
	// Then a good one.
	var back bytes.Buffer
	if err := netcat.Connect(ctxT(t), &sockit.Dialer{TLS: cli}, target, strings.NewReader("hello"), &back, netcat.Options{}); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got.String() != "hello" || back.String() != "hello back" {
		t.Errorf("server got %q, client %q", got.String(), back.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(failed) != 2 {
		t.Errorf("failed peers reported: %v, want 2", failed)
	}
}

// A peer that connects and never says anything is dropped at the
// handshake timeout, and the next is served (listen -k).
func TestListenTLSHandshakeTimeout(t *testing.T) {
	srv, cli := serverTLS(t)
	failedc := make(chan error, 1)
	var got lockedBuffer
	ctx := ctxT(t)
	e := sockit.Endpoint{Network: "tls", Address: "127.0.0.1:0"}
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- netcat.Listen(ctx, e, strings.NewReader(""), &got, netcat.Options{
			TLS: srv, KeepOpen: true, HandshakeTimeout: 200 * time.Millisecond,
			Announce:   func(_ string, a net.Addr) { addrc <- a },
			PeerFailed: func(_ net.Addr, err error) { failedc <- err },
		})
	}()
	addr := <-addrc
	silent, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	if err := <-failedc; !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent peer: %v, want the handshake timeout", err)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("silent peer read %v, want EOF (dropped)", err)
	}
	target := sockit.Endpoint{Network: "tls", Address: addr.String()}
	if err := netcat.Connect(ctx, &sockit.Dialer{TLS: cli}, target, strings.NewReader("late"), io.Discard, netcat.Options{}); err != nil {
		t.Fatal(err)
	}
	sockittest.Eventually(t, 5*time.Second, "the second peer's bytes", func() bool { return got.String() == "late" })
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ncatTLSFiles writes a certificate and key for ncat --ssl-cert/--ssl-key.
func ncatTLSFiles(t *testing.T) (certFile, keyFile string, client *tls.Config) {
	certFile, keyFile = sockittest.SelfSignedCert(t, t.TempDir())
	pem, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return certFile, keyFile, &tls.Config{RootCAs: pool}
}

// TestConnectTLSToNcat: sockit connect tls:// to ncat --ssl -l, verifying
// ncat's certificate; 1 MiB each way.
func TestConnectTLSToNcat(t *testing.T) {
	ncat := sockittest.RequireTool(t, "ncat")
	certFile, keyFile, cli := ncatTLSFiles(t)
	port := sockittest.FreePort(t)
	toSockit := sockittest.RandomBytes(mib, 16)
	fromSockit := sockittest.RandomBytes(mib, 17)
	cmd := exec.Command(ncat, "-v", "--ssl", "--ssl-cert", certFile, "--ssl-key", keyFile, "-l", "127.0.0.1", strconv.Itoa(port))
	cmd.Stdin = bytes.NewReader(toSockit)
	var ncatOut bytes.Buffer
	cmd.Stdout = &ncatOut
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sockittest.WaitLine(t, stderr, regexp.MustCompile(`Listening on`), 10*time.Second)
	go io.Copy(io.Discard, stderr)
	// ncat stops at the peer's close_notify, its own input sent or not:
	// sockit's input ends once all of ncat's bytes are in.
	got := &countingBuffer{want: len(toSockit), full: make(chan struct{})}
	in := io.MultiReader(bytes.NewReader(fromSockit), waitReader(got.full))
	e := sockit.Endpoint{Network: "tls", Address: fmt.Sprintf("localhost:%d", port)}
	err := netcat.Connect(ctxT(t), &sockit.Dialer{TLS: cli}, e, in, got, netcat.Options{})
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

// TestListenTLSForNcat: ncat --ssl --ssl-verify connects to sockit listen
// over TLS, trusting the server's certificate file; 1 MiB each way.
func TestListenTLSForNcat(t *testing.T) {
	ncat := sockittest.RequireTool(t, "ncat")
	certFile, keyFile, _ := ncatTLSFiles(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	toNcat := sockittest.RandomBytes(mib, 18)
	fromNcat := sockittest.RandomBytes(mib, 19)
	// ncat quits at the peer's close_notify: the server's input ends once
	// all of ncat's bytes are in.
	got := &countingBuffer{want: len(fromNcat), full: make(chan struct{})}
	in := io.MultiReader(bytes.NewReader(toNcat), waitReader(got.full))
	addr, done := listenTLS(t, "tls://127.0.0.1:0", in, got, netcat.Options{TLS: tlsconfig.Server(tlsconfig.Static(&cert))})
	cmd := exec.Command(ncat, "--ssl-verify", "--ssl-trustfile", certFile, "localhost", strconv.Itoa(addr.(*net.TCPAddr).Port))
	cmd.Stdin = bytes.NewReader(fromNcat)
	var ncatOut, ncatErr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &ncatOut, &ncatErr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ncat: %v\n%s", err, ncatErr.Bytes())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.buf.Bytes(), fromNcat) {
		t.Errorf("sockit received %d bytes, want %d identical", got.buf.Len(), len(fromNcat))
	}
	if !bytes.Equal(ncatOut.Bytes(), toNcat) {
		t.Errorf("ncat received %d bytes, want %d identical", ncatOut.Len(), len(toNcat))
	}
}

// TestListenTLSForOpenSSL: openssl s_client, verifying the certificate,
// sends to sockit listen over TLS and reads its reply to the end.
func TestListenTLSForOpenSSL(t *testing.T) {
	openssl := sockittest.RequireTool(t, "openssl")
	certFile, keyFile, _ := ncatTLSFiles(t)
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	toClient := sockittest.RandomBytes(256<<10, 20)
	fromClient := sockittest.RandomBytes(256<<10, 21)
	// s_client quits at the server's close_notify, its own input sent or
	// not: the server's input ends once all of the client's bytes are in.
	got := &countingBuffer{want: len(fromClient), full: make(chan struct{})}
	in := io.MultiReader(bytes.NewReader(toClient), waitReader(got.full))
	addr, done := listenTLS(t, "tls://127.0.0.1:0", in, got, netcat.Options{TLS: tlsconfig.Server(tlsconfig.Static(&cert))})
	// -ign_eof: read on after stdin ends, until the server's close_notify.
	cmd := exec.Command(openssl, "s_client", "-connect", addr.String(), "-servername", "localhost",
		"-CAfile", certFile, "-verify_return_error", "-quiet", "-ign_eof")
	cmd.Stdin = bytes.NewReader(fromClient)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl s_client: %v\n%s", err, stderr.Bytes())
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.buf.Bytes(), fromClient) {
		t.Errorf("sockit received %d bytes, want %d identical", got.buf.Len(), len(fromClient))
	}
	if !bytes.Equal(out.Bytes(), toClient) {
		t.Errorf("openssl received %d bytes, want %d identical\n%s", out.Len(), len(toClient), stderr.Bytes())
	}
}
