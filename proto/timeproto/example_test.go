package timeproto_test

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/timeproto"
	"github.com/sockit/sockit/server"
)

// RFC 868's time over UDP: 32 bits of seconds since 1900, here from a clock
// fixed 4 seconds after those bits roll over in 2036; Get decodes the
// wrapped value (4) back to the right date.
func Example() {
	now := func() time.Time { return time.Date(2036, 2, 7, 6, 28, 20, 0, time.UTC) }
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := server.New(server.Config{})
	done := make(chan struct{})
	go func() { defer close(done); srv.ServePacket(pc, timeproto.Service(now)) }()

	e := sockit.Endpoint{Network: "udp", Address: pc.LocalAddr().String()}
	remote, _, _, err := timeproto.Get(context.Background(), &sockit.Dialer{}, e, &sockit.Query{})
	fmt.Println(remote.UTC(), timeproto.Encode(now()), err)

	srv.Shutdown(context.Background())
	<-done
	// Output: 2036-02-07 06:28:20 +0000 UTC 4 <nil>
}
