package packet

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/sockit/sockit"
)

// socketError explains a failed socket(AF_PACKET).
func socketError(err error) error {
	if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
		return fmt.Errorf("%w: socket(AF_PACKET) failed with %s", ErrPermission, sockit.ErrnoString(err))
	}
	return fmt.Errorf("socket(AF_PACKET): %s", sockit.ErrnoString(err))
}

// Capture reads frames from one interface through a TPACKET_V3 ring: the
// kernel writes frames into memory both sides share, and a read walks them
// without a system call per frame.
type Capture struct {
	fd     int
	file   *os.File // fd on the runtime poller: waits park a goroutine, not a thread
	rc     syscall.RawConn
	ring   []byte
	bs     int
	blocks int

	cur     int    // block being read
	left    int    // frames left in it
	off     int    // offset of the next frame in it
	held    bool   // cur belongs to us until we return it
	scratch []byte // for frames whose VLAN tag the kernel took off
	stop    func() bool
	ready   func(uintptr) bool // readyBlock, as one value: waits allocate nothing
	tov     time.Duration      // the kernel's block timeout
	drainTo atomic.Int64       // once the context ends: when the last block is in (UnixNano)
	closed  atomic.Bool

	mu    sync.Mutex
	stats Stats
}

// Supported returns nil: Linux has AF_PACKET sockets.
func Supported() error { return nil }

// linkName names an interface's link layer (ARPHRD_*, from sysfs).
func linkName(ifi net.Interface) string {
	t, err := LinkTypeOf(ifi.Name)
	if err != nil {
		return "unknown"
	}
	switch t {
	case unix.ARPHRD_ETHER:
		return "ether"
	case unix.ARPHRD_LOOPBACK:
		return "loopback"
	case unix.ARPHRD_NONE:
		return "none"
	}
	return "arphrd " + strconv.Itoa(t)
}

// linkFamilies are the families every interface carries: AF_PACKET.
func linkFamilies() []string { return []string{"packet"} }

