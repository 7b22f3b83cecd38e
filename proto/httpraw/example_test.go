package httpraw_test

import (
	"fmt"

	"github.com/sockit/sockit/proto/httpraw"
)

// ExampleFramer feeds a chunked response to the framer in two pieces, as
// two reads from a socket might deliver it, and prints its events.
func ExampleFramer() {
	var f httpraw.Framer
	pieces := []string{
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
		"lo\r\n0\r\n\r\n",
	}
	var pending []byte
	for _, piece := range pieces {
		pending = append(pending, piece...)
		for {
			ev, n := f.Next(pending)
			switch ev {
			case httpraw.StartLine:
				fmt.Println("status", f.Status())
			case httpraw.FieldLine:
				fmt.Printf("field %s: %s\n", f.Name(), f.Value())
			case httpraw.HeadEnd:
				fmt.Println("body framed by", f.Framing())
			case httpraw.BodyData:
				fmt.Printf("body %q\n", f.Data())
			case httpraw.MessageEnd:
				fmt.Println("end, keep-alive:", f.KeepAlive())
			}
			pending = pending[n:]
			if ev == httpraw.NeedMore || ev == httpraw.Failed {
				break
			}
		}
	}
	// Output:
	// status 200
	// field Transfer-Encoding: chunked
	// body framed by chunked
	// body "hel"
	// body "lo"
	// end, keep-alive: true
}
