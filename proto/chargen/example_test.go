package chargen_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/chargen"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// A chargen server streams RFC 864's rotating pattern for as long as the
// client reads; Receive reads two lines and checks every character.
func Example() {
	srv := server.New(server.Config{})
	addr, stop := sockittest.Start(srv, "tcp", chargen.Service())
	defer stop()

	e := sockit.Endpoint{Network: "tcp", Address: addr.String()}
	n, err := chargen.Receive(context.Background(), &sockit.Dialer{}, e, 2*74, nil)
	fmt.Println(n, err)
	// The lines it checked (they end in CR LF):
	fmt.Print(strings.ReplaceAll(string(chargen.Append(nil, 0, 2*74)), "\r\n", "\n"))

	// Output:
	// 148 <nil>
	//  !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefg
	// !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefgh
}
