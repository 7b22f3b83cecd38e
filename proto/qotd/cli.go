package qotd

import (
	"context"
	"fmt"
	"time"

	"github.com/sockit/sockit/proto"
)

var client = &proto.Client{
	Short: "Get a quote from a QOTD service (RFC 865), over UDP as the brief does",
	Long: `qotd asks a Quote of the Day service for a quote and prints it: over UDP (the
default, as the brief does) it sends one empty datagram, resent up to --retries
times while no reply comes within --timeout; over TCP it reads the connection
to its close. A bare host uses port 17; no ENDPOINT, sockit serve's
udp://127.0.0.1:8017. An empty reply, or one of 512 bytes or more (RFC 865
allows fewer), is printed and fails (exit 1).`,
	Example: `  sockit qotd                          # sockit serve's udp://127.0.0.1:8017
  sockit qotd djxmmx.net               # the brief's server, port 17 (online)
  sockit qotd tcp://127.0.0.1:8017`,
	Command: func(proto.FlagSet) func(context.Context, *proto.Call) error { return runClient },
}

func runClient(ctx context.Context, c *proto.Call) error {
	start := time.Now()
	quote, attempts, err := Get(ctx, c.Dialer, c.Endpoint, c.Query)
	el := time.Since(start)
	if c.JSON {
		if err != nil {
			return err
		}
		return c.Summary("qotd", int64(len(quote)), el, map[string]any{"attempts": attempts, "quote": string(quote)}, "", false)
	}
	if len(quote) > 0 {
		c.Stdout.Write(quote)
		if quote[len(quote)-1] != '\n' {
			fmt.Fprintln(c.Stdout)
		}
	}
	if err == nil {
		c.Summary("qotd", int64(len(quote)), el, nil, fmt.Sprintf("%d bytes from %s in %v, %d attempt(s)",
			len(quote), c.Endpoint.Describe(), el.Round(time.Microsecond), attempts), false)
	}
	return err
}
