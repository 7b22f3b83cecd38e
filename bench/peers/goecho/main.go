// Command goecho is a benchmark-only peer: the plain Go echo server, a
// goroutine per TCP connection and a ReadFrom/WriteTo loop for UDP.
package main

import (
	"flag"
	"log"
	"net"
)

func main() {
	tcp := flag.String("tcp", "127.0.0.1:9001", "TCP address")
	udp := flag.String("udp", "127.0.0.1:9001", "UDP address")
	flag.Parse()
	pc, err := net.ListenPacket("udp", *udp)
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			pc.WriteTo(buf[:n], from)
		}
	}()
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
