package server_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/chargen"
	"github.com/sockit/sockit/proto/daytime"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
	"github.com/sockit/sockit/tlsconfig"
)

// tlsPair is a server configuration with a throwaway certificate and a
// client configuration that trusts it.
func tlsPair(t testing.TB, protos ...string) (srv, cli *tls.Config) {
	t.Helper()
	cert, err := tlsconfig.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert.Leaf)
	return tlsconfig.Server(tlsconfig.Static(&cert), protos...), &tls.Config{RootCAs: pool, ServerName: "localhost"}
}

// tlsRecorder counts what a TLS listener reports: handshakes (full and
// resumed) and drops by reason.
type tlsRecorder struct {
	mu      sync.Mutex
	full    int
	resumed int
	drops   map[string]int
	open    int
}

func newTLSRecorder() *tlsRecorder { return &tlsRecorder{drops: map[string]int{}} }

func (r *tlsRecorder) Listener(service, network string) server.ListenerRecorder { return r }
func (r *tlsRecorder) Accepted()                                                { r.mu.Lock(); r.open++; r.mu.Unlock() }
func (r *tlsRecorder) Closed()                                                  { r.mu.Lock(); r.open--; r.mu.Unlock() }
func (r *tlsRecorder) Received(int, int)                                        {}
func (r *tlsRecorder) Sent(int, int)                                            {}
func (r *tlsRecorder) Dropped(reason string, n int) {
	r.mu.Lock()
	r.drops[reason] += n
	r.mu.Unlock()
}
func (r *tlsRecorder) Handshake(version uint16, resumed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if resumed {
		r.resumed++
	} else {
		r.full++
	}
}

func (r *tlsRecorder) drop(reason string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.drops[reason]
}

func (r *tlsRecorder) handshakes() (full, resumed int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.full, r.resumed
}

func dialTLS(t testing.TB, addr string, cfg *tls.Config) *tls.Conn {
	t.Helper()
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c
}

// TestTLSStreamServices runs the small services over TLS on every engine:
// echo both ways with half-close (the client's close_notify, then the
// server's after the last echoed byte: nothing lost), daytime's greeting
// after the handshake, chargen's stream and the peer's close_notify ending
// it.
func TestTLSStreamServices(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srvCfg, cli := tlsPair(t)
		srv := server.New(server.Config{Logger: quiet, Engine: engine})
		addrOf := func(svc server.Service) string {
			svc.TLS = srvCfg
			return serveStream(t, srv, svc)
		}
		t.Run("echo", func(t *testing.T) {
			c := dialTLS(t, addrOf(echo.Service()), cli)
			defer c.Close()
			msg := sockittest.RandomBytes(1<<20, 7)
			go func() {
				c.Write(msg)
				c.CloseWrite()
			}()
			got, err := io.ReadAll(c)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("echoed %d bytes, %v; want %d identical, then the server's close_notify", len(got), err, len(msg))
			}
		})
		t.Run("daytime", func(t *testing.T) {
			c := dialTLS(t, addrOf(daytime.Service("", nil)), cli)
			defer c.Close()
			got, err := io.ReadAll(c)
			if err != nil || !strings.HasSuffix(string(got), "\n") || len(got) < 20 {
				t.Fatalf("daytime over TLS: %q, %v", got, err)
			}
		})
		t.Run("chargen", func(t *testing.T) {
			c := dialTLS(t, addrOf(chargen.Service()), cli)
			defer c.Close()
			buf := make([]byte, 2<<20)
			if _, err := io.ReadFull(c, buf); err != nil {
				t.Fatal(err)
			}
			if bad := chargen.Verify(buf, 0); bad >= 0 {
				t.Fatalf("chargen over TLS broke its pattern at byte %d", bad)
			}
			// The peer's close_notify ends the stream: the server sends
			// its own, and the rest of the stream ends in EOF.
			c.CloseWrite()
			if _, err := io.Copy(io.Discard, c); err != nil {
				t.Fatalf("after close_notify: %v, want the server's close_notify", err)
			}
		})
		sockittest.Eventually(t, 10*time.Second, "every connection closed", func() bool { return srv.Active() == 0 })
	})
}

