package chargen

import (
	"context"
	"fmt"
	"time"

	"github.com/sockit/sockit/proto"
)

var client = &proto.Client{
	Short: "Read from a chargen service (RFC 864), checking the pattern",
	Example: `  sockit chargen localhost:8019 --bytes 1000000
  sockit chargen udp://127.0.0.1:8019`,
	Command: func(fs proto.FlagSet) func(context.Context, *proto.Call) error {
		var (
			n     int64
			print bool
		)
		fs.Int64Var(&n, "bytes", 74*100, "TCP: bytes to read (100 lines by default)")
		fs.BoolVarP(&print, "print", "p", false, "print the characters received")
		return func(ctx context.Context, c *proto.Call) error {
			if n <= 0 {
				return proto.UsageError("chargen: --bytes must be positive")
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
				fmt.Fprintf(c.Stderr, "sockit: chargen: note: %s sent %d characters; RFC 864 says at most %d\n", c.Endpoint, got, MaxDatagram)
			}
			fmt.Fprintf(c.Stdout, "chargen: %d bytes from %s in %v (%s), pattern ok\n", got, c.Endpoint, el.Round(time.Microsecond), proto.Rate(got, el))
			return nil
		}
	},
}
