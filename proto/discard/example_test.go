package discard_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/discard"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// A discard server on a free port takes a message and sends nothing back;
// Send returns once the server has closed its side.
func Example() {
	srv := server.New(server.Config{})
	addr, stop := sockittest.Start(srv, "tcp", discard.Service())
	defer stop()

	e := sockit.Endpoint{Network: "tcp", Address: addr.String()}
	n, err := discard.Send(context.Background(), &sockit.Dialer{}, e, strings.NewReader("into the void"))
	fmt.Println(n, err)

	// Output: 13 <nil>
}