// TestTLSResponder: the HTTP responder over TLS, ALPN http/1.1, on every
// engine: keep-alive requests, a file too large for the cache (sendfile
// is no use under TLS: read and encrypted a buffer at a time), a
// redirect that says https, a pipelined pair, and Connection: close
// ending with close_notify.
func TestTLSResponder(t *testing.T) {
	big, root := bigFile(t, 3<<20+123)
	if err := root.Mkdir("sub", 0o755); err != nil {
		t.Fatal(err)
	}
	eachEngine(t, func(t *testing.T, engine string) {
		srvCfg, cli := tlsPair(t, "http/1.1")
		rec := newTLSRecorder()
		srv := server.New(server.Config{Logger: quiet, Engine: engine, Recorder: rec})
		svc := httpraw.Service(&httpraw.Responder{Root: root})
		svc.TLS = srvCfg
		addr := serveStream(t, srv, svc)
		cli.NextProtos = []string{"h2", "http/1.1"}
		c := dialTLS(t, addr, cli)
		defer c.Close()
		if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
			t.Errorf("ALPN chose %q, want http/1.1", p)
		}
		br := bufio.NewReader(c)
		for i := range 3 {
			fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			resp := readResponse(t, br)
			if resp.status != 200 || !bytes.Contains(resp.body, []byte("My html page")) {
				t.Fatalf("request %d: %d %q", i, resp.status, resp.body)
			}
		}
		fmt.Fprintf(c, "GET /sub HTTP/1.1\r\nHost: x:8443\r\n\r\n")
		if resp := readResponse(t, br); resp.status != 301 || resp.location != "https://x:8443/sub/" {
			t.Errorf("directory without its slash: %d Location %q, want 301 https://x:8443/sub/", resp.status, resp.location)
		}
		fmt.Fprintf(c, "GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		if resp := readResponse(t, br); resp.status != 200 || !bytes.Equal(resp.body, big) {
			t.Fatalf("big file: %d, %d bytes; want %d identical", resp.status, len(resp.body), len(big))
		}
		if resp := readResponse(t, br); resp.status != 200 {
			t.Fatalf("pipelined request behind the file: %d", resp.status)
		}
		if rest, err := io.ReadAll(br); err != nil || len(rest) > 0 {
			t.Fatalf("after Connection: close: %q, %v; want the server's close_notify (EOF)", rest, err)
		}
		if full, _ := rec.handshakes(); full != 1 {
			t.Errorf("handshakes counted: %d, want 1", full)
		}
	})
}

type response struct {
	status   int
	location string
	body     []byte
}

// readResponse reads one response with a Content-Length body.
func readResponse(t *testing.T, br *bufio.Reader) response {
	t.Helper()
	var r response
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("status line: %v", err)
	}
	fmt.Sscanf(line, "HTTP/1.1 %d", &r.status)
	length := -1
	for {
		h, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("header: %v", err)
		}
		if h == "\r\n" {
			break
		}
		if k, v, ok := strings.Cut(h, ":"); ok && strings.EqualFold(k, "Content-Length") {
			fmt.Sscanf(strings.TrimSpace(v), "%d", &length)
		} else if ok && strings.EqualFold(k, "Location") {
			r.location = strings.TrimSpace(v)
		}
	}
	if length < 0 {
		t.Fatalf("no Content-Length")
	}
	r.body = make([]byte, length)
	if _, err := io.ReadFull(br, r.body); err != nil {
		t.Fatalf("body: %v", err)
	}
	return r
}

// TestTLSResumption: a second connection with the first's ticket resumes
// (TLS 1.3 and 1.2), and the recorder counts one full handshake and one
// resumed for each version.
func TestTLSResumption(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srvCfg, cli := tlsPair(t)
		rec := newTLSRecorder()
		srv := server.New(server.Config{Logger: quiet, Engine: engine, Recorder: rec})
		svc := echo.Service()
		svc.TLS = srvCfg
		addr := serveStream(t, srv, svc)
		for _, v := range []uint16{tls.VersionTLS13, tls.VersionTLS12} {
			cfg := cli.Clone()
			cfg.MaxVersion = v
			cfg.ClientSessionCache = tls.NewLRUClientSessionCache(4)
			for i, want := range []bool{false, true} {
				c := dialTLS(t, addr, cfg)
				// A TLS 1.3 ticket comes after the handshake: an echo
				// round trip reads it.
				c.Write([]byte("x"))
				io.ReadFull(c, make([]byte, 1))
				if got := c.ConnectionState().DidResume; got != want {
					t.Errorf("version %x, connection %d: resumed %v, want %v", v, i, got, want)
				}
				c.Close()
			}
		}
		sockittest.Eventually(t, 5*time.Second, "2 full and 2 resumed handshakes counted", func() bool {
			full, resumed := rec.handshakes()
			return full == 2 && resumed == 2
		})
	})
}

