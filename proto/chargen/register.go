package chargen

import (
	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "chargen", WellKnown: Port, Local: 8019,
		Service: func(proto.Options) server.Service { return Service() },
		Client:  client,
		Bench: &proto.Bench{Mode: proto.BenchSource, Check: func(_, reply []byte) error {
			var ck Checker
			_, err := ck.Write(reply)
			return err
		}},
	})
}
