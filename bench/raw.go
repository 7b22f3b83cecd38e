package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/chargen"
)

// rawTarget loads a small-service endpoint.
type rawTarget struct {
	cfg     *Config
	e       sockit.Endpoint
	d       sockit.Dialer
	oneShot bool // the server closes after each reply (daytime, qotd, time)
}

func newRawTarget(cfg *Config, e sockit.Endpoint) (*rawTarget, error) {
	switch cfg.Proto {
	case "echo", "discard", "chargen":
	case "daytime", "qotd", "time":
	default:
		return nil, fmt.Errorf("--proto %q: want echo, discard, chargen, daytime, qotd or time", cfg.Proto)
	}
	if cfg.Proto == "discard" && e.IsPacket() {
		return nil, fmt.Errorf("--proto discard over %s: the server never replies, so nothing can be timed", e.Network)
	}
	r := &rawTarget{cfg: cfg, e: e, oneShot: cfg.Proto == "daytime" || cfg.Proto == "qotd" || cfg.Proto == "time"}
	return r, nil
}

type rawWorker struct {
	t       *rawTarget
	conn    net.Conn
	payload []byte
	buf     []byte
}

func (r *rawTarget) worker(id int) worker {
	return &rawWorker{t: r, payload: payload(r.cfg.Seed, id, r.cfg.Size), buf: make([]byte, max(r.cfg.Size, 65536))}
}

func (w *rawWorker) close() {
	if w.conn != nil {
		w.conn.Close()
		w.conn = nil
	}
}

func (w *rawWorker) do(ctx context.Context, s *sample) string {
	cfg := w.t.cfg
	packet := w.t.e.IsPacket()
	reuse := packet || cfg.KeepAlive && !w.t.oneShot
	if w.conn == nil {
		t0 := time.Now()
		dctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		c, err := w.t.d.Dial(dctx, w.t.e)
		cancel()
		s.connect = time.Since(t0)
		if err != nil {
			return classify(err, FailConnect)
		}
		w.conn = c
	} else {
		s.keptAlive = true
	}
	c := w.conn
	if !reuse {
		defer w.close()
	}
	c.SetDeadline(time.Now().Add(cfg.Timeout))
	t1 := time.Now()
	kind := w.exchange(c, s, packet, t1)
	if kind != "" {
		w.close()
	}
	return kind
}

func (w *rawWorker) exchange(c net.Conn, s *sample, packet bool, t1 time.Time) string {
	cfg := w.t.cfg
	switch cfg.Proto {
	case "echo":
		n, err := c.Write(w.payload)
		s.sent = int64(n)
		if err != nil {
			return classify(err, FailWrite)
		}
		if packet {
			n, err := c.Read(w.buf)
			s.wait = time.Since(t1)
			s.received, s.body = int64(n), int64(n)
			if err != nil {
				return classify(err, FailRead)
			}
			if !bytes.Equal(w.buf[:n], w.payload) {
				return FailVerify
			}
			return ""
		}
		got := w.buf[:len(w.payload)]
		n, err = io.ReadFull(c, got)
		s.wait = time.Since(t1)
		s.received, s.body = int64(n), int64(n)
		if err != nil {
			if err == io.ErrUnexpectedEOF || err == io.EOF {
				return FailLength
			}
			return classify(err, FailRead)
		}
		if !bytes.Equal(got, w.payload) {
			return FailVerify
		}
		if !cfg.KeepAlive {
			return w.finish(c)
		}
		return ""
	case "discard":
		n, err := c.Write(w.payload)
		s.sent = int64(n)
		s.wait = time.Since(t1)
		if err != nil {
			return classify(err, FailWrite)
		}
		if !cfg.KeepAlive {
			return w.finish(c)
		}
		return ""
	case "chargen":
		if packet {
			n, kind := w.query(c, s, t1)
			if kind != "" {
				return kind
			}
			var ck chargen.Checker
			if _, err := ck.Write(w.buf[:n]); err != nil {
				return FailVerify
			}
			return ""
		}
		got := w.buf[:cfg.Size]
		n, err := io.ReadFull(c, got)
		s.wait = time.Since(t1)
		s.received, s.body = int64(n), int64(n)
		if err != nil {
			return classify(err, FailRead)
		}
		var ck chargen.Checker
		if _, err := ck.Write(got); err != nil {
			return FailVerify
		}
		// A chargen connection cannot be resumed mid-pattern by another
		// request's checker, so each request uses its own connection.
		w.close()
		return ""
	}
	// daytime, qotd, time: one reply, then the server closes (TCP).
	if packet {
		n, kind := w.query(c, s, t1)
		if kind != "" {
			return kind
		}
		return w.checkReply(w.buf[:n])
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
			return classify(err, FailRead)
		}
		if total == len(w.buf) {
			return FailLength
		}
	}
	s.received, s.body = int64(total), int64(total)
	return w.checkReply(w.buf[:total])
}

// query sends an empty datagram and reads the reply into w.buf.
func (w *rawWorker) query(c net.Conn, s *sample, t1 time.Time) (int, string) {
	c.Write(nil)
	n, err := c.Read(w.buf)
	s.wait = time.Since(t1)
	s.received, s.body = int64(n), int64(n)
	if err != nil {
		return n, classify(err, FailRead)
	}
	return n, ""
}

// finish half-closes and waits for the server's close, so a request
// without keep-alive is counted only once the server is done with it.
func (w *rawWorker) finish(c net.Conn) string {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	if _, err := io.Copy(io.Discard, c); err != nil {
		return classify(err, FailRead)
	}
	return ""
}

func (w *rawWorker) checkReply(b []byte) string {
	switch w.t.cfg.Proto {
	case "time":
		if len(b) != 4 {
			return FailLength
		}
	case "qotd":
		if len(b) == 0 || len(b) >= 512 {
			return FailLength
		}
	case "daytime":
		if len(b) == 0 {
			return FailLength
		}
	}
	return ""
}
