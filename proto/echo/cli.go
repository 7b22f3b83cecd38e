package echo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/sockit/sockit/proto"
)

var client = &proto.Client{
	Args:  "[MESSAGE...]",
	Short: "Send a message to an echo service (RFC 862) and check what comes back",
	Long: `echo sends MESSAGE (or stdin when there is none) to the echo service and prints
what comes back; the exit status is 1 if it differs from what was sent.
ENDPOINT is the first argument, as for every client: a bare host uses port 7
(sockit echo localhost hi asks localhost:7); give the port for another
(sockit serve's is 8001).`,
	Example: `  sockit echo localhost:8001 hello there     # the brief's echo client
  sockit echo udp://127.0.0.1:8001 ping
  echo hello | sockit echo                   # stdin, to 127.0.0.1:8001
  sockit echo unix:///tmp/echo.sock < file.bin`,
	MaxArgs: -1,
	Command: func(proto.FlagSet) func(context.Context, *proto.Call) error { return runClient },
}

func runClient(ctx context.Context, c *proto.Call) error {
	var msg []byte
	var err error
	if len(c.Args) > 0 {
		msg = []byte(strings.Join(c.Args, " "))
	} else if msg, err = io.ReadAll(c.Stdin); err != nil {
		return err
	}
	start := time.Now()
	got, err := Exchange(ctx, c.Dialer, c.Endpoint, msg, c.Query)
	el := time.Since(start)
	if c.JSON {
		if err != nil && !errors.Is(err, ErrMismatch) {
			return err
		}
		if serr := c.Summary("echo", int64(len(msg)), el, map[string]any{
			"received": len(got), "match": err == nil, "reply": string(got)}, "", false); serr != nil {
			return serr
		}
		return err
	}
	if _, werr := c.Stdout.Write(got); werr != nil && err == nil {
		err = werr
	}
	if len(c.Args) > 0 && len(got) > 0 {
		fmt.Fprintln(c.Stdout)
	}
	if err == nil {
		c.Summary("echo", int64(len(msg)), el, nil, fmt.Sprintf("%d bytes to %s, the same %d back in %v",
			len(msg), c.Endpoint.Describe(), len(got), el.Round(time.Microsecond)), false)
	}
	return err
}
