// Command udpflood sends 64-byte datagrams as fast as it can from S
// sockets for D, open loop, and counts the replies; it prints
// "sent N replies M seconds T". Loopback only.
//
// Sending is cheap, so that one core can flood a server that has a core of
// its own: each sendmmsg (golang.org/x/net/ipv4) carries 8 messages of 64
// datagrams each, a message leaving as one packet that the kernel splits
// (UDP_SEGMENT, generic segmentation offload; -gso=false sends datagram by
// datagram). The server still receives ordinary datagrams. Replies are
// counted with recvmmsg, 64 at a time, into a 4 MiB receive buffer, and
// without UDP_GRO, so they arrive one datagram at a time whatever the
// server sent, and are counted rather than dropped at this client's own
// socket: the figure measures the server.
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
	"unsafe"

	"golang.org/x/net/ipv4"
)

const batch = 64

func main() {
	addr := flag.String("addr", "127.0.0.1:9000", "server address")
	senders := flag.Int("s", 4, "sending sockets")
	dur := flag.Duration("d", 5*time.Second, "duration")
	size := flag.Int("size", 64, "datagram bytes")
	gso := flag.Bool("gso", true, "send 64 datagrams per packet with UDP_SEGMENT")
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
			perMsg, msgs := 1, make([]ipv4.Message, batch)
			payload := make([]byte, *size)
			if *gso {
				perMsg, msgs = batch, make([]ipv4.Message, 8)
				payload = make([]byte, *size*batch)
			}
			for i := range msgs {
				msgs[i].Buffers = [][]byte{payload}
				if *gso {
					msgs[i].OOB = segmentCmsg(*size)
				}
			}
			for time.Now().Before(stop) {
				n, err := pc.WriteBatch(msgs, 0)
				if err == nil {
					sent.Add(int64(n * perMsg))
				} else if *gso && n == 0 {
					log.Fatalf("sending with UDP_SEGMENT: %v (try -gso=false)", err)
				}
			}
		}()
	}
	wg.Wait()
	fmt.Printf("sent %d replies %d seconds %.2f\n", sent.Load(), replies.Load(), dur.Seconds())
}

// segmentCmsg is a UDP_SEGMENT control message: split into size-byte datagrams.
func segmentCmsg(size int) []byte {
	b := make([]byte, syscall.CmsgSpace(2))
	h := (*syscall.Cmsghdr)(unsafe.Pointer(&b[0]))
	h.Level, h.Type = syscall.IPPROTO_UDP, udpSegment
	h.SetLen(syscall.CmsgLen(2))
	*(*uint16)(unsafe.Pointer(&b[syscall.CmsgLen(0)])) = uint16(size)
	return b
}

const udpSegment = 103 // UDP_SEGMENT, linux/udp.h

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
