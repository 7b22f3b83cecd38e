package packet

import (
	"errors"
	"time"
)

// ErrLinuxOnly is what capturing or sending frames gives outside Linux:
// both use AF_PACKET sockets, which only Linux has. Reading, filtering and
// decoding pcap files works everywhere.
var ErrLinuxOnly = errors.New("capturing and sending frames use AF_PACKET sockets, which only Linux has; " +
	"on macOS and the BSDs capture with tcpdump -w FILE (libpcap, over the BPF devices /dev/bpf*), " +
	"then read FILE with sockit packet read")

// ErrPermission is wrapped when the kernel refuses a packet socket: opening
// one takes root or CAP_NET_RAW.
var ErrPermission = errors.New("packet sockets need root or the CAP_NET_RAW capability")

// Options shape a capture's ring. The zero value works.
type Options struct {
	// BlockSize is the size of one ring block; zero means 128 KiB. It must
	// be a multiple of the page size and hold the largest frame (64 KiB on
	// loopback). The kernel hands a block over when it is full or its
	// Timeout passes, part full, so under a steady flow small blocks waste
	// less of the ring.
	BlockSize int
	// Blocks is how many blocks the ring has; zero means 128 (16 MiB).
	Blocks int
	// Timeout is how long the kernel fills a block before handing it over
	// part full; zero means 10 ms (what a person watching waits at most).
	Timeout time.Duration
}

// Stats are the kernel's counts for a capture (PACKET_STATISTICS).
type Stats struct {
	// Received counts frames that passed the filter, dropped ones included,
	// as tcpdump's "received by filter".
	Received uint64
	// Dropped counts frames the ring had no room for.
	Dropped uint64
}
