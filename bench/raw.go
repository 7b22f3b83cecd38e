package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto"
)

// rawTarget loads a registered protocol's endpoint (package proto).
type rawTarget struct {
	cfg   *Config
	e     sockit.Endpoint
	d     sockit.Dialer
	bench proto.Bench
	local net.IP // -B, or nil
}

// dial connects to the target, from -B's address if one is given.
func (r *rawTarget) dial(ctx context.Context) (net.Conn, error) {
	if r.local == nil {
		return r.d.Dial(ctx, r.e)
	}
	var la net.Addr = &net.TCPAddr{IP: r.local}
	if r.e.IsPacket() {
		la = &net.UDPAddr{IP: r.local}
	}
	d := net.Dialer{LocalAddr: la}
	return d.DialContext(ctx, r.e.Network, r.e.Address)
}

func newRawTarget(cfg *Config, e sockit.Endpoint) (*rawTarget, error) {
	p, ok := proto.Lookup(cfg.Proto)
	if !ok || p.Bench == nil {
		// Validate names the protocols a program registered.
		return nil, bad("Proto", "%q: no such protocol is registered (a program imports proto/all)", cfg.Proto)
	}
	t := &rawTarget{cfg: cfg, e: e, bench: *p.Bench}
	if cfg.LocalAddr != "" {
		t.local = net.ParseIP(strings.Trim(cfg.LocalAddr, "[]"))
	}
	return t, nil
}

type rawWorker struct {
	t       *rawTarget
	conn    net.Conn
	payload []byte
	buf     []byte
	unwatch func() bool // stops cancelOnDone for conn
}

func (r *rawTarget) worker(id int) worker {
	return &rawWorker{t: r, payload: payload(r.cfg.Seed, id, r.cfg.Size), buf: make([]byte, max(r.cfg.Size, 65536))}
}

func (w *rawWorker) close() {
	if w.conn != nil {
		w.unwatch()
		w.conn.Close()
		w.conn = nil
	}
}

func (w *rawWorker) do(ctx context.Context, s *sample) string {
	cfg := w.t.cfg
	packet := w.t.e.IsPacket()
	// A BenchOneShot server closes after each reply (daytime, qotd, time).
	reuse := packet || cfg.KeepAlive && w.t.bench.Mode != proto.BenchOneShot
	if w.conn == nil {
		t0 := time.Now()
		dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		c, err := w.t.dial(dctx)
		cancel()
		s.connect = time.Since(t0)
		if err != nil {
			return s.fail(err, FailConnect)
		}
		w.conn, w.unwatch = c, cancelOnDone(ctx, c)
	} else if !packet {
		s.keptAlive = true // datagrams have no connection to keep alive
	}
	c := w.conn
	if !reuse {
		defer w.close()
	}
	setDeadline(ctx, c, time.Now().Add(cfg.Timeout))
	t1 := time.Now()
	kind := w.exchange(c, s, packet, t1)
	if kind != "" {
		w.close()
	}
	return kind
}

func (w *rawWorker) exchange(c net.Conn, s *sample, packet bool, t1 time.Time) string {
	cfg := w.t.cfg
	switch w.t.bench.Mode {
	case proto.BenchEcho:
		n, err := c.Write(w.payload)
		s.sent = int64(n)
		if err != nil {
			return s.fail(err, FailWrite)
		}
		if packet {
			n, err := c.Read(w.buf)
			s.wait = time.Since(t1)
			s.received, s.body = int64(n), int64(n)
			if err != nil {
				return s.fail(err, FailRead)
			}
			return w.check(s, w.buf[:n])
		}
		got := w.buf[:len(w.payload)]
		n, err = io.ReadFull(c, got)
		s.wait = time.Since(t1)
		s.received, s.body = int64(n), int64(n)
		if err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				s.err = io.ErrUnexpectedEOF // an echo cut short
				return FailLength
			}
			return s.fail(err, FailRead)
		}
		if kind := w.check(s, got); kind != "" {
			return kind
		}
		if !cfg.KeepAlive {
			return w.finish(c, s)
		}
		return ""
	case proto.BenchSink:
		n, err := c.Write(w.payload)
		s.sent = int64(n)
		s.wait = time.Since(t1)
		if err != nil {
			return s.fail(err, FailWrite)
		}
		if !cfg.KeepAlive {
			return w.finish(c, s)
		}
		return ""
	case proto.BenchSource:
		if packet {
			n, kind := w.query(c, s, t1)
			if kind != "" {
				return kind
			}
			return w.check(s, w.buf[:n])
		}
		got := w.buf[:cfg.Size]
		n, err := io.ReadFull(c, got)
		s.wait = time.Since(t1)
		s.received, s.body = int64(n), int64(n)
		if err != nil {
			return s.fail(err, FailRead)
		}
		// A source cannot be resumed mid-stream by another request's
		// check (chargen's pattern), so each request uses its own
		// connection.
		w.close()
		return w.check(s, got)
	}
	// BenchOneShot: one reply, then the server closes (TCP).
	if packet {
		n, kind := w.query(c, s, t1)
		if kind != "" {
			return kind
		}
		return w.check(s, w.buf[:n])
	}
	var total int
	for {
		n, err := c.Read(w.buf[total:])
		if total == 0 && n > 0 {
			s.wait = time.Since(t1)
		}
		total += n
		if err == io.EOF {
			break
		}
		if err != nil {
			return s.fail(err, FailRead)
		}
		if total == len(w.buf) {
			s.err = fmt.Errorf("the reply is longer than %d bytes", len(w.buf))
			return FailLength
		}
	}
	s.received, s.body = int64(total), int64(total)
	return w.check(s, w.buf[:total])
}

// query sends an empty datagram and reads the reply into w.buf.
func (w *rawWorker) query(c net.Conn, s *sample, t1 time.Time) (int, string) {
	c.Write(nil)
	n, err := c.Read(w.buf)
	s.wait = time.Since(t1)
	s.received, s.body = int64(n), int64(n)
	if err != nil {
		return n, s.fail(err, FailRead)
	}
	return n, ""
}

// finish half-closes and waits for the server's close, so a request
// without keep-alive is counted only once the server is done with it.
func (w *rawWorker) finish(c net.Conn, s *sample) string {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return s.fail(err, FailRead)
	}
	return ""
}

// echoDiffers says where an echo (at offset off of the reply) first
// differs from what was sent.
func echoDiffers(off int64, got, sent []byte) error {
	i := 0
	for i < len(got) && i < len(sent) && got[i] == sent[i] {
		i++
	}
	if i == len(got) || i == len(sent) {
		return fmt.Errorf("the echo is %d bytes, %d were sent", off+int64(len(got)), off+int64(len(sent)))
	}
	return fmt.Errorf("the echo differs from what was sent at byte %d (0x%02x, sent 0x%02x)", off+int64(i), got[i], sent[i])
}

// check runs the protocol's verifier on a reply to w.payload, noting why
// it failed in s.
func (w *rawWorker) check(s *sample, reply []byte) string {
	if w.t.bench.Check == nil {
		return ""
	}
	if err := w.t.bench.Check(w.payload, reply); err != nil {
		if errors.Is(err, proto.ErrLength) {
			s.err = err
			return FailLength
		}
		s.err = err
		if w.t.bench.Mode == proto.BenchEcho {
			s.err = echoDiffers(0, reply, w.payload)
		}
		return FailVerify
	}
	return ""
}
