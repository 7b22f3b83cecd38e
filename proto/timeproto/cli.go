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
	start := time.Now()
	remote, local, attempts, err := Get(ctx, c.Dialer, c.Endpoint, c.Query)
	el := time.Since(start)
	if err != nil {
		return err
	}
	offset := remote.Sub(local.Truncate(time.Second))
	if c.JSON {
		return c.Summary("time", 4, el, map[string]any{"time": remote, "offset_s": offset.Seconds(), "attempts": attempts}, "", false)
	}
	c.Summary("time", 4, el, nil, fmt.Sprintf("4 bytes from %s in %v, %d attempt(s)", c.Endpoint.Describe(), el.Round(time.Microsecond), attempts), false)
	_, err = fmt.Fprintf(c.Stdout, "%s (offset %+.0fs from the local clock)\n", remote.Format(time.RFC3339), offset.Seconds())
	return err
}
