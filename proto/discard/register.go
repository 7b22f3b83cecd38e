package discard

import (
	"fmt"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "discard", WellKnown: Port, Local: 8009,
		Service: func(proto.Runtime) server.Service { return Service() },
		Client:  client,
		Bench:   &proto.Bench{Mode: proto.BenchSink},
		Describe: func(p []byte, request bool) string {
			if request {
				return fmt.Sprintf("discard %d B %s", len(p), proto.Quote(p, 40))
			}
			return fmt.Sprintf("discard %d B", len(p)) // discard never answers
		},
	})
}
