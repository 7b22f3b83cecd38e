package daytime_test

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/daytime"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// A daytime server in NIST's format, on a clock fixed for the example;
// the client reads the line and parses its fields.
func Example() {
	now := func() time.Time { return time.Date(2026, 11, 25, 22, 30, 0, 0, time.UTC) }
	srv := server.New(server.Config{})
	addr, stop := sockittest.Start(srv, "tcp", daytime.Service(daytime.FormatNIST, now))
	defer stop()

	e := sockit.Endpoint{Network: "tcp", Address: addr.String()}
	line, _, _, err := daytime.Get(context.Background(), &sockit.Dialer{}, e, nil)
	fmt.Println(strings.TrimSpace(line), err)
	n, err := daytime.ParseNIST(line)
	fmt.Println(n.MJD, n.Time, err)

	// Output:
	// 61369 26-11-25 22:30:00 00 0 0   0.0 UTC(NIST) * <nil>
	// 61369 2026-11-25 22:30:00 +0000 UTC <nil>
}
