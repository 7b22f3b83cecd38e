package bench_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/bench/report"
	_ "github.com/sockit/sockit/proto/all" // the protocols the tests load
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func serve(t *testing.T, svc server.Service, network string) string {
	t.Helper()
	srv := server.New(server.Config{Logger: quiet, UDP: server.UDPGuard{Off: true}, MaxConnsPerSource: -1})
	return sockittest.Serve(t, srv, network, svc).String()
}

func run(t *testing.T, cfg bench.Config) *bench.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := bench.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestExactCount: -c above -n, and -n not divisible by -c, still complete
// exactly -n requests, over HTTP with and without keep-alive and raw echo.
func TestExactCount(t *testing.T) {
	httpAddr := serve(t, httpraw.Service(&httpraw.Responder{}), "tcp")
	echoAddr := serve(t, echo.Service(), "tcp")
	udpAddr := serve(t, echo.Service(), "udp")
	for _, tc := range []struct {
		target string
		n      int64
		c      int
		keep   bool
	}{
		{"http://" + httpAddr + "/", 7, 50, false},
		{"http://" + httpAddr + "/", 1001, 50, true},
		{"http://" + httpAddr + "/", 999, 7, false},
		{"tcp://" + echoAddr, 1001, 13, true},
		{"tcp://" + echoAddr, 10, 3, false},
		{"udp://" + udpAddr, 503, 5, false},
	} {
		cfg := bench.Config{Target: tc.target, Requests: tc.n, Concurrency: tc.c, KeepAlive: tc.keep}
		if !strings.HasPrefix(tc.target, "http") {
			cfg.Size = 100
		}
		r := run(t, cfg)
		if r.Requests != tc.n || r.Failed() != 0 || r.Latency.TotalCount() != tc.n {
			t.Errorf("%s -n %d -c %d: %d requests, %d failed (%v), %d in histogram", tc.target, tc.n, tc.c,
				r.Requests, r.Failed(), r.Failures, r.Latency.TotalCount())
		}
		if strings.HasPrefix(tc.target, "http") && r.DocLength != int64(len(httpraw.Page())) {
			t.Errorf("document length %d", r.DocLength)
		}
	}
}

// liar echoes every byte but flips one bit of each reply.
type liar struct{}

func (liar) Open(netip.AddrPort) server.Session { return liar{} }
func (liar) Greet([]byte) ([]byte, bool)        { return nil, false }
func (liar) Receive(in, buf []byte) ([]byte, bool) {
	out := append(buf, in...)
	out[0] ^= 1
	return out, false
}

// status answers every request with 503.
type status struct{}

func (status) Open(netip.AddrPort) server.Session { return status{} }
func (status) Greet([]byte) ([]byte, bool)        { return nil, false }
func (status) Receive(in, buf []byte) ([]byte, bool) {
	return append(buf, "HTTP/1.1 503 Busy\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"...), true
}

func TestFailureKinds(t *testing.T) {
	// verify: wrong echo bytes.
	r := run(t, bench.Config{Target: "tcp://" + serve(t, server.Service{Name: "liar", Stream: liar{}}, "tcp"), Requests: 20, Concurrency: 2, KeepAlive: true})
	if r.Failures[bench.FailVerify] != 20 {
		t.Errorf("verify failures %v", r.Failures)
	}
	// non-2xx: complete responses, so successes counted as Non-2xx (ab's
	// accounting), with the first body's length as the document's.
	r = run(t, bench.Config{Target: "http://" + serve(t, server.Service{Name: "503", Stream: status{}}, "tcp") + "/", Requests: 20, Concurrency: 2})
	if r.Failed() != 0 || r.Non2xx != 20 || r.DocLength != 0 {
		t.Errorf("status failures %v non2xx %d", r.Failures, r.Non2xx)
	}
	// connect: nothing listening.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	r = run(t, bench.Config{Target: "http://" + dead + "/", Requests: 10, Concurrency: 3})
	if r.Failures[bench.FailConnect] != 10 || r.Requests != 10 {
		t.Errorf("connect failures %v", r.Failures)
	}
	// timeout: a UDP port that never answers.
	pc, _ := net.ListenPacket("udp", "127.0.0.1:0")
	defer pc.Close()
	r = run(t, bench.Config{Target: "udp://" + pc.LocalAddr().String(), Requests: 4, Concurrency: 2, Timeout: 100 * time.Millisecond})
	if r.Failures[bench.FailTimeout] != 4 {
		t.Errorf("timeout failures %v", r.Failures)
	}
	// read: the server closes mid-run (accepts, then drops every connection).
	ln, _ = net.Listen("tcp", "127.0.0.1:0")
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Read(make([]byte, 100))
			c.Close()
		}
	}()
	r = run(t, bench.Config{Target: "tcp://" + ln.Addr().String(), Requests: 10, Concurrency: 2, KeepAlive: true})
	ln.Close()
	wg.Wait()
	if r.Requests != 10 || r.Failures[bench.FailLength]+r.Failures[bench.FailRead]+r.Failures[bench.FailWrite] != 10 {
		t.Errorf("closed connections: %d requests, failures %v", r.Requests, r.Failures)
	}
}

