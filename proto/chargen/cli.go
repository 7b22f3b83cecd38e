package chargen

import (
	"context"
	"fmt"
	"time"

	"github.com/sockit/sockit/proto"
)

var client = &proto.Client{
	Short: "Read from a chargen service (RFC 864), checking the pattern",
	Long: `chargen reads --bytes characters (TCP) or one datagram (UDP), checks RFC 864's
pattern and writes a summary line on stderr; -p prints the characters on stdout,
--json prints the summary as one JSON object on stdout instead.`,
	Example: `  sockit chargen localhost:8019 --bytes 1000000
  sockit chargen udp://127.0.0.1:8019`,
	Command: func(fs proto.FlagSet) func(context.Context, *proto.Call) error {
		var (
			n     int64
			print bool
		)
		fs.Int64Var(&n, "bytes", 74*100, "TCP: bytes to read (74 a line)")
		fs.BoolVarP(&print, "print", "p", false, "print the characters received")
		return func(ctx context.Context, c *proto.Call) error {
			if n <= 0 {
				return proto.UsageError("chargen: --bytes must be positive")
			}
			if print && c.JSON {
				return proto.UsageError("chargen: -p and --json both want stdout")
			}
			start := time.Now()
			got, err := Receive(ctx, c.Dialer, c.Endpoint, n, c.Query)
			el := time.Since(start)
			if print && err == nil {
				c.Stdout.Write(Append(nil, 0, int(got)))
			}
			if err != nil {
				return err
			}
			if c.Endpoint.IsPacket() && got > MaxDatagram {
				fmt.Fprintf(c.Stderr, "sockit chargen: note: %s sent %d characters; RFC 864 says at most %d\n", c.Endpoint.Describe(), got, MaxDatagram)
			}
			return c.Summary("chargen", got, el, map[string]any{"pattern_ok": true},
				fmt.Sprintf("%d bytes from %s in %v (%s), pattern ok", got, c.Endpoint.Describe(), el.Round(time.Microsecond), proto.Rate(got, el)), true)
		}
	},
}
