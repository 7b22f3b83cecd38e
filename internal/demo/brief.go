package demo

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
)

// briefEcho is the brief's asyncio server (its "Asynchronous server
// example") in Go, so that the demo can run the brief's own benchmark
// against it offline, python3 or not: on localhost, at a port the kernel
// picks (both 127.0.0.1 and ::1 where it can, as asyncio's start_server
// binds every address of localhost), it reads up to 1024 bytes of each
// connection, writes them back and closes. The tests run the real Python
// program (sockittest.BriefAsyncioServer).
type briefEcho struct {
	lns []net.Listener
	wg  sync.WaitGroup
}

// startBriefEcho starts the server; Addr is "localhost:PORT".
func startBriefEcho() (*briefEcho, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	b := &briefEcho{lns: []net.Listener{ln}}
	if ln6, err := net.Listen("tcp", net.JoinHostPort("::1", b.port())); err == nil {
		b.lns = append(b.lns, ln6)
	}
	for _, ln := range b.lns {
		b.wg.Go(func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				b.wg.Go(func() {
					defer c.Close()
					buf := make([]byte, 1024)
					n, err := c.Read(buf) // reader.read(1024)
					if err != nil && !errors.Is(err, io.EOF) {
						return
					}
					c.Write(buf[:n]) // writer.write(data); writer.close()
				})
			}
		})
	}
	return b, nil
}

func (b *briefEcho) port() string {
	_, p, _ := strings.Cut(b.lns[0].Addr().String(), "127.0.0.1:")
	return p
}

// Addr is where the brief's command points: localhost and the port.
func (b *briefEcho) Addr() string { return net.JoinHostPort("localhost", b.port()) }

// Close stops accepting and waits for the connections in hand.
func (b *briefEcho) Close() {
	for _, ln := range b.lns {
		ln.Close()
	}
	b.wg.Wait()
}
