package echo_test

import (
	"context"
	"fmt"
	"net"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/server"
)

// The brief's echo server and client: a server on a free port, one
// exchange, and a clean shutdown.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := server.New(server.Config{})
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeStream(ln, echo.Service()) }()

	e := sockit.Endpoint{Network: "tcp", Address: ln.Addr().String()}
	got, err := echo.Exchange(context.Background(), &sockit.Dialer{}, e, []byte("hello there"), nil)
	fmt.Printf("%s %v\n", got, err)

	srv.Shutdown(context.Background())
	<-done
	// Output: hello there <nil>
}
