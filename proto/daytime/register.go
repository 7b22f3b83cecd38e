package daytime

import (
	"fmt"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "daytime", WellKnown: Port, Local: 8013,
		Service: func(opt proto.Options) server.Service { return Service(opt.DaytimeFormat, opt.Now) },
		Client:  client,
		Bench: &proto.Bench{Mode: proto.BenchOneShot, Check: func(_, reply []byte) error {
			if len(reply) == 0 {
				return fmt.Errorf("%w: an empty daytime line", proto.ErrLength)
			}
			return nil
		}},
	})
}
