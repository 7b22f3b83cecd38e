package sockittest_test

import (
	"context"
	"io"
	"log/slog"
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
