// Command udpflood sends 64-byte datagrams as fast as it can from S
// sockets for D, open loop, and counts the replies; it prints
// "sent N replies M seconds T". Loopback only.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "server address")
	senders := flag.Int("s", 4, "sending sockets")
	dur := flag.Duration("d", 5*time.Second, "duration")
	size := flag.Int("size", 64, "datagram bytes")
	flag.Parse()
	if ip := net.ParseIP((func() string { h, _, _ := net.SplitHostPort(*addr); return h })()); ip == nil || !ip.IsLoopback() {
		log.Fatal("udpflood targets loopback only")
	}
	var sent, replies atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(*dur)
	for range *senders {
		c, err := net.Dial("udp", *addr)
		if err != nil {
			log.Fatal(err)
		}
		wg.Add(2)
		go func() {
			defer wg.Done()
			buf := make([]byte, 65536)
			for {
				c.SetReadDeadline(stop.Add(200 * time.Millisecond))
				if _, err := c.Read(buf); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						return
					}
					continue
				}
				replies.Add(1)
			}
		}()
		go func() {
			defer wg.Done()
			msg := make([]byte, *size)
			for time.Now().Before(stop) {
				for range 64 {
					if _, err := c.Write(msg); err == nil {
						sent.Add(1)
					}
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("sent %d replies %d seconds %.2f\n", sent.Load(), replies.Load(), dur.Seconds())
}
