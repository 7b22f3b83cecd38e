package sockittest

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestMisbehave checks each misbehaviour over TCP and UDP: what arrives,
// and that the connection is still open (or closed) after it.
func TestMisbehave(t *testing.T) {
	s := Script{Request: true, Reply: func(req []byte) []byte { return append([]byte("re:"), req...) }, Every: 20 * time.Millisecond}
	for _, how := range Misbehaviours {
		t.Run(how.String()+"/tcp", func(t *testing.T) {
			c, err := net.Dial("tcp", Misbehave(t, "tcp", how, s))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("abc"))
			want := map[Misbehaviour]string{Silent: "", Stall: "re:", Trickle: "re:abc", Hangup: "re:"}[how]
			got := make([]byte, 0, 16)
			c.SetReadDeadline(time.Now().Add(time.Second))
			var rerr error
			for rerr == nil {
				var b [16]byte
				var n int
				n, rerr = c.Read(b[:])
				got = append(got, b[:n]...)
			}
			timedOut := errors.Is(rerr, os.ErrDeadlineExceeded)
			if string(got) != want || timedOut != (how != Hangup) || !timedOut && rerr != io.EOF {
				t.Errorf("got %q then %v; want %q then %s", got, rerr, want, map[bool]string{true: "a timeout", false: "EOF"}[how != Hangup])
			}
		})
		t.Run(how.String()+"/udp", func(t *testing.T) {
			c, err := net.Dial("udp", Misbehave(t, "udp", how, s))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			c.Write([]byte("abcd"))
			c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
			var b [16]byte
			n, err := c.Read(b[:])
			switch how {
			case Silent:
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("silent: %q %v", b[:n], err)
				}
			case Stall, Trickle:
				if want := map[Misbehaviour]string{Stall: "re:", Trickle: "r"}[how]; err != nil || string(b[:n]) != want {
					t.Errorf("%s: %q %v; want %q", how, b[:n], err, want)
				}
			case Hangup:
				if !errors.Is(err, syscall.ECONNREFUSED) {
					t.Errorf("hangup: %q %v; want connection refused", b[:n], err)
				}
			}
		})
	}
}
