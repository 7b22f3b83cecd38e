package daytime

import (
	"bytes"
	"fmt"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "daytime", WellKnown: Port, Local: 8013,
		Service: func(rt proto.Runtime) server.Service {
			format, _ := rt.Value(formatKey).(string)
			return Service(format, rt.Now)
		},
		Options: []proto.Option{{
			Key:     formatKey,
			Usage:   "daytime line format: nist, rfc822 or ctime",
			Default: FormatNIST,
			Values:  []string{FormatNIST, FormatRFC822, FormatCtime},
			Parse: func(v string) (any, func(), error) {
				if !ValidFormat(v) {
					return nil, nil, fmt.Errorf("want nist, rfc822 or ctime")
				}
				return v, nil, nil
			},
		}},
		Client: client,
		Bench: &proto.Bench{Mode: proto.BenchOneShot, Check: func(_, reply []byte) error {
			if len(reply) == 0 {
				return fmt.Errorf("%w: an empty daytime line", proto.ErrLength)
			}
			return nil
		}},
		Describe: func(p []byte, request bool) string {
			if request {
				// What a client sends is ignored; over UDP it asks for the line.
				return fmt.Sprintf("daytime request %d B", len(p))
			}
			return "daytime " + proto.Quote(bytes.TrimRight(p, "\r\n"), 60)
		},
	})
}

// formatKey is the option of Format: `serve --daytime-format`, the config
// file's daytime_format.
const formatKey = "daytime_format"
