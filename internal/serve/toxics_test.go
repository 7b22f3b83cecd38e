package serve_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/qotd"
	"github.com/sockit/sockit/sockittest"
)

// faultProxy puts Shopify's toxiproxy, in process, between a client and
// upstream, with the given toxics (toxiproxy's JSON), and returns the
// proxy's address.
func faultProxy(t *testing.T, upstream string, toxics ...string) string {
	t.Helper()
	api := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(prometheus.NewRegistry()), zerolog.Nop())
	p := toxiproxy.NewProxy(api, "sockit", "127.0.0.1:0", upstream)
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	for _, tx := range toxics {
		if _, err := p.Toxics.AddToxicJson(strings.NewReader(tx)); err != nil {
			t.Fatalf("toxic %s: %v", tx, err)
		}
	}
	return p.Listen
}

func echoUpstream(t *testing.T) string {
	run, specs := startAll(t, "")
	e, _ := run.Endpoint(specs, "echo", "tcp")
	return e.Address
}

// TestEchoThroughSlicedDelayedPath: every write cut into pieces of about
// 100 bytes, 5 ms of latency each way; 1 MiB still echoes byte-exact.
// toxiproxy does not forward a half-close (it closes both ways at the
// client's FIN, dropping what is still in flight; seen here with no toxic
// at all), so the client reads the whole echo before it closes.
func TestEchoThroughSlicedDelayedPath(t *testing.T) {
	addr := faultProxy(t, echoUpstream(t),
		`{"name":"slice-up","type":"slicer","stream":"upstream","attributes":{"average_size":100,"size_variation":60,"delay":0}}`,
		`{"name":"slice-down","type":"slicer","stream":"downstream","attributes":{"average_size":100,"size_variation":60,"delay":0}}`,
		`{"name":"lag-up","type":"latency","stream":"upstream","attributes":{"latency":5,"jitter":3}}`,
		`{"name":"lag-down","type":"latency","stream":"downstream","attributes":{"latency":5,"jitter":3}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	msg := sockittest.RandomBytes(1<<20, 55)
	c, err := (&sockit.Dialer{}).Dial(ctx, sockit.Endpoint{Network: "tcp", Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(50 * time.Second))
	sent := make(chan error, 1)
	go func() { _, err := c.Write(msg); sent <- err }()
	got := make([]byte, len(msg))
	n, err := io.ReadFull(c, got)
	if werr := <-sent; werr != nil {
		t.Fatal(werr)
	}
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("1 MiB through sliced, delayed path: %d bytes back, %v", n, err)
	}
}

// TestQOTDThroughSlowClose: the path holds the server's close back for
// 300 ms; the client still gets the whole quote.
func TestQOTDThroughSlowClose(t *testing.T) {
	run, specs := startAll(t, "")
	e, _ := run.Endpoint(specs, "qotd", "tcp")
	addr := faultProxy(t, e.Address, `{"name":"slow","type":"slow_close","stream":"downstream","attributes":{"delay":300}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	got, _, err := qotd.Get(ctx, &sockit.Dialer{}, sockit.Endpoint{Network: "tcp", Address: addr}, nil)
	if err != nil || len(got) == 0 || !bytes.HasSuffix(got, []byte("\r\n")) {
		t.Fatalf("quote through a slow close: %q, %v", got, err)
	}
}

// TestEchoThroughResetPath: the path resets the connection after 50 ms;
// the client reports an error instead of hanging or inventing bytes.
func TestEchoThroughResetPath(t *testing.T) {
	addr := faultProxy(t, echoUpstream(t),
		`{"name":"lag","type":"latency","stream":"downstream","attributes":{"latency":200}}`,
		`{"name":"reset","type":"reset_peer","stream":"upstream","attributes":{"timeout":50}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	msg := sockittest.RandomBytes(64<<10, 56)
	got, err := echo.Exchange(ctx, &sockit.Dialer{}, sockit.Endpoint{Network: "tcp", Address: addr}, msg, nil)
	if err == nil {
		t.Fatalf("a reset path gave no error (%d bytes back)", len(got))
	}
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung until the deadline instead of seeing the reset")
	}
	if !bytes.Equal(got, msg[:len(got)]) {
		t.Fatal("bytes that did come back differ from what was sent")
	}
	t.Logf("reset path: %d of %d bytes back, then %v", len(got), len(msg), err)
}

// TestBenchThroughCutPath: a path that closes each connection after 3000
// bytes; bench still completes exactly -n requests, the cut ones counted
// as failures of a named kind.
func TestBenchThroughCutPath(t *testing.T) {
	addr := faultProxy(t, echoUpstream(t), `{"name":"cut","type":"limit_data","stream":"downstream","attributes":{"bytes":3000}}`)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := bench.Run(ctx, bench.Config{Target: "tcp://" + addr, Requests: 500, Concurrency: 4, KeepAlive: true, Size: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if r.Requests != 500 || r.Failed() == 0 || r.Failed() == 500 {
		t.Errorf("%d requests, failures %v", r.Requests, r.Failures)
	}
	t.Logf("cut path: 500 requests, failures %v", r.Failures)
}
