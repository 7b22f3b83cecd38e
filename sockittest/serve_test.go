package sockittest_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// TestServe: each family is served at once, with no wait, and closed when
// the test ends.
func TestServe(t *testing.T) {
	for _, nw := range []string{"tcp", "udp", "unix", "unixgram"} {
		t.Run(nw, func(t *testing.T) {
			srv := server.New(server.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			addr := sockittest.Serve(t, srv, nw, echo.Service())
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			d := &sockit.Dialer{}
			got, err := echo.Exchange(ctx, d, sockit.Endpoint{Network: nw, Address: addr.String()}, []byte("ping"), &sockit.Query{Timeout: time.Second, Retries: 3})
			if err != nil || string(got) != "ping" {
				t.Fatalf("echo over %s: %q, %v", nw, got, err)
			}
		})
	}
}

// TestStart: Start serves each family at once; stop shuts the server down,
// after which nothing answers, and a unix socket's directory is gone.
func TestStart(t *testing.T) {
	for _, nw := range []string{"tcp", "udp", "unix", "unixgram"} {
		t.Run(nw, func(t *testing.T) {
			srv := server.New(server.Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			addr, stop := sockittest.Start(srv, nw, echo.Service())
			e := sockit.Endpoint{Network: nw, Address: addr.String()}
			q := &sockit.Query{Timeout: time.Second, Retries: 3}
			got, err := echo.Exchange(context.Background(), &sockit.Dialer{}, e, []byte("ping"), q)
			if err != nil || string(got) != "ping" {
				t.Fatalf("echo over %s: %q, %v", nw, got, err)
			}
			stop()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if got, err := echo.Exchange(ctx, &sockit.Dialer{}, e, []byte("ping"), &sockit.Query{Timeout: 100 * time.Millisecond}); err == nil {
				t.Errorf("after stop, echo over %s answered %q", nw, got)
			}
			if nw == "unix" || nw == "unixgram" {
				if _, err := os.Stat(filepath.Dir(addr.String())); !os.IsNotExist(err) {
					t.Errorf("after stop, the socket's directory is still there (%v)", err)
				}
			}
		})
	}
}
