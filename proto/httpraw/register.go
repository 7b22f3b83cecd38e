package httpraw

import (
	"fmt"
	"os"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

// http registers the responder; its clients (get, head) and its load
// (bench's http:// targets) are the HTTP-specific ones of cmd/sockit and
// bench. `sockit packet` recognises HTTP by its first line, on any port.
func init() {
	proto.Register(proto.Protocol{
		Name: "http", WellKnown: 80, Local: 8080, StreamOnly: true,
		Service: func(rt proto.Runtime) server.Service {
			root, _ := rt.Value(rootKey).(*os.Root)
			return Service(&Responder{Root: root, Now: rt.Now, Statuses: rt.Statuses, AccessLog: rt.AccessLog})
		},
		Options: []proto.Option{{
			Key:   rootKey,
			Usage: `serve the files under DIR ("/" is its index.html, else the brief's page)`,
			Parse: func(dir string) (any, func(), error) {
				if dir == "" {
					return nil, nil, nil // the built-in page only
				}
				if st, err := os.Stat(dir); err != nil {
					return nil, nil, err
				} else if !st.IsDir() {
					return nil, nil, fmt.Errorf("%s is not a directory", dir)
				}
				root, err := os.OpenRoot(dir)
				if err != nil {
					return nil, nil, err
				}
				return root, func() { root.Close() }, nil
			},
		}},
	})
}

// rootKey is the option of Responder.Root: `serve --http-root DIR`, the
// config file's http_root.
const rootKey = "http_root"
