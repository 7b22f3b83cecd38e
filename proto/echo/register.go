package echo

import (
	"bytes"
	"fmt"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "echo", WellKnown: Port, Local: 8001,
		Service: func(proto.Runtime) server.Service { return Service() },
		Client:  client,
		Bench: &proto.Bench{Mode: proto.BenchEcho, Check: func(sent, reply []byte) error {
			if !bytes.Equal(reply, sent) {
				return ErrMismatch
			}
			return nil
		}},
		Describe: func(p []byte, request bool) string {
			if request {
				return fmt.Sprintf("echo %d B %s", len(p), proto.Quote(p, 40))
			}
			return fmt.Sprintf("echo reply %d B %s", len(p), proto.Quote(p, 40))
		},
	})
}
