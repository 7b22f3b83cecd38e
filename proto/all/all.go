// Package all registers every protocol sockit ships (import it for its
// side effect): what `sockit serve`, the clients, demo and bench offer.
package all

import (
	_ "github.com/sockit/sockit/proto/chargen"
	_ "github.com/sockit/sockit/proto/daytime"
	_ "github.com/sockit/sockit/proto/discard"
	_ "github.com/sockit/sockit/proto/echo"
	_ "github.com/sockit/sockit/proto/httpraw"
	_ "github.com/sockit/sockit/proto/qotd"
	_ "github.com/sockit/sockit/proto/timeproto"
)
