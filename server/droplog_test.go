package server_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/chargen"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/qotd"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/server/promrecorder"
	"github.com/sockit/sockit/sockittest"
)

// logBuffer is a JSON slog destination tests read while the server writes.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

type dropLine struct {
	Time    time.Time
	Level   string
	Msg     string
	Service string
	Network string
	Reason  string
	Count   int
	Source  string
}

// lines returns the drop lines logged so far for reason.
func (l *logBuffer) lines(t *testing.T, reason string) []dropLine {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []dropLine
	for _, s := range strings.Split(strings.TrimSpace(l.b.String()), "\n") {
		if s == "" {
			continue
		}
		var d dropLine
		if err := json.Unmarshal([]byte(s), &d); err != nil {
			t.Fatalf("log line %q: %v", s, err)
		}
		if d.Reason == reason {
			out = append(out, d)
		}
	}
	return out
}

func sum(ls []dropLine) int {
	n := 0
	for _, l := range ls {
		n += l.Count
	}
	return n
}

func newLogged(cfg server.Config) (*server.Server, *logBuffer) {
	lb := &logBuffer{}
	cfg.Logger = slog.New(slog.NewJSONHandler(lb, nil))
	return server.New(cfg), lb
}

// TestDropLinesRefused: refused connections are logged at once, then held
// for the interval; what is held comes out when the server closes, so the
// lines' counts add up to every refusal, the last line naming the last
// peer refused.
func TestDropLinesRefused(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv, lb := newLogged(server.Config{Engine: engine, MaxConns: 1, DropLogEvery: time.Hour})
		addr := serveStream(t, srv, echo.Service())
		dial(t, "tcp", addr)
		sockittest.Eventually(t, 5*time.Second, "1 accepted", func() bool { return srv.Active() == 1 })
		var last string
		for range 5 {
			c := dial(t, "tcp", addr)
			last = c.LocalAddr().String()
			c.SetReadDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, errTimeout(err)) {
				t.Fatalf("a connection past max-conns was not closed: %v", err)
			}
		}
		sockittest.Eventually(t, 5*time.Second, "the first refusal logged at once", func() bool {
			return len(lb.lines(t, server.DropMaxConns)) == 1
		})
		srv.Close()
		ls := lb.lines(t, server.DropMaxConns)
		if len(ls) > 2 || sum(ls) != 5 || ls[len(ls)-1].Source != last {
			t.Fatalf("lines %+v: want at most 2, counting 5, the last from %s", ls, last)
		}
		for _, l := range ls {
			if l.Level != "WARN" || l.Msg != "connections refused" || l.Service != "echo" || l.Network != "tcp" {
				t.Errorf("line %+v", l)
			}
		}
	})
}

// TestDropLinesIdle: a connection closed by the idle timeout is logged with
// its peer's address.
func TestDropLinesIdle(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv, lb := newLogged(server.Config{Engine: engine, IdleTimeout: 100 * time.Millisecond})
		addr := serveStream(t, srv, echo.Service())
		c := dial(t, "tcp", addr)
		c.SetReadDeadline(time.Now().Add(10 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("idle connection: %v", err)
		}
		sockittest.Eventually(t, 5*time.Second, "the idle close logged", func() bool {
			ls := lb.lines(t, server.CloseIdle)
			return len(ls) == 1 && ls[0].Count == 1 && ls[0].Source == "127.0.0.1" && ls[0].Msg == "connections closed" && ls[0].Level == "INFO"
		})
	})
}

// TestDropLinesRateLimited: a UDP flood that the budget drops gives one
// line per interval at most, and the lines count exactly the drops the
// Recorder counted.
func TestDropLinesRateLimited(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		const every = 100 * time.Millisecond
		m := promrecorder.New()
		srv, lb := newLogged(server.Config{Engine: engine, Recorder: m, DropLogEvery: every,
			UDP: server.UDPGuard{BurstBytes: 1, RateBytes: -1}})
		pc := servePacket(t, srv, qotd.Service(nil))
		c := dial(t, "udp", pc.LocalAddr().String())
		sent := 0
		sockittest.Eventually(t, 20*time.Second, "3 lines", func() bool {
			for range 100 {
				c.Write([]byte("?"))
				sent++
			}
			return len(lb.lines(t, server.DropBudget)) >= 3 || sent >= 200000
		})
		// Every datagram the kernel kept has been read: the count stops
		// growing (on a loaded machine the socket buffer may overflow, and
		// what it dropped the server never saw, so never counted).
		in := -1.0
		sockittest.Eventually(t, 10*time.Second, "the datagrams received counted", func() bool {
			n := metric(t, m, "sockit_datagrams_total", map[string]string{"direction": "in"})
			if n == float64(sent) || n == in {
				return true
			}
			in = n
			time.Sleep(200 * time.Millisecond)
			return false
		})
		srv.Close()
		drops := int(metric(t, m, "sockit_drops_total", map[string]string{"reason": server.DropBudget}))
		ls := lb.lines(t, server.DropBudget)
		if got := sum(ls); got != drops || drops == 0 {
			t.Errorf("lines count %d drops, the server dropped %d of %d", got, drops, sent)
		}
		for i := 1; i < len(ls); i++ {
			if gap := ls[i].Time.Sub(ls[i-1].Time); gap < every && i < len(ls)-1 {
				t.Errorf("lines %d and %d %v apart, under %v", i-1, i, gap, every)
			}
		}
		if ls[len(ls)-1].Source != c.LocalAddr().String() || ls[0].Msg != "replies dropped" {
			t.Errorf("lines %+v: want the source %s", ls, c.LocalAddr())
		}
	})
}

// TestDropLinesWriteTimeout: a chargen client that never reads is closed
// at the write timeout, and the close is logged.
func TestDropLinesWriteTimeout(t *testing.T) {
	eachEngine(t, func(t *testing.T, engine string) {
		srv, lb := newLogged(server.Config{Engine: engine, WriteTimeout: 200 * time.Millisecond})
		addr := serveStream(t, srv, chargen.Service())
		c := dial(t, "tcp", addr)
		c.(*net.TCPConn).SetReadBuffer(4096)
		sockittest.Eventually(t, 10*time.Second, "the write timeout logged", func() bool {
			ls := lb.lines(t, server.CloseWriteTimeout)
			return len(ls) == 1 && ls[0].Count == 1 && ls[0].Source == "127.0.0.1" && ls[0].Msg == "connections closed"
		})
	})
}
