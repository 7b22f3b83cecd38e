package timeproto

import (
	"fmt"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "time", WellKnown: Port, Local: 8037,
		Service: func(opt proto.Options) server.Service { return Service(opt.Now) },
		Client:  client,
		Bench: &proto.Bench{Mode: proto.BenchOneShot, Check: func(_, reply []byte) error {
			if len(reply) != 4 {
				return fmt.Errorf("%w: %d bytes, want 4", proto.ErrLength, len(reply))
			}
			return nil
		}},
	})
}
