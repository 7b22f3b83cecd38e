package timeproto

import (
	"context"
	"fmt"
	"time"

	"github.com/sockit/sockit/proto"
)

var client = &proto.Client{
	Short: "Get the time from a time service (RFC 868) and the offset from the local clock",
	Long: `time asks a Time Protocol service for the time, four bytes of seconds since
1900 (RFC 868), and prints it in RFC 3339 with its offset from the local clock
(taken halfway through the exchange, to the second). Over TCP (the default) it
reads the connection to its close; over UDP it sends one empty datagram,
resent up to --retries times while no reply comes within --timeout. A bare
host uses port 37; no ENDPOINT, sockit serve's tcp://127.0.0.1:8037. A reply
of other than four bytes fails (exit 1).`,
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
