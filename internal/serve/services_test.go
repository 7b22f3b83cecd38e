package serve_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/internal/serve"
	"github.com/sockit/sockit/proto"
	_ "github.com/sockit/sockit/proto/all" // the program registers the protocols; so do the tests
	"github.com/sockit/sockit/proto/chargen"
	"github.com/sockit/sockit/proto/daytime"
	"github.com/sockit/sockit/proto/discard"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/qotd"
	"github.com/sockit/sockit/proto/timeproto"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

func TestMain(m *testing.M) {
	// toxiproxy's own toxic goroutines can outlive Proxy.Stop (blocked
	// sending on a link nobody reads); they are the fault proxy's, not ours.
	goleak.VerifyTestMain(m,
		// toxiproxy ends its links' goroutines after Stop returns.
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2/toxics.(*ToxicStub).Run"),
		goleak.IgnoreAnyFunction("github.com/Shopify/toxiproxy/v2.(*ToxicLink).read"))
}

// fixed is the clock the tests inject: just after the RFC 868 rollover.
var fixed = time.Date(2036, 2, 7, 6, 28, 20, 0, time.UTC)

// startAll serves every service on every family: tcp and udp on 127.0.0.1
// port 0, unix and unixgram on fresh paths.
func startAll(t *testing.T, engine string) (*serve.Running, []serve.Spec) {
	t.Helper()
	dir := t.TempDir()
	var specs []serve.Spec
	for _, in := range proto.All() {
		if in.Name == "http" {
			continue // its own tests are in proto/httpraw
		}
		for _, nw := range []string{"tcp", "udp", "unix", "unixgram"} {
			if in.StreamOnly && (nw == "udp" || nw == "unixgram") {
				continue
			}
			addr := "127.0.0.1:0"
			if strings.HasPrefix(nw, "unix") {
				addr = filepath.Join(dir, in.Name+"."+nw)
			}
			specs = append(specs, serve.Spec{Service: in.Name, Endpoint: sockit.Endpoint{Network: nw, Address: addr}})
		}
	}
	run, err := serve.Start(context.Background(), specs, serve.Options{
		Runtime: proto.Runtime{Now: func() time.Time { return fixed }},
		Server:  server.Config{Engine: engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Server.Close() })
	return run, specs
}

// TestConformance runs every service over tcp, udp, unix and unixgram, on
// every engine of the server.
func TestConformance(t *testing.T) {
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) { conformance(t, engine) })
	}
}

