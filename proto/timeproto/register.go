package timeproto

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

func init() {
	proto.Register(proto.Protocol{
		Name: "time", WellKnown: Port, Local: 8037,
		Service: func(rt proto.Runtime) server.Service { return Service(rt.Now) },
		Client:  client,
		Bench: &proto.Bench{Mode: proto.BenchOneShot, Check: func(_, reply []byte) error {
			if len(reply) != 4 {
				return fmt.Errorf("%w: %d bytes, want 4", proto.ErrLength, len(reply))
			}
			return nil
		}},
		Describe: func(p []byte, request bool) string {
			if request || len(p) < 4 {
				return proto.Protocol{Name: "time"}.Summary(p, request)
			}
			return "time " + Decode(binary.BigEndian.Uint32(p)).UTC().Format(time.RFC3339)
		},
	})
}
