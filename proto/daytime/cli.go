package daytime

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sockit/sockit/proto"
)

var client = &proto.Client{
	Short: "Get the time of day from a daytime service (RFC 867), over TCP as the brief does",
	Long: `daytime prints the line the service sends. A NIST-format line is checked, and
with -v or --json its fields are shown with the offset from the local clock.`,
	Example: `  sockit daytime                       # sockit serve's tcp://127.0.0.1:8013
  sockit daytime time.nist.gov         # the brief's server, port 13 (needs the internet)
  sockit daytime -v udp://127.0.0.1:8013`,
	Command: func(fs proto.FlagSet) func(context.Context, *proto.Call) error {
		var verbose, asJSON bool
		fs.BoolVarP(&verbose, "verbose", "v", false, "show the NIST fields and the clock offset")
		fs.BoolVarP(&asJSON, "json", "", false, "print the NIST fields and the clock offset as JSON")
		return func(ctx context.Context, c *proto.Call) error {
			line, local, _, err := Get(ctx, c.Dialer, c.Endpoint, c.Query)
			if err != nil {
				return err
			}
			trimmed := strings.TrimSpace(line)
			if !verbose && !asJSON {
				_, err := fmt.Fprintln(c.Stdout, trimmed)
				return err
			}
			n, perr := ParseNIST(line)
			if perr != nil {
				fmt.Fprintln(c.Stdout, trimmed)
				return perr
			}
			// The line has whole seconds: the offset is good to about ±1s.
			offset := n.Time.Sub(local.Truncate(time.Second))
			if asJSON {
				return json.NewEncoder(c.Stdout).Encode(struct {
					Line string `json:"line"`
					NIST
					OffsetS float64 `json:"offset_s"`
				}{trimmed, n, offset.Seconds()})
			}
			fmt.Fprintf(c.Stdout, "%s\n  mjd %d\n  utc %s\n  dst %02d\n  leap %d\n  health %d\n  advance %.1f ms\n  offset %+.0fs from the local clock\n",
				trimmed, n.MJD, n.Time.Format(time.RFC3339), n.DST, n.Leap, n.Health, n.AdvanceMs, offset.Seconds())
			return nil
		}
	},
}
