package discard

import (
	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "discard", WellKnown: Port, Local: 8009,
		Service: func(proto.Options) server.Service { return Service() },
		Client:  client,
		Bench:   &proto.Bench{Mode: proto.BenchSink},
	})
}
