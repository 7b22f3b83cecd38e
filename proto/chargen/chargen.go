package chargen

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/server"
)

// Port is the well-known port (RFC 864).
const Port = 19

// LineLen is the number of pattern characters per line; each line then
// ends in CRLF, so a line is LineLen+2 bytes.
const LineLen = 72

// MaxDatagram is the largest UDP reply, in characters.
const MaxDatagram = 512

const (
	ringLen   = 95 // ' ' through '~'
	lineBytes = LineLen + 2
	cycle     = ringLen * lineBytes // the pattern repeats after 95 lines
)

// pattern holds one full cycle of the stream plus one line, so any window
// of up to a line can be sliced without wrapping.
var pattern = func() []byte {
	p := make([]byte, 0, cycle+lineBytes)
	for line := 0; line < ringLen+1; line++ {
		for col := 0; col < LineLen; col++ {
			p = append(p, byte(' '+(line+col)%ringLen))
		}
		p = append(p, '\r', '\n')
	}
	return p
}()

// At returns the pattern byte at stream offset off.
func At(off int64) byte { return pattern[off%cycle] }

// Append appends n bytes of the pattern, starting at stream offset off.
func Append(dst []byte, off int64, n int) []byte {
	for n > 0 {
		start := int(off % cycle)
		k := min(n, cycle-start)
		dst = append(dst, pattern[start:start+k]...)
		n -= k
		off += int64(k)
	}
	return dst
}

// Checker verifies the structure of a received chargen stream. RFC 864
// only recommends its pattern, and servers differ: sockit rotates through
// the 95 printing characters from space, xinetd through the 93 from '!' to
// '}' and restarts every 95 lines, and ends UDP replies with a short line.
// So a Checker asks what they all share: lines of at most 72 printing
// characters ending in CRLF, each character the successor of the one before
// in one ring — a run of consecutive codes that wraps at the same point
// throughout the stream. Use Verify for sockit's exact pattern.
type Checker struct {
	off      int64
	col      int  // characters so far in this line
	cr       bool // a CR was seen, LF must follow
	prev     byte
	wrapFrom byte // the ring's last character, once seen wrapping
	wrapTo   byte // and its first
}

// Write checks p as the next bytes of the stream. It always takes all of
// p, and returns a *PatternError for the first byte that breaks the rules.
func (c *Checker) Write(p []byte) (int, error) {
	for _, b := range p {
		if err := c.byte(b); err != nil {
			return len(p), err
		}
		c.off++
	}
	return len(p), nil
}

func (c *Checker) fail(b byte, want string) error {
	return &PatternError{Offset: c.off, Got: b, Want: want}
}

func (c *Checker) byte(b byte) error {
	switch {
	case c.cr:
		if b != '\n' {
			return c.fail(b, "LF after CR")
		}
		c.cr, c.col = false, 0
		return nil
	case b == '\r' && c.col > 0:
		c.cr = true
		return nil
	case c.col == LineLen:
		return c.fail(b, "CR after 72 characters")
	case b < ' ' || b > '~':
		return c.fail(b, "a printing character")
	}
	if c.col > 0 && b != c.prev+1 {
		switch {
		case c.wrapFrom == 0 && b < c.prev:
			c.wrapFrom, c.wrapTo = c.prev, b
		case c.prev != c.wrapFrom || b != c.wrapTo:
			return c.fail(b, fmt.Sprintf("the character after %q", c.prev))
		}
	}
	if c.wrapFrom != 0 && (b > c.wrapFrom || b < c.wrapTo) {
		return c.fail(b, fmt.Sprintf("a character in the ring %q..%q", c.wrapTo, c.wrapFrom))
	}
	c.prev = b
	c.col++
	return nil
}

// Verify checks that p is sockit's exact pattern at stream offset off; it
// returns the offset of the first wrong byte, or -1.
func Verify(p []byte, off int64) int64 {
	for i, b := range p {
		if b != At(off+int64(i)) {
			return off + int64(i)
		}
	}
	return -1
}

// Handler serves chargen over streams and datagrams.
type Handler struct{}

// Open implements server.StreamHandler.
func (Handler) Open(netip.AddrPort) server.Session { return &session{} }

type session struct{ off int64 }

func (*session) Greet(buf []byte) ([]byte, bool)    { return nil, false }
func (*session) Receive(_, _ []byte) ([]byte, bool) { return nil, false }

// Stream implements server.Streamer: the next buffer-full of the pattern.
func (s *session) Stream(buf []byte) []byte {
	out := Append(buf, s.off, cap(buf)-len(buf))
	s.off += int64(len(out) - len(buf))
	return out
}

// Reply implements server.PacketHandler: 0 to 512 pattern characters.
func (Handler) Reply(_, buf []byte) []byte {
	return Append(buf, 0, rand.IntN(MaxDatagram+1))
}

// Service returns chargen as a server.Service.
func Service() server.Service {
	return server.Service{Name: "chargen", Stream: Handler{}, Packet: Handler{}}
}

// PatternError reports the first byte that broke the pattern.
type PatternError struct {
	Offset int64
	Got    byte
	Want   string
}

func (e *PatternError) Error() string {
	return fmt.Sprintf("chargen: byte %d is %q, expected %s", e.Offset, e.Got, e.Want)
}

// Receive reads up to n bytes (n <= 0: until the server closes) from the
// chargen service at e, checking every byte with a Checker, and returns how
// many it read. Over datagrams it sends one empty request and checks the one
// reply; a reply longer than RFC 864's 512 characters (xinetd sends 1024) is
// returned without error, for the caller to note.
func Receive(ctx context.Context, d *sockit.Dialer, e sockit.Endpoint, n int64, q *sockit.Query) (int64, error) {
	c, err := d.Dial(ctx, e)
	if err != nil {
		return 0, err
	}
	defer c.Close()
	if e.IsPacket() {
		got, _, err := q.Exchange(ctx, c, nil, make([]byte, server.MaxDatagram))
		if err != nil {
			return 0, err
		}
		var ck Checker
		_, err = ck.Write(got)
		return int64(len(got)), err
	}
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	var r io.Reader = c
	if n > 0 {
		r = io.LimitReader(c, n)
	}
	var (
		off int64
		ck  Checker
	)
	buf := make([]byte, 64<<10)
	for {
		k, rerr := r.Read(buf)
		if _, err := ck.Write(buf[:k]); err != nil {
			return off + int64(k), err
		}
		off += int64(k)
		if rerr == io.EOF {
			if n > 0 && off < n {
				return off, fmt.Errorf("chargen: server closed after %d of %d bytes", off, n)
			}
			return off, nil
		}
		if rerr != nil {
			if ctx.Err() != nil {
				return off, ctx.Err()
			}
			return off, rerr
		}
	}
}
