// Command goecho is a benchmark-only peer: the plain Go echo server, a
// goroutine per TCP connection and a ReadFrom/WriteTo loop for UDP, and
// with -qotd the same plain UDP loop answering each datagram with one of
// sockit's embedded quotes (RFC 865), so both QOTD servers send the same
// replies.
package main

import (
	"flag"
	"log"
	"math/rand/v2"
	"net"

	"github.com/sockit/sockit/proto/qotd"
)

func main() {
	tcp := flag.String("tcp", "127.0.0.1:9001", "TCP address")
	udp := flag.String("udp", "127.0.0.1:9001", "UDP address")
	qotdAddr := flag.String("qotd", "", "also serve QOTD over UDP on this address")
	flag.Parse()
	if *qotdAddr != "" {
		quotes := qotd.Default()
		go serveUDP(*qotdAddr, func([]byte) []byte { return []byte(quotes[rand.IntN(len(quotes))]) })
	}
	go serveUDP(*udp, func(in []byte) []byte { return in })
	ln, err := net.Listen("tcp", *tcp)
	if err != nil {
		log.Fatal(err)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			log.Fatal(err)
		}
		go func() {
			// A plain loop, not io.Copy: on TCP that splices through a
			// pipe and holds two more descriptors per connection.
			defer c.Close()
			buf := make([]byte, 4096)
			for {
				n, err := c.Read(buf)
				if n > 0 {
					if _, werr := c.Write(buf[:n]); werr != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// serveUDP is the plain loop: ReadFrom, then WriteTo the reply.
func serveUDP(addr string, reply func(in []byte) []byte) {
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		log.Fatal(err)
	}
	buf := make([]byte, 65536)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		pc.WriteTo(reply(buf[:n]), from)
	}
}