// stall echoes, but holds every reply for 50 ms during the first 100 ms.
type stall struct{ start time.Time }

func (s *stall) Open(netip.AddrPort) server.Session { return s }
func (s *stall) Greet([]byte) ([]byte, bool)        { return nil, false }
func (s *stall) Receive(in, buf []byte) ([]byte, bool) {
	if time.Since(s.start) < 100*time.Millisecond {
		time.Sleep(50 * time.Millisecond) // the injected server stall under test
	}
	return in, false
}

// TestOpenModelSeesStall: at a fixed rate, requests queued behind a stalled
// server are measured from their scheduled time, so the tail shows the
// stall; the closed model's latency would not.
func TestOpenModelSeesStall(t *testing.T) {
	for _, engine := range []string{bench.EngineGoroutine, bench.EngineLoop} {
		t.Run(engine, func(t *testing.T) { openModelSeesStall(t, engine) })
	}
}

func openModelSeesStall(t *testing.T, engine string) {
	addr := serve(t, server.Service{Name: "stall", Stream: &stall{start: time.Now()}}, "tcp")
	r := run(t, bench.Config{Target: "tcp://" + addr, Requests: 400, Concurrency: 1, KeepAlive: true, Rate: 1000, Engine: engine})
	if r.Failed() != 0 || r.Requests != 400 || r.Engine != engine {
		t.Fatalf("%s: %d requests, failures %v", r.Engine, r.Requests, r.Failures)
	}
	// The schedule holds: 400 requests at 1000/s cannot end before 399 ms.
	if r.Duration < 399*time.Millisecond {
		t.Errorf("400 requests at --rate 1000 took only %v", r.Duration)
	}
	p99 := r.Latency.ValueAtQuantile(99)
	if p99 < 40000 {
		t.Errorf("open model p99 = %d µs; a 50 ms stall should show", p99)
	}
	// Most requests were queued behind the stall, not just the ones served
	// during it.
	if p50 := r.Latency.ValueAtQuantile(10); p50 < 1000 && r.Latency.ValueAtQuantile(20) < 1000 {
		t.Logf("p10 %d µs, p20 %d µs", p50, r.Latency.ValueAtQuantile(20))
	}
}

// dying echoes, and closes the whole server after its 2000th message.
type dying struct {
	n    *int64
	mu   *sync.Mutex
	kill func()
}

func (d dying) Open(netip.AddrPort) server.Session { return d }
func (d dying) Greet([]byte) ([]byte, bool)        { return nil, false }
func (d dying) Receive(in, buf []byte) ([]byte, bool) {
	d.mu.Lock()
	*d.n++
	if *d.n == 2000 {
		go d.kill()
	}
	d.mu.Unlock()
	return in, false
}

// TestServerKilledMidRun: the server goes away in the middle of a run; the
// run still ends with exactly -n requests, the rest classified failures.
func TestServerKilledMidRun(t *testing.T) {
	srv := server.New(server.Config{Logger: quiet})
	var n int64
	d := dying{n: &n, mu: &sync.Mutex{}, kill: func() { srv.Close() }}
	addr := sockittest.Serve(t, srv, "tcp", server.Service{Name: "dying", Stream: d})
	r := run(t, bench.Config{Target: "tcp://" + addr.String(), Requests: 20000, Concurrency: 4, KeepAlive: true})
	var out bytes.Buffer
	report.WriteText(&out, r, report.TextOptions{})
	report.WriteExtras(&out, r)
	if r.Requests != 20000 || r.Failed() == 0 || r.Failed() > 20000-1990 {
		t.Errorf("after the server died: %d requests, failures %v", r.Requests, r.Failures)
	}
	if !strings.Contains(out.String(), "Complete requests:      20000") || !strings.Contains(out.String(), "   (Connect: ") ||
		!strings.Contains(out.String(), "sockit: failures by kind: ") {
		t.Errorf("report:\n%s", out.String())
	}
	t.Logf("server killed after 2000 echoes: failures %v", r.Failures)
}