// TestTLSHandshakeFailuresByReason: each way a handshake fails is counted
// under its reason, on every engine, and plain HTTP to the HTTPS port gets
// net/http's 400.
func TestTLSHandshakeFailuresByReason(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srvCfg, cli := tlsPair(t, "http/1.1")
		rec := newTLSRecorder()
		srv := server.New(server.Config{Logger: quiet, Engine: engine, Recorder: rec, HandshakeTimeout: 2 * time.Second})
		svc := httpraw.Service(&httpraw.Responder{})
		svc.TLS = srvCfg
		addr := serveStream(t, srv, svc)

		// Plain HTTP.
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		got, _ := io.ReadAll(c)
		c.Close()
		if !strings.HasPrefix(string(got), "HTTP/1.0 400 Bad Request") || !strings.Contains(string(got), "HTTPS server") {
			t.Errorf("plain HTTP got %q", got)
		}
		fail := func(cfg *tls.Config) {
			t.Helper()
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr, cfg)
			if err == nil {
				c.Close()
				t.Errorf("handshake with %+v succeeded", cfg)
			}
		}
		old := cli.Clone()
		old.MinVersion, old.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
		fail(old)
		cbc := cli.Clone()
		cbc.MaxVersion = tls.VersionTLS12
		cbc.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}
		fail(cbc)
		alpn := cli.Clone()
		alpn.NextProtos = []string{"imap"}
		fail(alpn)
		fail(&tls.Config{ServerName: "localhost"}) // does not trust the certificate
		// Silent: the handshake timeout.
		s, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		s.Write([]byte{22, 3, 1}) // a record header begun, never finished
		s.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := s.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("silent client: %v, want EOF at the handshake timeout", err)
		}
		s.Close()
		want := map[string]int{
			server.DropTLSNotTLS:           1,
			server.DropTLSVersion:          1,
			server.DropTLSNoShared:         1,
			server.DropTLSALPN:             1,
			server.DropTLSClientAlert:      1,
			server.DropTLSHandshakeTimeout: 1,
		}
		// The timeout is long enough that no failing handshake, on a
		// loaded machine under -race, reaches it before failing.
		sockittest.Eventually(t, 10*time.Second, fmt.Sprintf("drops %v", want), func() bool {
			for reason, n := range want {
				if rec.drop(reason) != n {
					return false
				}
			}
			return true
		})
		if t.Failed() {
			t.Logf("drops: %v", rec.drops)
		}
	})
}

// TestTLSHandshakeInputBounded: a client whose handshake message keeps
// growing is cut off at the bound (32 KiB), not buffered to crypto/tls's
// 64 KiB.
func TestTLSHandshakeInputBounded(t *testing.T) {
	srvCfg, _ := tlsPair(t)
	rec := newTLSRecorder()
	srv := server.New(server.Config{Logger: quiet, Recorder: rec})
	svc := echo.Service()
	svc.TLS = srvCfg
	addr := serveStream(t, srv, svc)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// A ClientHello that says it is 60,000 bytes long, in 16 KiB records.
	body := make([]byte, 60000)
	msg := append([]byte{1, 0, 0xea, 0x60}, body...)
	var sent int
	for len(msg) > 0 {
		n := min(len(msg), 16<<10)
		rec := append([]byte{22, 3, 1, byte(n >> 8), byte(n)}, msg[:n]...)
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Write(rec); err != nil {
			break // the server has closed
		}
		sent += n
		msg = msg[n:]
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, c)
	sockittest.Eventually(t, 5*time.Second, "the too-large drop", func() bool { return rec.drop(server.DropTLSTooLarge) == 1 })
}

