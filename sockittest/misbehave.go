package sockittest

import (
	"net"
	"sync"
	"testing"
	"time"
)

// Misbehaviour is how a Misbehave server fails the clients that come to it:
// the four ways a server can hold a client that trusts it to answer.
type Misbehaviour int

const (
	// Silent accepts (or receives) and never answers; a stream is kept
	// open, and what the client sends is read. (Every misbehaviour but
	// Hangup keeps a stream open until the test ends, even after the
	// client's FIN.)
	Silent Misbehaviour = iota + 1
	// Stall answers the first half of the reply (at least a byte), then
	// nothing more, the connection kept open. Over UDP: one datagram with
	// that half.
	Stall
	// Trickle sends the reply a byte at a time, Script.Every apart, then
	// stalls. Over UDP: each byte a datagram of its own.
	Trickle
	// Hangup answers the first half of the reply, then closes. Over UDP
	// nothing listens on the port: datagrams sent to it come back as ICMP
	// port unreachable (ECONNREFUSED to a connected socket).
	Hangup
)

// Misbehaviours are the four, in order, for a test to range over.
var Misbehaviours = []Misbehaviour{Silent, Stall, Trickle, Hangup}

func (m Misbehaviour) String() string {
	switch m {
	case Silent:
		return "silent"
	case Stall:
		return "stall"
	case Trickle:
		return "trickle"
	case Hangup:
		return "hangup"
	}
	return "misbehaviour?"
}

// Script is what a well-behaved server would have answered.
type Script struct {
	// Request makes the server read the client's request (one read: up to
	// 64 KiB, whatever has arrived) before it answers, as echo, HTTP and DNS
	// servers do; otherwise it speaks first, as daytime, qotd, time and
	// chargen do over TCP. Over UDP the request is always the datagram.
	Request bool
	// Reply is the whole answer to req (nil when the server speaks first).
	Reply func(req []byte) []byte
	// Every is Trickle's pace; zero means a byte a second.
	Every time.Duration
}

// Misbehave starts a server on 127.0.0.1:0 over network ("tcp" or "udp")
// that misbehaves as how says with the reply script s gives, and returns
// its address. Every connection is served at once, in a goroutine of its
// own; the server and every connection end with the test.
func Misbehave(t testing.TB, network string, how Misbehaviour, s Script) string {
	t.Helper()
	if s.Every <= 0 {
		s.Every = time.Second
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var addr string
	switch network {
	case "tcp":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = ln.Addr().String()
		var mu sync.Mutex
		conns := map[net.Conn]bool{}
		wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns[c] = true
				mu.Unlock()
				wg.Go(func() {
					misbehaveStream(c, how, s, stop)
					mu.Lock()
					delete(conns, c)
					mu.Unlock()
				})
			}
		})
		t.Cleanup(func() {
			close(stop)
			ln.Close()
			mu.Lock()
			for c := range conns {
				c.Close()
			}
			mu.Unlock()
			wg.Wait()
		})
	case "udp":
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr = pc.LocalAddr().String()
		if how == Hangup {
			pc.Close() // nothing listens: ICMP port unreachable
			return addr
		}
		wg.Go(func() { misbehavePackets(pc, how, s, stop) })
		t.Cleanup(func() { close(stop); pc.Close(); wg.Wait() })
	default:
		t.Fatalf("Misbehave: network %q is neither tcp nor udp", network)
	}
	return addr
}

// half is the first half of reply, at least a byte of it.
func half(reply []byte) []byte {
	return reply[:min(len(reply), max(1, len(reply)/2))]
}

func misbehaveStream(c net.Conn, how Misbehaviour, s Script, stop <-chan struct{}) {
	defer c.Close()
	var req []byte
	if s.Request || how == Silent {
		buf := make([]byte, 64<<10)
		n, err := c.Read(buf)
		if err != nil {
			<-stop // the client half-closed: hold on regardless
			return
		}
		req = buf[:n]
	}
	var reply []byte
	if s.Reply != nil {
		reply = s.Reply(req)
	}
	switch how {
	case Stall, Hangup:
		if _, err := c.Write(half(reply)); err != nil || how == Hangup {
			return
		}
	case Trickle:
		tick := time.NewTicker(s.Every)
		defer tick.Stop()
		for i := range reply {
			if _, err := c.Write(reply[i : i+1]); err != nil {
				return
			}
			select {
			case <-tick.C:
			case <-stop:
				return
			}
		}
	}
	// Hold the connection open, reading (and dropping) what comes, until
	// the test ends (which closes c); a client's FIN changes nothing.
	buf := make([]byte, 4096)
	for {
		if _, err := c.Read(buf); err != nil {
			<-stop
			return
		}
	}
}

func misbehavePackets(pc net.PacketConn, how Misbehaviour, s Script, stop <-chan struct{}) {
	buf := make([]byte, 64<<10)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if how == Silent || s.Reply == nil {
			continue
		}
		reply := s.Reply(buf[:n])
		switch how {
		case Stall:
			pc.WriteTo(half(reply), from)
		case Trickle:
			for i := range reply {
				pc.WriteTo(reply[i:i+1], from)
				select {
				case <-time.After(s.Every):
				case <-stop:
					return
				}
			}
		}
	}
}