// LinkTypeOf reports whether an interface carries Ethernet headers (real
// Ethernet, veth, bridges, and loopback, whose headers are zero).
func LinkTypeOf(iface string) (int, error) {
	b, err := os.ReadFile("/sys/class/net/" + iface + "/type")
	if err != nil {
		return 0, fmt.Errorf("interface %q: %w", iface, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Open starts capturing on iface. Only frames the filter accepts (nil:
// all) are copied into the ring. The capture ends when ctx does; the
// caller closes it.
func Open(ctx context.Context, iface string, f *Filter, opt Options) (*Capture, error) {
	ifi, err := net.InterfaceByName(iface)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", iface, err)
	}
	link, err := LinkTypeOf(iface)
	if err == nil && link != unix.ARPHRD_ETHER && link != unix.ARPHRD_LOOPBACK {
		return nil, fmt.Errorf("interface %s: link type %d is not Ethernet (sockit decodes and filters Ethernet frames)", iface, link)
	}
	if opt.BlockSize == 0 {
		opt.BlockSize = 128 << 10
	}
	if opt.Blocks == 0 {
		opt.Blocks = 128
	}
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Millisecond
	}
	// Protocol 0: no frame arrives before the filter and the ring are in
	// place and bind names the protocol.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, socketError(err)
	}
	c := &Capture{fd: fd, bs: opt.BlockSize, blocks: opt.Blocks, tov: time.Duration(max(1, opt.Timeout.Milliseconds())) * time.Millisecond}
	fail := func(what string, err error) (*Capture, error) {
		c.release()
		return nil, fmt.Errorf("%s: %s", what, sockit.ErrnoString(err))
	}
	if f != nil {
		raw := f.Raw()
		prog := unix.SockFprog{Len: uint16(len(raw)), Filter: (*unix.SockFilter)(unsafe.Pointer(&raw[0]))}
		if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &prog); err != nil {
			return fail("SO_ATTACH_FILTER", err)
		}
	}
	if link == unix.ARPHRD_LOOPBACK {
		// On loopback every frame leaves and comes back; like tcpdump,
		// show it once, as it arrives.
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
			return fail("PACKET_IGNORE_OUTGOING", err)
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_VERSION, unix.TPACKET_V3); err != nil {
		return fail("PACKET_VERSION TPACKET_V3", err)
	}
	const frameSize = 2048 // V3 packs frames of any size; this only sizes the request
	req := unix.TpacketReq3{
		Block_size:     uint32(opt.BlockSize),
		Block_nr:       uint32(opt.Blocks),
		Frame_size:     frameSize,
		Frame_nr:       uint32(opt.BlockSize / frameSize * opt.Blocks),
		Retire_blk_tov: uint32(max(1, opt.Timeout.Milliseconds())),
	}
	if err := unix.SetsockoptTpacketReq3(fd, unix.SOL_PACKET, unix.PACKET_RX_RING, &req); err != nil {
		return fail("PACKET_RX_RING", err)
	}
	c.ring, err = unix.Mmap(fd, 0, opt.BlockSize*opt.Blocks, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return fail("mmap of the ring", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}); err != nil {
		return fail("bind to "+iface, err)
	}
	c.file = os.NewFile(uintptr(fd), "packet:"+iface)
	if c.rc, err = c.file.SyscallConn(); err != nil {
		return fail("poller", err)
	}
	c.ready = c.readyBlock
	c.stop = context.AfterFunc(ctx, c.interrupt)
	return c, nil
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// interrupt lets Next wait for the block the kernel has not handed over
// yet — it does when its timer fires (twice that, to be sure) — and then
// end: ^C loses nothing already captured.
func (c *Capture) interrupt() {
	end := time.Now().Add(2*c.tov + time.Millisecond)
	c.drainTo.Store(end.UnixNano())
	_ = c.file.SetReadDeadline(end)
}

// blockStatus is the first word of a block's TPACKET_V3 header.
func (c *Capture) blockStatus(b int) *uint32 {
	return (*uint32)(unsafe.Pointer(&c.ring[b*c.bs+8]))
}

// Next returns the next frame. Its Data is valid until the next call; copy
// it to keep it. Next returns context.Canceled (or the context's error)
// once the capture's context ends.
func (c *Capture) Next(ctx context.Context) (Frame, error) {
	if c.left == 0 {
		if err := c.fill(ctx); err != nil {
			return Frame{}, err
		}
	}
	h, data, length := frameAt(c.ring, c.off, &c.scratch)
	fr := Frame{Time: time.Unix(int64(h.Sec), int64(h.Nsec)), Length: length, Data: data}
	c.left--
	if c.left > 0 {
		c.off += int(h.Next_offset)
	}
	return fr, nil
}

// WriteFile writes frames to w as they come, without a Frame or a
// time.Time each: a ring block's records are appended to w's buffer in one
// loop (tcpdump -w's path). It stops after limit frames (0: no limit) or
// with the context's error once the capture's context ends, and returns
// how many frames it wrote. The caller flushes w.
func (c *Capture) WriteFile(ctx context.Context, w *FileWriter, limit int) (int, error) {
	n := 0
	for limit <= 0 || n < limit {
		if c.left == 0 {
			if err := c.fill(ctx); err != nil {
				return n, err
			}
		}
		k := c.left
		if limit > 0 {
			k = min(k, limit-n)
		}
		off, done, err := w.writeFrames(c.ring, c.off, k, &c.scratch)
		c.left -= done
		n += done
		if c.left > 0 {
			c.off = off
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// fill waits until the kernel hands the next block over, returning the
// one read to it, and points left and off at its frames.
func (c *Capture) fill(ctx context.Context) error {
	for c.left == 0 {
		if c.held {
			// Hand the block back to the kernel and move on.
			atomic.StoreUint32(c.blockStatus(c.cur), unix.TP_STATUS_KERNEL)
			c.held = false
			c.cur = (c.cur + 1) % c.blocks
		}
		if err := ctx.Err(); err != nil {
			if d := c.drainTo.Load(); d != 0 && time.Now().UnixNano() >= d {
				return err
			}
		}
		if atomic.LoadUint32(c.blockStatus(c.cur))&unix.TP_STATUS_USER == 0 {
			// The kernel signals the socket readable when it hands a block
			// over; wait on the runtime poller until then.
			err := c.rc.Read(c.ready)
			if err != nil {
				if errors.Is(err, os.ErrDeadlineExceeded) && ctx.Err() != nil {
					return ctx.Err()
				}
				return fmt.Errorf("waiting for frames: %w", err)
			}
			continue
		}
		base := c.cur * c.bs
		c.held = true
		c.left = int(*(*uint32)(unsafe.Pointer(&c.ring[base+12])))
		c.off = base + int(*(*uint32)(unsafe.Pointer(&c.ring[base+16])))
	}
	return nil
}

// readyBlock is rc.Read's test: has the kernel handed the block over?
func (c *Capture) readyBlock(uintptr) bool {
	return atomic.LoadUint32(c.blockStatus(c.cur))&unix.TP_STATUS_USER != 0
}

// frameAt reads the frame whose TPACKET_V3 header is at off in ring: the
// header, the bytes kept and the frame's length on the wire. When the
// kernel took a VLAN tag off, it puts the tag back where it was on the
// wire, as libpcap does, into *scratch.
func frameAt(ring []byte, off int, scratch *[]byte) (*unix.Tpacket3Hdr, []byte, int) {
	h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&ring[off]))
	data := ring[off+int(h.Mac) : off+int(h.Mac)+int(h.Snaplen)]
	length := int(h.Len)
	if h.Status&unix.TP_STATUS_VLAN_VALID != 0 && len(data) >= 12 {
		tpid := uint16(0x8100)
		if h.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
			tpid = h.Hv1.Vlan_tpid
		}
		tci := uint16(h.Hv1.Vlan_tci)
		*scratch = append(append(append((*scratch)[:0], data[:12]...), byte(tpid>>8), byte(tpid), byte(tci>>8), byte(tci)), data[12:]...)
		data = *scratch
		length += 4
	}
	return h, data, length
}

// writeFrames appends k frames of a ring block to w, the first one's
// header at off. It returns where the frame after them starts and how
// many it wrote.
func (w *FileWriter) writeFrames(ring []byte, off, k int, scratch *[]byte) (next, done int, err error) {
	for done < k {
		h, data, length := frameAt(ring, off, scratch)
		if err := w.record(h.Sec, h.Nsec/1000, data, length); err != nil {
			return off, done, err
		}
		off += int(h.Next_offset)
		done++
	}
	return off, done, nil
}

// Stats returns the kernel's counts since the capture opened.
func (c *Capture) Stats() (Stats, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, err := unix.GetsockoptTpacketStatsV3(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return c.stats, fmt.Errorf("PACKET_STATISTICS: %w", err)
	}
	// The kernel resets its counters on every read; keep the sums.
	c.stats.Received += uint64(st.Packets)
	c.stats.Dropped += uint64(st.Drops)
	return c.stats, nil
}

// Close releases the socket and the ring. Call it once Next has returned.
func (c *Capture) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Swap(true) {
		return nil
	}
	if c.stop != nil {
		c.stop()
	}
	c.release()
	return nil
}

func (c *Capture) release() {
	if c.file != nil {
		_ = c.file.Close()
	} else {
		unix.Close(c.fd)
	}
	if c.ring != nil {
		_ = unix.Munmap(c.ring)
		c.ring = nil
	}
}

// Buffered is how many frames the block being read still holds: zero means
// the next Next may wait.
func (c *Capture) Buffered() int { return c.left }
