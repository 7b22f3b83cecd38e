// Command gnetecho is a benchmark-only peer: gnet v2's echo server, TCP
// and UDP, multicore, as gnet's own examples write it.
package main

import (
	"flag"
	"log"

	"github.com/panjf2000/gnet/v2"
)

type echo struct{ gnet.BuiltinEventEngine }

func (*echo) OnTraffic(c gnet.Conn) gnet.Action {
	buf, _ := c.Next(-1)
	c.Write(buf)
	return gnet.None
}

func main() {
	addr := flag.String("addr", "tcp://127.0.0.1:9000", "listen address (tcp:// or udp://)")
	flag.Parse()
	log.Fatal(gnet.Run(&echo{}, *addr, gnet.WithMulticore(true), gnet.WithReusePort(true)))
}
