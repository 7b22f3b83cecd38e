package bench_test

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/sockittest"
)

// h2load runs the real h2load and returns its requests done and its
// status counts (2xx, 3xx, 4xx, 5xx).
func h2load(t *testing.T, args ...string) (done int64, codes [4]int64) {
	t.Helper()
	out, err := exec.Command(sockittest.RequireTool(t, "h2load"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("h2load %v: %v\n%s", args, err, out)
	}
	m := regexp.MustCompile(`requests: \d+ total, \d+ started, (\d+) done`).FindSubmatch(out)
	c := regexp.MustCompile(`status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx`).FindSubmatch(out)
	if m == nil || c == nil {
		t.Fatalf("h2load %v: no counts in\n%s", args, out)
	}
	done, _ = strconv.ParseInt(string(m[1]), 10, 64)
	for i := range codes {
		codes[i], _ = strconv.ParseInt(string(c[i+1]), 10, 64)
	}
	return done, codes
}

// statusCounts is a result's responses by status class, as h2load counts
// them: a non-2xx run's are all of its one status.
func statusCounts(r *bench.Result, status int) (codes [4]int64) {
	ok := r.Requests - r.Failed() - r.Non2xx
	codes[0] = ok
	if r.Non2xx > 0 && status >= 300 {
		codes[status/100-2] = r.Non2xx
	}
	return codes
}

// --http2 against the real h2load, on the same targets: sockit's
// responder (h2c with prior knowledge), nginx over h2c and over TLS (ALPN
// h2); a page and a missing one; -c 4 -m 10 and -c 1 -m 1. Both make the
// same requests and see the same status counts.
func TestHTTP2MatchesH2load(t *testing.T) {
	responder := serve(t, httpraw.Service(&httpraw.Responder{}), "tcp")
	h2c, _ := nginxListen(t, "http2", "")
	h2tls, pool := nginxListen(t, "ssl http2", "")
	for _, tc := range []struct {
		name, url string
		status    int
	}{
		{"responder", "http://" + responder + "/", 200},
		{"responder 404", "http://" + responder + "/nope", 404},
		{"nginx h2c", "http://" + h2c + "/", 200},
		{"nginx h2c 404", "http://" + h2c + "/nope", 404},
		{"nginx h2", "https://localhost" + h2tls[strings.LastIndex(h2tls, ":"):] + "/", 200},
	} {
		for _, load := range []struct{ n, c, m int }{{400, 4, 10}, {50, 1, 1}} {
			t.Run(fmt.Sprintf("%s/c%d-m%d", tc.name, load.c, load.m), func(t *testing.T) {
				done, codes := h2load(t, "-n", fmt.Sprint(load.n), "-c", fmt.Sprint(load.c), "-m", fmt.Sprint(load.m), tc.url)
				cfg := bench.Config{Target: tc.url, Requests: int64(load.n), Concurrency: load.c, HTTP2: true, Streams: load.m}
				if strings.HasPrefix(tc.url, "https:") {
					cfg.RootCAs = pool
				}
				r, err := bench.Run(context.Background(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				got := statusCounts(r, tc.status)
				if r.Requests != done || got != codes || r.Failed() != 0 {
					t.Errorf("bench: %d requests, status classes %v, failures %v (%s); h2load: %d done, %v",
						r.Requests, got, r.Failures, r.FirstError, done, codes)
				}
				var sum int64
				for _, n := range r.StreamsPerConn {
					sum += n
				}
				if len(r.StreamsPerConn) != load.c || sum != int64(load.n) {
					t.Errorf("streams per connection %v, want %d connections carrying %d", r.StreamsPerConn, load.c, load.n)
				}
			})
		}
	}
}

// A server that ends connections with GOAWAY (nginx after keepalive_requests)
// costs no request: the streams it never saw start again on a new
// connection; every connection carried at most its limit. At a --rate
// the same holds, with latency from each request's scheduled time.
func TestHTTP2GoAway(t *testing.T) {
	addr, _ := nginxListen(t, "http2", "keepalive_requests 50;")
	url := "http://" + addr + "/"
	for _, rate := range []float64{0, 2000} {
		r, err := bench.Run(context.Background(), bench.Config{Target: url, Requests: 600, Concurrency: 2,
			HTTP2: true, Streams: 10, Rate: rate})
		if err != nil {
			t.Fatal(err)
		}
		if r.Requests != 600 || r.Failed() != 0 || r.Non2xx != 0 || r.DocLength != 612 {
			t.Fatalf("rate %v: %d requests, failures %v (%s), non-2xx %d, doc %d", rate, r.Requests, r.Failures, r.FirstError, r.Non2xx, r.DocLength)
		}
		var sum int64
		for _, n := range r.StreamsPerConn {
			sum += n
			if n > 50 {
				t.Errorf("a connection carried %d requests; nginx allows 50", n)
			}
		}
		if sum != 600 || len(r.StreamsPerConn) < 12 {
			t.Errorf("rate %v: streams per connection %v (sum %d)", rate, r.StreamsPerConn, sum)
		}
		if r.Protocol != "h2c" || r.MaxStreams != 10 {
			t.Errorf("protocol %q, max streams %d", r.Protocol, r.MaxStreams)
		}
	}
}

// What --http2 cannot run is refused before anything is sent, naming the
// field: streams without HTTP/2, HTTP/2 on the goroutine engine, through
// a proxy, on a raw target, with a body past the first window; and a
// number as the method (h2load's -m typed to ab's -m).
func TestHTTP2Refused(t *testing.T) {
	url := "http://127.0.0.1:1/"
	for _, tc := range []struct {
		cfg         bench.Config
		field, want string
	}{
		{bench.Config{Streams: 10}, "Streams", "streams are HTTP/2's"},
		{bench.Config{HTTP2: true, Streams: -1}, "Streams", "want 1 to 10000"},
		{bench.Config{HTTP2: true, Engine: bench.EngineGoroutine}, "Engine", "goroutine cannot run HTTP/2; the loop engine can"},
		{bench.Config{HTTP2: true, Proxy: "127.0.0.1:3128"}, "HTTP2", "cannot go with Proxy"},
		{bench.Config{HTTP2: true, Body: make([]byte, 70000)}, "Body", "at most 65535 bytes"},
		{bench.Config{Method: "10"}, "Method", "--max-concurrent-streams"},
		{bench.Config{Target: "tcp://127.0.0.1:1", HTTP2: true}, "HTTP2", "applies to HTTP targets"},
		{bench.Config{ServerName: "example.com"}, "ServerName", "applies to https://"},
		{bench.Config{NoResume: true}, "NoResume", "applies to https://"},
	} {
		cfg := tc.cfg
		if cfg.Target == "" {
			cfg.Target = url
		}
		err := cfg.Validate()
		var fe *bench.FieldError
		if !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %s: %s", tc.cfg, err, tc.field, tc.want)
		}
	}
}

// Shards split an HTTP/2 load exactly, as a 1.1 one: two halves of -n
// 101 over -c 3 make 101 requests between them.
func TestHTTP2Shards(t *testing.T) {
	addr := serve(t, httpraw.Service(&httpraw.Responder{}), "tcp")
	var total int64
	for i := 1; i <= 2; i++ {
		r := run(t, bench.Config{Target: "http://" + addr + "/", Requests: 101, Concurrency: 3, HTTP2: true, Streams: 4,
			Shard: bench.Shard{Index: i, Count: 2}})
		if r.Failed() != 0 || r.Protocol != "h2c" {
			t.Fatalf("shard %d: failures %v %s, protocol %q", i, r.Failures, r.FirstError, r.Protocol)
		}
		total += r.Requests
	}
	if total != 101 {
		t.Errorf("shards made %d requests, want 101", total)
	}
}
