package qotd_test

import (
	"context"
	"fmt"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/qotd"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// The tutorial's QOTD exchange over UDP: an empty datagram asks, one
// datagram answers. The server is given its quotes (one here, so the
// output is known).
func Example() {
	srv := server.New(server.Config{})
	addr, stop := sockittest.Start(srv, "udp", qotd.Service([]string{"Simplicity is prerequisite for reliability.\n"}))
	defer stop()

	e := sockit.Endpoint{Network: "udp", Address: addr.String()}
	quote, _, err := qotd.Get(context.Background(), &sockit.Dialer{}, e, &sockit.Query{})
	fmt.Printf("%s%v\n", quote, err)

	// Output:
	// Simplicity is prerequisite for reliability.
	// <nil>
}
