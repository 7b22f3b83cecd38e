// Command goecho is a benchmark-only peer: the plain Go echo server, a
// goroutine per TCP connection and a ReadFrom/WriteTo loop for UDP.
package main

import (
	"flag"
	"io"
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
			defer c.Close()
			io.Copy(c, c)
		}()
	}
}