// TestTLSSilentClientsDoNotSlowNewOnes: 5,000 clients that connect and
// never finish a handshake (half of them silent, half stopping after a
// record header) are held at a bounded cost, do not keep a new client
// from its handshake and echo, and are all dropped at the handshake
// timeout. Bounded in count and time; no timing ratio is asserted.
func TestTLSSilentClientsDoNotSlowNewOnes(t *testing.T) {
	if testing.Short() {
		t.Skip("5,000 connections")
	}
	srvCfg, cli := tlsPair(t)
	rec := newTLSRecorder()
	const timeout = 3 * time.Second
	srv := server.New(server.Config{Logger: quiet, Recorder: rec, MaxConnsPerSource: -1, HandshakeTimeout: timeout})
	svc := echo.Service()
	svc.TLS = srvCfg
	addr := serveStream(t, srv, svc)
	const n = 5000
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range n {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		if i%2 == 1 {
			c.Write([]byte{22, 3, 1, 0x02, 0x00}) // a 512-byte record announced, never sent
		}
		conns = append(conns, c)
	}
	// A new client, while they hang on.
	c := dialTLS(t, addr, cli)
	c.Write([]byte("still served"))
	got := make([]byte, len("still served"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "still served" {
		t.Fatalf("new client: %q, %v", got, err)
	}
	c.Close()
	// Every stalled one is dropped at the timeout (counted as such).
	sockittest.Eventually(t, timeout+15*time.Second, "5,000 handshake timeouts", func() bool {
		return rec.drop(server.DropTLSHandshakeTimeout) == n
	})
	for _, c := range conns[:10] {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("a stalled client read %v, want EOF", err)
		}
	}
}

// TestTLSShutdownClosesIdleKeepAlive: an HTTPS keep-alive connection
// between requests is idle: Shutdown closes it at once, on every engine.
func TestTLSShutdownClosesIdleKeepAlive(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srvCfg, cli := tlsPair(t)
		srv := server.New(server.Config{Logger: quiet, Engine: engine})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		svc := httpraw.Service(&httpraw.Responder{})
		svc.TLS = srvCfg
		done := make(chan error, 1)
		go func() { done <- srv.ServeStream(ln, svc) }()
		c := dialTLS(t, ln.Addr().String(), cli)
		defer c.Close()
		br := bufio.NewReader(c)
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		readResponse(t, br)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		t0 := time.Now()
		if err := srv.Shutdown(ctx); err != nil {
			t.Fatalf("Shutdown: %v after %v", err, time.Since(t0))
		}
		<-done
		if _, err := br.ReadByte(); err != io.EOF {
			t.Errorf("idle keep-alive connection after Shutdown: %v, want EOF", err)
		}
	})
}

// TestTLSInteropCurlOpenSSL: curl and openssl s_client against the
// responder over TLS (the loop engine), verifying the certificate.
func TestTLSInteropCurlOpenSSL(t *testing.T) {
	curl := sockittest.RequireTool(t, "curl")
	openssl := sockittest.RequireTool(t, "openssl")
	certFile, keyFile := sockittest.SelfSignedCert(t, t.TempDir())
	var store tlsconfig.Store
	if _, err := store.Load(tlsconfig.Pair{Cert: certFile, Key: keyFile}); err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Logger: quiet})
	svc := httpraw.Service(&httpraw.Responder{})
	svc.TLS = tlsconfig.Server(store.GetCertificate, "http/1.1")
	addr := serveStream(t, srv, svc)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	for _, v := range []string{"--tlsv1.3", "--tls-max"} {
		args := []string{"-sS", "--cacert", certFile, "--resolve", "localhost:" + port + ":127.0.0.1", "https://localhost:" + port + "/", "https://localhost:" + port + "/format.css"}
		if v == "--tls-max" {
			args = append([]string{"--tls-max", "1.2"}, args...)
		} else {
			args = append([]string{v}, args...)
		}
		out, err := exec.Command(curl, args...).CombinedOutput()
		if err != nil || !bytes.Contains(out, []byte("My html page")) {
			t.Errorf("curl %s: %v\n%s", v, err, out)
		}
	}
	cmd := exec.Command(openssl, "s_client", "-connect", addr, "-servername", "localhost", "-CAfile", certFile,
		"-verify_return_error", "-alpn", "http/1.1", "-ign_eof")
	cmd.Stdin = strings.NewReader("GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	out, err := cmd.CombinedOutput()
	if err != nil || !bytes.Contains(out, []byte("My html page")) || !bytes.Contains(out, []byte("ALPN protocol: http/1.1")) ||
		!bytes.Contains(out, []byte("Verify return code: 0 (ok)")) {
		t.Errorf("openssl s_client: %v\n%s", err, out)
	}
}

var (
	_ = os.Getpid
	_ = filepath.Join
	_ = netip.AddrPort{}
)
