package server_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
)

// The TLS designs of issue 23 side by side, in process (ARCHITECTURE.md
// has the figures): "loops" is design (a), crypto/tls driven inside the
// session on the event loops; "goroutines" is design (b), a goroutine per
// connection running tls.Server over it. Each benchmark runs the same
// client against both. Handshake and request figures include the client's
// CPU (one process); the idle-connection figures do not: the clients run
// in a child process.

func benchEngines(b *testing.B, f func(b *testing.B, engine string)) {
	b.Run("loops", func(b *testing.B) { f(b, "loop") })
	b.Run("goroutines", func(b *testing.B) { f(b, "goroutine") })
}

// BenchmarkTLSHandshake: a new TLS connection per op (ECDSA P-256,
// Go's default groups: X25519MLKEM768), one echoed byte, closed; "full"
// and "resumed" (a TLS 1.3 ticket from the connection before).
func BenchmarkTLSHandshake(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		for _, resume := range []bool{false, true} {
			name := "full"
			if resume {
				name = "resumed"
			}
			b.Run(name, func(b *testing.B) {
				srvCfg, cli := tlsPair(b)
				srv := server.New(server.Config{Logger: quiet, Engine: engine, Loops: 1})
				svc := echo.Service()
				svc.TLS = srvCfg
				addr := serveStream(b, srv, svc)
				if resume {
					cli.ClientSessionCache = tls.NewLRUClientSessionCache(1)
				}
				one := make([]byte, 1)
				b.ReportAllocs()
				resumed := 0
				defer cpuPerOp(b)()
				for b.Loop() {
					c, err := tls.Dial("tcp", addr, cli)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := c.Write(one); err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(c, one); err != nil {
						b.Fatal(err)
					}
					if c.ConnectionState().DidResume {
						resumed++
					}
					c.Close()
				}
				if resume && resumed < b.N-1 {
					b.Fatalf("%d of %d resumed", resumed, b.N)
				}
			})
		}
	})
}