func conformance(t *testing.T, engine string) {
	run, specs := startAll(t, engine)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d := &sockit.Dialer{Timeout: 5 * time.Second}
	q := &sockit.Query{Retries: 2, Timeout: 2 * time.Second}
	quotes := qotd.Default()
	for _, nw := range []string{"tcp", "udp", "unix", "unixgram"} {
		ep := func(svc string) sockit.Endpoint {
			e, ok := run.Endpoint(specs, svc, nw)
			if !ok {
				t.Fatalf("no %s on %s", svc, nw)
			}
			return e
		}
		packet := nw == "udp" || nw == "unixgram"
		t.Run("echo/"+nw, func(t *testing.T) {
			size := 1 << 20
			if packet {
				size = 8000
			}
			msg := sockittest.RandomBytes(size, 11)
			got, err := echo.Exchange(ctx, d, ep("echo"), msg, q)
			if err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("echo of %d bytes: got %d, %v", size, len(got), err)
			}
		})
		t.Run("discard/"+nw, func(t *testing.T) {
			data := sockittest.RandomBytes(1<<20, 12)
			if packet {
				data = data[:3000]
			}
			n, err := discard.Send(ctx, d, ep("discard"), bytes.NewReader(data))
			if err != nil || n != int64(len(data)) {
				t.Fatalf("sent %d of %d: %v", n, len(data), err)
			}
			if packet {
				// Nothing ever comes back.
				c, err := d.Dial(ctx, ep("discard"))
				if err != nil {
					t.Fatal(err)
				}
				defer c.Close()
				_, _, err = (&sockit.Query{Timeout: 200 * time.Millisecond}).Exchange(ctx, c, []byte("x"), make([]byte, 10))
				if !errors.Is(err, sockit.ErrNoReply) {
					t.Errorf("discard answered: %v", err)
				}
			}
		})
		t.Run("chargen/"+nw, func(t *testing.T) {
			if packet {
				for range 20 {
					c, err := d.Dial(ctx, ep("chargen"))
					if err != nil {
						t.Fatal(err)
					}
					got, _, err := q.Exchange(ctx, c, nil, make([]byte, 2048))
					c.Close()
					if err != nil || len(got) > chargen.MaxDatagram || chargen.Verify(got, 0) != -1 {
						t.Fatalf("chargen datagram of %d: %q, %v", len(got), got, err)
					}
				}
				return
			}
			// Two full turns of the 95-line cycle and then some, exactly.
			n := int64(2*95*74 + 1000)
			c, err := d.Dial(ctx, ep("chargen"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := make([]byte, n)
			if _, err := io.ReadFull(c, got); err != nil {
				t.Fatal(err)
			}
			if bad := chargen.Verify(got, 0); bad != -1 {
				t.Fatalf("pattern breaks at byte %d", bad)
			}
			if r, err := chargen.Receive(ctx, d, ep("chargen"), n, q); err != nil || r != n {
				t.Fatalf("Receive: %d, %v", r, err)
			}
		})
		t.Run("qotd/"+nw, func(t *testing.T) {
			got, _, err := qotd.Get(ctx, d, ep("qotd"), q)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) >= 512 || !slices.Contains(quotes, string(got)) {
				t.Fatalf("quote %q is not one of the collection, or too long", got)
			}
		})
		t.Run("daytime/"+nw, func(t *testing.T) {
			line, _, _, err := daytime.Get(ctx, d, ep("daytime"), q)
			if err != nil {
				t.Fatal(err)
			}
			n, err := daytime.ParseNIST(line)
			if err != nil || !n.Time.Equal(fixed) || n.MJD != 64730 {
				t.Fatalf("line %q: %+v, %v", line, n, err)
			}
		})
		t.Run("time/"+nw, func(t *testing.T) {
			got, _, _, err := timeproto.Get(ctx, d, ep("time"), q)
			if err != nil || !got.Equal(fixed) {
				t.Fatalf("time = %v, %v; want %v (after the 2036 rollover)", got, err, fixed)
			}
		})
	}
}

func TestStartFailsWhole(t *testing.T) {
	// The second spec cannot bind; the first must be closed again.
	specs := []serve.Spec{
		{Service: "echo", Endpoint: sockit.Endpoint{Network: "tcp", Address: "127.0.0.1:0"}},
		{Service: "echo", Endpoint: sockit.Endpoint{Network: "unix", Address: "/nonexistent/dir/x.sock"}},
	}
	if _, err := serve.Start(context.Background(), specs, serve.Options{}); err == nil {
		t.Fatal("Start succeeded with an unbindable endpoint")
	}
}

func TestParseSpec(t *testing.T) {
	sp, err := serve.ParseSpec("qotd=unixgram:///tmp/q.sock")
	if err != nil || sp.Service != "qotd" || sp.Endpoint.Network != "unixgram" {
		t.Errorf("%+v %v", sp, err)
	}
	sp, err = serve.ParseSpec("echo=127.0.0.1")
	if err != nil || sp.Endpoint.Address != "127.0.0.1:8001" {
		t.Errorf("bare host takes the local port: %+v %v", sp, err)
	}
	for _, bad := range []string{"echo", "nosuch=127.0.0.1:1", "echo=foo://x"} {
		if _, err := serve.ParseSpec(bad); !errors.Is(err, sockit.ErrBadEndpoint) {
			t.Errorf("ParseSpec(%q): %v", bad, err)
		}
	}
}
