package timeproto

import (
	"context"
	"fmt"
	"time"

	"github.com/sockit/sockit/proto"
)

var client = &proto.Client{
	Short: "Get the time from a time service (RFC 868) and the offset from the local clock",
	Example: `  sockit time                          # sockit serve's tcp://127.0.0.1:8037
  sockit time udp://127.0.0.1:8037`,
	Command: func(proto.FlagSet) func(context.Context, *proto.Call) error { return runClient },
}

func runClient(ctx context.Context, c *proto.Call) error {
	remote, local, _, err := Get(ctx, c.Dialer, c.Endpoint, c.Query)
	if err != nil {
		return err
	}
	offset := remote.Sub(local.Truncate(time.Second))
	_, err = fmt.Fprintf(c.Stdout, "%s (offset %+.0fs from the local clock)\n", remote.Format(time.RFC3339), offset.Seconds())
	return err
}
