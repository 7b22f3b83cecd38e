package discard_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/discard"
	"github.com/sockit/sockit/server"
)

// A discard server on a free port takes a message and sends nothing back;
// Send returns once the server has closed its side.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := server.New(server.Config{})
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeStream(ln, discard.Service()) }()

	e := sockit.Endpoint{Network: "tcp", Address: ln.Addr().String()}
	n, err := discard.Send(context.Background(), &sockit.Dialer{}, e, strings.NewReader("into the void"))
	fmt.Println(n, err)

	srv.Shutdown(context.Background())
	<-done
	// Output: 13 <nil>
}
