package bench_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sockit/sockit/bench"
)

// BenchmarkHTTPS compares the two engines' designs for https against
// nginx (one worker, in its own process, so the client's CPU is measured
// apart): keep-alive (the loop carries the records over its own
// buffers; the goroutine engine reads tls.Conn on the netpoller) and a new
// connection per request, resumed (the loop hands each connect and
// handshake to a goroutine, then takes the socket; the goroutine engine
// does all on its goroutine). client-ns/req is the client's CPU per
// request, the figure the loop engine is for.
func BenchmarkHTTPS(b *testing.B) {
	addr, pool := nginxTLS(b, "")
	url := "https://localhost" + addr[strings.LastIndex(addr, ":"):] + "/"
	for _, keep := range []bool{true, false} {
		name := "keepalive"
		if !keep {
			name = "resumed"
		}
		for _, engine := range []string{bench.EngineLoop, bench.EngineGoroutine} {
			b.Run(name+"/"+engine, func(b *testing.B) {
				r, err := bench.Run(context.Background(), bench.Config{Target: url, Requests: int64(b.N),
					Concurrency: 8, KeepAlive: keep, RootCAs: pool, Engine: engine, Threads: 1})
				if err != nil {
					b.Fatal(err)
				}
				if r.Failed() != 0 {
					b.Fatalf("failures %v: %s", r.Failures, r.FirstError)
				}
				b.ReportMetric(float64(r.ClientCPU.Nanoseconds())/float64(r.Requests), "client-ns/req")
			})
		}
	}
}
