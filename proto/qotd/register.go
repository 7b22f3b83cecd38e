package qotd

import (
	"fmt"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "qotd", WellKnown: Port, Local: 8017, UDPFirst: true,
		Service: func(opt proto.Options) server.Service { return Service(opt.Quotes) },
		Client:  client,
		Bench: &proto.Bench{Mode: proto.BenchOneShot, Check: func(_, reply []byte) error {
			if len(reply) == 0 || len(reply) > MaxLen {
				return fmt.Errorf("%w: a quote of %d bytes (RFC 865: 1 to %d)", proto.ErrLength, len(reply), MaxLen)
			}
			return nil
		}},
	})
}
