package qotd

import (
	"bytes"
	"fmt"
	"os"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "qotd", WellKnown: Port, Local: 8017, UDPFirst: true,
		Service: func(rt proto.Runtime) server.Service {
			quotes, _ := rt.Value(quotesKey).([]string)
			return Service(quotes)
		},
		Options: []proto.Option{{
			Key:   quotesKey,
			Usage: "serve the quotes in this fortune-format FILE (quotes separated by lines holding %)",
			Parse: func(file string) (any, func(), error) {
				if file == "" {
					return nil, nil, nil // the embedded collection
				}
				quotes, err := ParseFile(file)
				return quotes, nil, err
			},
		}},
		Client: client,
		Bench: &proto.Bench{Mode: proto.BenchOneShot, Check: func(_, reply []byte) error {
			if len(reply) == 0 || len(reply) > MaxLen {
				return fmt.Errorf("%w: a quote of %d bytes (RFC 865: 1 to %d)", proto.ErrLength, len(reply), MaxLen)
			}
			return nil
		}},
		Describe: func(p []byte, request bool) string {
			if request {
				// What a client sends is ignored; over UDP it asks for a quote.
				return fmt.Sprintf("qotd request %d B", len(p))
			}
			return "qotd " + proto.Quote(bytes.TrimRight(p, "\r\n"), 60)
		},
	})
}

// quotesKey is the option of the quotes served: `serve --quotes FILE`, the
// config file's quotes.
const quotesKey = "quotes"

// ParseFile reads the quotes of a fortune-format file (see Parse).
func ParseFile(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(f)
}
