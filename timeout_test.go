package sockit_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/sockittest"
)

// TestTimeoutPolicy: a client dialed with a Timeout reads from each
// misbehaving server and ends within the Timeout (plus a margin for a
// loaded machine): a timeout for the silent, stalled and trickling ones
// (the trickle is faster than the Timeout, so only the 1 KiB rule ends it),
// EOF for the one that hangs up.
func TestTimeoutPolicy(t *testing.T) {
	const timeout = 600 * time.Millisecond
	reply := make([]byte, 200)
	s := sockittest.Script{Request: true, Reply: func([]byte) []byte { return reply }, Every: 100 * time.Millisecond}
	for _, how := range sockittest.Misbehaviours {
		t.Run(how.String(), func(t *testing.T) {
			t.Parallel()
			addr := sockittest.Misbehave(t, "tcp", how, s)
			d := &sockit.Dialer{Timeout: timeout}
			c, err := d.Dial(context.Background(), sockit.Endpoint{Network: "tcp", Address: addr})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte("request")); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			got, err := io.ReadAll(c)
			el := time.Since(start)
			if how == sockittest.Hangup {
				if err != nil || len(got) != 100 {
					t.Errorf("hangup: %d bytes, %v; want 100 and EOF", len(got), err)
				}
				return
			}
			var oe *net.OpError
			if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.As(err, &oe) || oe.Op != "read" {
				t.Errorf("%s: %d bytes, %v; want a read timeout", how, len(got), err)
			}
			if el < timeout-50*time.Millisecond || el > timeout+time.Second {
				t.Errorf("%s: ended after %v; want about %v", how, el, timeout)
			}
		})
	}
}

// TestTimeoutPolicySteadyPeer: a peer that sends 1 KiB or more in every
// Timeout is never cut, however long the transfer lasts, even though each
// of its pauses is most of the Timeout; and a caller's own deadline (a
// context's cancel) still ends a wait at once.
func TestTimeoutPolicySteadyPeer(t *testing.T) {
	const timeout = 400 * time.Millisecond
	chunk := make([]byte, 1500)
	addr := sockittest.TCPPeer(t, func(c *net.TCPConn) {
		tick := time.NewTicker(250 * time.Millisecond)
		defer tick.Stop()
		for range 6 { // 1.5 s in all: well past the Timeout
			if _, err := c.Write(chunk); err != nil {
				return
			}
			<-tick.C
		}
	})
	d := &sockit.Dialer{Timeout: timeout}
	c, err := d.Dial(context.Background(), sockit.Endpoint{Network: "tcp", Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := io.ReadAll(c)
	if err != nil || len(got) != 6*len(chunk) {
		t.Errorf("steady peer: %d bytes, %v", len(got), err)
	}

	silent := sockittest.Misbehave(t, "tcp", sockittest.Silent, sockittest.Script{})
	c2, err := (&sockit.Dialer{Timeout: time.Minute}).Dial(context.Background(), sockit.Endpoint{Network: "tcp", Address: silent})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	ctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, func() { c2.SetDeadline(time.Now()) })
	defer stop()
	start := time.Now()
	go cancel()
	if _, err := c2.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("canceled read: %v after %v", err, time.Since(start))
	}
}

// TestTimeoutPolicyWrites: a peer that takes nothing ends a write within
// the Timeout.
func TestTimeoutPolicyWrites(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	const timeout = 500 * time.Millisecond
	c, err := (&sockit.Dialer{Timeout: timeout}).Dial(context.Background(), sockit.Endpoint{Network: "tcp", Address: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if peer := <-accepted; peer != nil {
		defer peer.Close() // open, never read
	}
	start := time.Now()
	n, err := c.Write(make([]byte, 64<<20))
	if !errors.Is(err, os.ErrDeadlineExceeded) || n == 64<<20 || time.Since(start) > timeout+2*time.Second {
		t.Errorf("write to a peer that reads nothing: %d bytes, %v, after %v", n, err, time.Since(start))
	}
}
