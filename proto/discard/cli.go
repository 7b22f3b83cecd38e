package discard

import (
	"context"
	"fmt"
	"time"

	"github.com/sockit/sockit/proto"
)

var client = &proto.Client{
	Short: "Send stdin to a discard service (RFC 863) and report the bytes sent",
	Long: `discard sends stdin to the service and writes a summary line on stderr
(--json: one JSON object on stdout).`,
	Example: `  sockit discard localhost:8009 < /var/log/syslog
  head -c 100M /dev/zero | sockit discard`,
	NoReply: true,
	Command: func(proto.FlagSet) func(context.Context, *proto.Call) error { return runClient },
}

func runClient(ctx context.Context, c *proto.Call) error {
	start := time.Now()
	n, err := Send(ctx, c.Dialer, c.Endpoint, c.Stdin)
	if err != nil {
		return err
	}
	el := time.Since(start)
	return c.Summary("discard", n, el, nil,
		fmt.Sprintf("sent %d bytes to %s in %v (%s)", n, c.Endpoint.Describe(), el.Round(time.Microsecond), proto.Rate(n, el)), true)
}
