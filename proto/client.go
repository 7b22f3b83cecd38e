package proto

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/sockit/sockit"
)

// Client is a protocol's command-line client: `sockit NAME [flags]
// [ENDPOINT] ARGS`. cmd/sockit builds the command; the endpoint (default:
// the protocol's local port on 127.0.0.1, a bare host its well-known port),
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
