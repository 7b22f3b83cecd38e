package echo_test

import (
	"context"
	"fmt"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// The brief's echo server and client: a server on a free port, one
// exchange, and a clean shutdown.
func Example() {
	srv := server.New(server.Config{})
	addr, stop := sockittest.Start(srv, "tcp", echo.Service())
	defer stop()

	e := sockit.Endpoint{Network: "tcp", Address: addr.String()}
	got, err := echo.Exchange(context.Background(), &sockit.Dialer{}, e, []byte("hello there"), nil)
	fmt.Printf("%s %v\n", got, err)

	// Output: hello there <nil>
}
