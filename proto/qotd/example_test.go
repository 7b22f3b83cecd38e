package qotd_test

import (
	"context"
	"fmt"
	"net"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/qotd"
	"github.com/sockit/sockit/server"
)

// The tutorial's QOTD exchange over UDP: an empty datagram asks, one
// datagram answers. The server is given its quotes (one here, so the
// output is known).
func Example() {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := server.New(server.Config{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		srv.ServePacket(pc, qotd.Service([]string{"Simplicity is prerequisite for reliability.\n"}))
	}()

	e := sockit.Endpoint{Network: "udp", Address: pc.LocalAddr().String()}
	quote, _, err := qotd.Get(context.Background(), &sockit.Dialer{}, e, &sockit.Query{})
	fmt.Printf("%s%v\n", quote, err)

	srv.Shutdown(context.Background())
	<-done
	// Output:
	// Simplicity is prerequisite for reliability.
	// <nil>
}
