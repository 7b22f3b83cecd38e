package daytime

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sockit/sockit/proto"
)

var client = &proto.Client{
	Short: "Get the time of day from a daytime service (RFC 867), over TCP as the brief does",
	Long: `daytime prints the line the service sends. With -v (on stderr) or --json
the line is parsed (NIST's format, rfc822 or ctime: the three sockit serve
--daytime-format sends; a ctime line is taken as UTC; or xinetd's) and shown
with its time and the offset from the local clock. RFC 867 sets no syntax, so
a line in another format is shown as it came, with format "unknown", and is no
failure.`,
	Example: `  sockit daytime                       # sockit serve's tcp://127.0.0.1:8013
  sockit daytime time.nist.gov         # the brief's server, port 13 (online)
  sockit daytime -v udp://127.0.0.1:8013`,
	Command: func(proto.FlagSet) func(context.Context, *proto.Call) error {
		return func(ctx context.Context, c *proto.Call) error {
			verbose, asJSON := c.Verbose, c.JSON
			start := time.Now()
			line, local, attempts, err := Get(ctx, c.Dialer, c.Endpoint, c.Query)
			el := time.Since(start)
			if err != nil {
				return err
			}
			trimmed := strings.TrimSpace(line)
			if !asJSON {
				// The line is the output, -v or not; -v's details go to
				// stderr, as every client's do.
				if _, err := fmt.Fprintln(c.Stdout, trimmed); err != nil || !verbose {
					return err
				}
			}
			l, perr := Parse(line)
			if perr != nil {
				// RFC 867 sets no syntax: a line Parse cannot read is
				// still the service's answer, shown without a time.
				return c.Summary("daytime", int64(len(line)), el, map[string]any{"line": trimmed, "format": "unknown", "attempts": attempts},
					"format unknown (not nist, rfc822, ctime or xinetd): no time or offset", false)
			}
			// The line has whole seconds: the offset is good to about ±1s.
			offset := l.Time.Sub(local.Truncate(time.Second))
			// A NIST line keeps its fields (mjd, dst, ...) beside the ones
			// every format has, the same numbers in the text and the JSON.
			f := map[string]any{"line": trimmed, "format": l.Format, "time": l.Time, "offset_s": offset.Seconds(), "attempts": attempts}
			text := fmt.Sprintf("format %s, utc %s", l.Format, l.Time.UTC().Format(time.RFC3339))
			if n := l.NIST; n != nil {
				f["mjd"], f["dst"], f["leap"], f["health"], f["advance_ms"], f["source"] = n.MJD, n.DST, n.Leap, n.Health, n.AdvanceMs, n.Source
				text += fmt.Sprintf(", mjd %d, dst %d, leap %d, health %d, advance %.1f ms", n.MJD, n.DST, n.Leap, n.Health, n.AdvanceMs)
			}
			return c.Summary("daytime", int64(len(line)), el, f, text+fmt.Sprintf(", offset %+.0fs from the local clock", offset.Seconds()), false)
		}
	},
}
