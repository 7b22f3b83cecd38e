package proto

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/sockit/sockit"
)

// Client is a protocol's command-line client: `sockit NAME [flags]
// [ENDPOINT] ARGS`. cmd/sockit builds the command; the endpoint (the first
// argument, always; a bare host uses the protocol's well-known port; none:
// the protocol's local port on 127.0.0.1),
// -4/-6, --timeout and --retries are the same for every client.
type Client struct {
	// Args is the usage of the arguments after the endpoint, if any
	// ("[MESSAGE...]").
	Args string
	// Short, Long and Example are the command's help.
	Short, Long, Example string
	// MaxArgs bounds the positional arguments, the endpoint included;
	// zero means 1, negative means no bound.
	MaxArgs int
	// NoReply says the service answers nothing (discard): the client has
	// no --retries, since no missing reply can be told from a lost one.
	NoReply bool
	// Command registers the client's own flags on fs and returns the
	// function that runs the client with them.
	Command func(fs FlagSet) func(ctx context.Context, c *Call) error
}

// FlagSet is where a client registers its flags (cmd/sockit passes its
// pflag.FlagSet, whose methods these are).
type FlagSet interface {
	BoolVarP(p *bool, name, shorthand string, value bool, usage string)
	Int64Var(p *int64, name string, value int64, usage string)
}

// Call is one run of a client.
type Call struct {
	Endpoint sockit.Endpoint
	Dialer   *sockit.Dialer
	Query    *sockit.Query
	// Args are the positional arguments after the endpoint.
	Args           []string
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	// JSON (--json) asks for one JSON object on stdout in place of the
	// client's text; Verbose (-v) for details on stderr. Every client has
	// both.
	JSON, Verbose bool
}

// Summary ends a client's run: with --json it writes one JSON object on
// stdout (endpoint, bytes, duration_s, then the client's fields); with -v,
// or always when the summary is the client's only report (always), it
// writes "sockit NAME: text" on stderr (the form of every line sockit
// writes there), never glued to data on stdout.
func (c *Call) Summary(name string, bytes int64, d time.Duration, fields map[string]any, text string, always bool) error {
	if c.JSON {
		obj := map[string]any{"endpoint": c.Endpoint.String(), "bytes": bytes, "duration_s": d.Seconds()}
		for k, v := range fields {
			obj[k] = v
		}
		return json.NewEncoder(c.Stdout).Encode(obj)
	}
	if c.Verbose || always {
		_, err := fmt.Fprintf(c.Stderr, "sockit %s: %s\n", name, text)
		return err
	}
	return nil
}

// UsageError is a client's complaint about its command line (exit status
// 2, as for any usage error).
type UsageError string

func (e UsageError) Error() string { return string(e) }

// Rate formats n bytes in d as a throughput for a client's summary line.
func Rate(n int64, d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MB/s", float64(n)/d.Seconds()/1e6)
}
