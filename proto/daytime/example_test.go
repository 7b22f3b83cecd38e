package daytime_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/daytime"
	"github.com/sockit/sockit/server"
)

// A daytime server in NIST's format, on a clock fixed for the example;
// the client reads the line and parses its fields.
func Example() {
	now := func() time.Time { return time.Date(2026, 11, 25, 22, 30, 0, 0, time.UTC) }
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := server.New(server.Config{})
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeStream(ln, daytime.Service(daytime.FormatNIST, now)) }()

	e := sockit.Endpoint{Network: "tcp", Address: ln.Addr().String()}
	line, _, _, err := daytime.Get(context.Background(), &sockit.Dialer{}, e, nil)
	fmt.Println(strings.TrimSpace(line), err)
	n, err := daytime.ParseNIST(line)
	fmt.Println(n.MJD, n.Time, err)

	srv.Shutdown(context.Background())
	<-done
	// Output:
	// 61369 26-11-25 22:30:00 00 0 0   0.0 UTC(NIST) * <nil>
	// 61369 2026-11-25 22:30:00 +0000 UTC <nil>
}