// BenchmarkTLSKeepAlive: GET / from the responder over 16 kept-alive TLS
// connections, one request per op.
func BenchmarkTLSKeepAlive(b *testing.B) {
	benchEngines(b, func(b *testing.B, engine string) {
		srvCfg, cli := tlsPair(b, "http/1.1")
		srv := server.New(server.Config{Logger: quiet, Engine: engine, Loops: 1})
		svc := httpraw.Service(&httpraw.Responder{})
		svc.TLS = srvCfg
		addr := serveStream(b, srv, svc)
		req := []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		b.ReportAllocs()
		b.SetParallelism(16 / runtime.GOMAXPROCS(0))
		defer cpuPerOp(b)()
		b.RunParallel(func(pb *testing.PB) {
			c, err := tls.Dial("tcp", addr, cli)
			if err != nil {
				b.Error(err)
				return
			}
			defer c.Close()
			br := bufio.NewReaderSize(c, 16<<10)
			for pb.Next() {
				if _, err := c.Write(req); err != nil {
					b.Error(err)
					return
				}
				if err := skipResponse(br); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// cpuPerOp reports the process's CPU time (user and system, client and
// server) per op when the returned func runs: a figure a loaded machine
// disturbs less than the wall time.
func cpuPerOp(b *testing.B) func() {
	cpu := func() time.Duration {
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	t0 := cpu()
	return func() { b.ReportMetric(float64(cpu()-t0)/float64(b.N), "cpu-ns/op") }
}

// skipResponse reads one response with a Content-Length body.
func skipResponse(br *bufio.Reader) error {
	length := -1
	for {
		line, err := br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(line) == 2 {
			break
		}
		if k, v, ok := bytes.Cut(line, []byte(":")); ok && string(k) == "Content-Length" {
			length, _ = strconv.Atoi(string(bytes.TrimSpace(v)))
		}
	}
	if length < 0 {
		return fmt.Errorf("no Content-Length")
	}
	_, err := br.Discard(length)
	return err
}

// BenchmarkTLSIdleConns holds 2,000 TLS connections open per op and
// reports what they cost the server: "idle" connections have done their
// handshake and one echo and wait; "stalled" ones sent a ClientHello and
// nothing after (the handshake is under way, waiting for the client's
// Finished: the worst a client that never finishes can hold). live-B/conn
// is the growth of the live heap plus goroutine stacks (after a
// collection), rss-B/conn of the resident set, goroutines/conn the
// goroutines per connection. The clients run in a child process.
func BenchmarkTLSIdleConns(b *testing.B) {
	for _, mode := range []string{"idle", "stalled"} {
		b.Run(mode, func(b *testing.B) {
			benchEngines(b, func(b *testing.B, engine string) { benchTLSIdle(b, engine, mode) })
		})
	}
}

func benchTLSIdle(b *testing.B, engine, mode string) {
	const n = 2000
	var live, rss, gs float64
	for b.Loop() {
		srvCfg, _ := tlsPair(b)
		srv := server.New(server.Config{Logger: quiet, Engine: engine, Loops: 1, MaxConns: 2 * n, MaxConnsPerSource: -1, HandshakeTimeout: time.Minute})
		svc := echo.Service()
		svc.TLS = srvCfg
		addr := serveStream(b, srv, svc)
		heap0, rss0 := memNowStacks(b)
		g0 := runtime.NumGoroutine()
		child := exec.Command(os.Args[0], "-test.run=^$")
		child.Env = append(os.Environ(), "SOCKIT_TLS_CLIENTS="+mode+","+addr+","+strconv.Itoa(n))
		in, _ := child.StdinPipe()
		out, _ := child.StdoutPipe()
		child.Stderr = os.Stderr
		if err := child.Start(); err != nil {
			b.Fatal(err)
		}
		line, err := bufio.NewReader(out).ReadString('\n')
		if err != nil || line != "ready\n" {
			b.Fatalf("client process: %q %v", line, err)
		}
		deadline := time.Now().Add(30 * time.Second)
		for srv.Active() < n {
			if time.Now().After(deadline) {
				b.Fatalf("%d of %d connections open after 30s", srv.Active(), n)
			}
			time.Sleep(10 * time.Millisecond)
		}
		time.Sleep(200 * time.Millisecond) // the last ClientHellos are read
		heap1, rss1 := memNowStacks(b)
		live += float64(heap1-heap0) / n
		rss += float64(rss1-rss0) / n
		gs += float64(runtime.NumGoroutine()-g0) / n
		in.Close()
		child.Wait()
		if err := srv.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(live/float64(b.N), "live-B/conn")
	b.ReportMetric(rss/float64(b.N), "rss-B/conn")
	b.ReportMetric(gs/float64(b.N), "goroutines/conn")
}

// memNowStacks is memNow with the goroutine stacks counted in the heap.
func memNowStacks(b *testing.B) (heap, rss int64) {
	heap, rss = memNow(b)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return heap + int64(ms.StackInuse), rss
}

// In the child process of BenchmarkTLSIdleConns: open the connections,
// say "ready", hold them until stdin closes.
func init() {
	spec := os.Getenv("SOCKIT_TLS_CLIENTS")
	if spec == "" {
		return
	}
	f := strings.Split(spec, ",")
	n, _ := strconv.Atoi(f[2])
	if err := tlsClients(f[0], f[1], n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

func tlsClients(mode, addr string, n int) error {
	cfg := &tls.Config{InsecureSkipVerify: true}
	var hello []byte
	if mode == "stalled" {
		// A real ClientHello, recorded once and sent on every connection.
		a, b := net.Pipe()
		go tls.Client(a, cfg).Handshake()
		buf := make([]byte, 16<<10)
		b.SetReadDeadline(time.Now().Add(5 * time.Second))
		k, err := b.Read(buf)
		if err != nil {
			return err
		}
		hello = buf[:k]
		a.Close()
		b.Close()
	}
	conns := make([]net.Conn, 0, n)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		if i%64 == 0 {
			wg.Wait() // a few at a time: the server's accept queue is finite
		}
		wg.Go(func() {
			var c net.Conn
			var err error
			if mode == "stalled" {
				if c, err = net.Dial("tcp", addr); err == nil {
					_, err = c.Write(hello)
				}
			} else {
				var tc *tls.Conn
				if tc, err = tls.Dial("tcp", addr, cfg); err == nil {
					c = tc
					if _, err = c.Write([]byte("x")); err == nil {
						_, err = io.ReadFull(c, make([]byte, 1))
					}
				}
			}
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Println("ready")
	io.Copy(io.Discard, os.Stdin)
	for _, c := range conns {
		c.Close()
	}
	return nil
}
