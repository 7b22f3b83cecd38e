package echo

import (
	"bytes"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "echo", WellKnown: Port, Local: 8001,
		Service: func(proto.Options) server.Service { return Service() },
		Client:  client,
		Bench: &proto.Bench{Mode: proto.BenchEcho, Check: func(sent, reply []byte) error {
			if !bytes.Equal(reply, sent) {
				return ErrMismatch
			}
			return nil
		}},
	})
}
