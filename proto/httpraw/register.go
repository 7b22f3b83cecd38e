package httpraw

import (
	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

// http registers the responder; its clients (get, head) and its load
// (bench's http:// targets) are the HTTP-specific ones of cmd/sockit and
// bench.
func init() {
	proto.Register(proto.Protocol{
		Name: "http", WellKnown: 80, Local: 8080, StreamOnly: true,
		Service: func(opt proto.Options) server.Service {
			return Service(&Responder{Root: opt.HTTPRoot, Now: opt.Now, Statuses: opt.Statuses, AccessLog: opt.AccessLog})
		},
	})
}
