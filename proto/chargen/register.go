package chargen

import (
	"fmt"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "chargen", WellKnown: Port, Local: 8019,
		Service: func(proto.Runtime) server.Service { return Service() },
		Client:  client,
		Bench: &proto.Bench{Mode: proto.BenchSource, Check: func(_, reply []byte) error {
			var ck Checker
			_, err := ck.Write(reply)
			return err
		}},
		Describe: func(p []byte, request bool) string {
			if request {
				// What a client sends is ignored; over UDP it asks for a datagram.
				return fmt.Sprintf("chargen request %d B", len(p))
			}
			return fmt.Sprintf("chargen %d B %s", len(p), proto.Quote(p, 20))
		},
	})
}
