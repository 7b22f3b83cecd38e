package server_test

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// get sends one GET on c and reads the response, which must be a 200.
func get(t *testing.T, c net.Conn, br *bufio.Reader, close bool) {
	t.Helper()
	req := "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	if close {
		req = "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
	}
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	readOK(t, br)
}

func readOK(t *testing.T, br *bufio.Reader) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || len(body) == 0 {
		t.Fatalf("status %d, %d body bytes, %v", resp.StatusCode, len(body), err)
	}
}

// TestClientFirst: an HTTP listener on the loops accepts a connection once
// its first bytes arrive (TCP_DEFER_ACCEPT), and the request read at
// accept is answered whether the connection then closes, stays open for
// more, or brought only part of its request; a client that connects and
// waits is still accepted (about a second late) and served. Echo, whose
// peers may connect and wait to read, is not deferred.
func TestClientFirst(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Logger: quiet, Engine: engine})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := sockittest.ServeSocket(t, srv, ln, httpraw.Service(&httpraw.Responder{})).String()
		eln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		sockittest.ServeSocket(t, srv, eln, echo.Service())
		if d := deferAccept(t, srv, ln, engine); (d > 0) != (engine != "goroutine") {
			t.Fatalf("TCP_DEFER_ACCEPT on the HTTP listener is %d on the %s engine", d, engine)
		}
		if d := deferAccept(t, srv, eln, engine); d != 0 {
			t.Fatalf("TCP_DEFER_ACCEPT on the echo listener is %d, want 0", d)
		}

		// A connection per request: answered, then closed by the server.
		c := dial(t, "tcp", addr)
		br := bufio.NewReader(c)
		get(t, c, br, true)
		if n, err := br.Read(make([]byte, 1)); n != 0 || err != io.EOF {
			t.Fatalf("after Connection: close: %d bytes, %v; want EOF", n, err)
		}

		// Kept alive: the connection joins the loop after its first request.
		c = dial(t, "tcp", addr)
		br = bufio.NewReader(c)
		for range 3 {
			get(t, c, br, false)
		}

		// Part of a request at accept, the rest later.
		c = dial(t, "tcp", addr)
		br = bufio.NewReader(c)
		if _, err := io.WriteString(c, "GET / HT"); err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Second); srv.Active() < 2; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%d connections accepted; want the kept-alive one and the partial one", srv.Active())
			}
		}
		if _, err := io.WriteString(c, "TP/1.1\r\nHost: x\r\n\r\n"); err != nil {
			t.Fatal(err)
		}
		readOK(t, br)
		c.Close()
		for deadline := time.Now().Add(5 * time.Second); srv.Active() > 1; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("a closed connection still counted after 5s")
			}
		}

		// Connected, silent: accepted all the same, then served.
		c = dial(t, "tcp", addr)
		br = bufio.NewReader(c)
		start := time.Now()
		for deadline := start.Add(10 * time.Second); srv.Active() < 2; time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("a silent connection was not accepted within 10s")
			}
		}
		t.Logf("a silent connection was accepted after %v", time.Since(start).Round(time.Millisecond))
		get(t, c, br, true)
	})
}

// lastWord answers its first input (or greets, when greet is set) with
// reply and closes: the reply is the connection's last output.
type lastWord struct {
	reply []byte
	greet bool
}

func (h lastWord) Open(netip.AddrPort) server.Session { return h }
func (h lastWord) Greet(buf []byte) ([]byte, bool) {
	if h.greet {
		return append(buf, h.reply...), true
	}
	return nil, false
}
func (h lastWord) Receive(_, buf []byte) ([]byte, bool) { return append(buf, h.reply...), true }

// TestLastReplyArrivesWhole: a reply followed by the close (sent with
// MSG_MORE on the loops, so the FIN can ride on its last segment) arrives
// whole, then EOF: small ones, and ones larger than the socket buffers
// that the kernel takes in parts; as a reply and as a greeting.
func TestLastReplyArrivesWhole(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		for _, size := range []int{1, 620, 8 << 20} {
			for _, greet := range []bool{false, true} {
				reply := sockittest.RandomBytes(size, uint64(size))
				srv := server.New(server.Config{Logger: quiet, Engine: engine})
				addr := serveStream(t, srv, server.Service{Name: "last", Stream: lastWord{reply, greet}})
				c := dial(t, "tcp", addr)
				if !greet {
					if _, err := c.Write([]byte("x")); err != nil {
						t.Fatal(err)
					}
				}
				got, err := io.ReadAll(c)
				if err != nil || !bytes.Equal(got, reply) {
					t.Fatalf("size %d, greeting %v: got %d bytes (equal: %v), %v", size, greet, len(got), bytes.Equal(got, reply), err)
				}
			}
		}
	})
}

// TestLastReplySurvivesLateInput: a reply the connection closes after
// reaches a client whose next bytes (an extra CRLF after its request, as
// old clients send, or a pipelined request) arrive just after the server
// read the request. Such input is unread at the close, which then resets
// the connection and drops what the kernel still holds: a reply held back
// for the FIN (MSG_MORE) must have left before the close. The second write
// comes after a delay that varies from 0 to 95 µs, to land on both sides of
// the server's read.
func TestLastReplySurvivesLateInput(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv := server.New(server.Config{Logger: quiet, Engine: engine})
		addr := sockittest.Serve(t, srv, "tcp", httpraw.Service(&httpraw.Responder{})).String()
		for i := range 600 {
			c := dial(t, "tcp", addr)
			c.SetDeadline(time.Now().Add(10 * time.Second))
			if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(i%20) * 5 * time.Microsecond)
			io.WriteString(c, "\r\n") // may fail once the server has closed
			got, err := io.ReadAll(c)
			c.Close()
			if !bytes.HasPrefix(got, []byte("HTTP/1.1 200 OK\r\n")) {
				t.Fatalf("connection %d: got %q, %v", i, got, err)
			}
		}
	})
}
