package timeproto_test

import (
	"context"
	"fmt"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/timeproto"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// RFC 868's time over UDP: 32 bits of seconds since 1900, here from a clock
// fixed 4 seconds after those bits roll over in 2036; Get decodes the
// wrapped value (4) back to the right date.
func Example() {
	now := func() time.Time { return time.Date(2036, 2, 7, 6, 28, 20, 0, time.UTC) }
	srv := server.New(server.Config{})
	addr, stop := sockittest.Start(srv, "udp", timeproto.Service(now))
	defer stop()

	e := sockit.Endpoint{Network: "udp", Address: addr.String()}
	remote, _, _, err := timeproto.Get(context.Background(), &sockit.Dialer{}, e, &sockit.Query{})
	fmt.Println(remote.UTC(), timeproto.Encode(now()), err)

	// Output: 2036-02-07 06:28:20 +0000 UTC 4 <nil>
}
