package chargen_test

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/chargen"
	"github.com/sockit/sockit/server"
)

// A chargen server streams RFC 864's rotating pattern for as long as the
// client reads; Receive reads two lines and checks every character.
func Example() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	srv := server.New(server.Config{})
	done := make(chan struct{})
	go func() { defer close(done); srv.ServeStream(ln, chargen.Service()) }()

	e := sockit.Endpoint{Network: "tcp", Address: ln.Addr().String()}
	n, err := chargen.Receive(context.Background(), &sockit.Dialer{}, e, 2*74, nil)
	fmt.Println(n, err)
	// The lines it checked (they end in CR LF):
	fmt.Print(strings.ReplaceAll(string(chargen.Append(nil, 0, 2*74)), "\r\n", "\n"))

	srv.Shutdown(context.Background())
	<-done
	// Output:
	// 148 <nil>
	//  !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefg
	// !"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\]^_`abcdefgh
}
