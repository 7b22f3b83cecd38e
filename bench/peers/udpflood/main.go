// Command udpflood sends 64-byte datagrams as fast as it can from S
// sockets for D, open loop, and counts the replies; it prints
// "sent N replies M seconds T". Loopback only.
//
// Sending and counting both move 64 datagrams per system call (sendmmsg
// and recvmmsg through golang.org/x/net/ipv4), and each socket asks for a
// 4 MiB receive buffer, so the replies the server sends are counted rather
// than dropped at this client's own socket: the figure measures the server.
package main

import (
	"flag"
	"fmt"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/ipv4"
)

const batch = 64

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
		bigRcvbuf(c.(*net.UDPConn))
		pc := ipv4.NewPacketConn(c.(*net.UDPConn))
		wg.Add(2)
		go func() {
			defer wg.Done()
			msgs := make([]ipv4.Message, batch)
			for i := range msgs {
				msgs[i].Buffers = [][]byte{make([]byte, 65536)}
			}
			for {
				c.SetReadDeadline(stop.Add(200 * time.Millisecond))
				n, err := pc.ReadBatch(msgs, 0)
				if err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						return
					}
					continue
				}
				replies.Add(int64(n))
			}
		}()
		go func() {
			defer wg.Done()
			msgs := make([]ipv4.Message, batch)
			payload := make([]byte, *size)
			for i := range msgs {
				msgs[i].Buffers = [][]byte{payload}
			}
			for time.Now().Before(stop) {
				if n, err := pc.WriteBatch(msgs, 0); err == nil {
					sent.Add(int64(n))
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("sent %d replies %d seconds %.2f\n", sent.Load(), replies.Load(), dur.Seconds())
}

// bigRcvbuf asks for a 4 MiB receive buffer, past rmem_max when root.
func bigRcvbuf(c *net.UDPConn) {
	rc, err := c.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, 4<<20) != nil {
			c.SetReadBuffer(4 << 20)
		}
	})
}
