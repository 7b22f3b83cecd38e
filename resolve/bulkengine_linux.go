package resolve

import (
	"context"
	"encoding/binary"
	"fmt"
	"iter"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/rawsys"
)

const (
	// bulkSockets spreads the queries over source ports, which servers
	// with SO_REUSEPORT workers hash on; one engine goroutine serves them.
	bulkSockets = 4
	sendBatch   = 64
	recvBatch   = 64
	replySize   = 4096 // larger than the EDNS size we announce
	ednsSize    = 1232 // the DNS flag day's safe UDP payload size
	maxQuery    = 12 + 255 + 4 + 11
	maxHops     = 8
	tcpWorkers  = 8
)

type slotState uint8

const (
	slotFree   slotState = iota
	slotActive           // sent or queued to send over UDP
	slotTCP              // being asked over TCP
)

type bulkSlot struct {
	state  slotState
	queued bool // in its socket's send queue
	linked bool // in the deadline list
	id     uint16
	qtype  uint16
	entry  int32
	tries  int
	hops   int
	prev   int32
	next   int32
	due    int64 // deadline, ns since the engine started
	qend   int   // end of the question in pkt
	plen   int
	pkt    [maxQuery]byte
}

type bulkEntry struct {
	name    string
	pending int
	done    bool
	addrs   []netip.Addr
	names   []string
	failed  error
}

type tcpReply struct {
	slot int32
	msg  []byte
	err  error
}

type bulkEngine struct {
	r       *Resolver
	opt     BulkOptions
	emit    func(Result) error
	server  string // host:port for messages and TCP
	timeout time.Duration
	retries int
	qtypes  []uint16
	start   time.Time

	fds   []int
	evmu  sync.Mutex // guards evfd between wake and close
	evfd  int
	byID  [][]int32
	sendq [][]int32
	stuck []bool // the last send found the buffer full

	slots     []bulkSlot
	freeSlots []int32
	first     int32 // deadline list, oldest first
	last      int32

	entries     []bulkEntry
	freeEntries []int32
	order       []int32 // ring of entries in input order (ordered mode)
	ohead       int
	ocount      int
	busy        int  // entries taken and not yet emitted
	exhausted   bool // the input has ended

	interval int64 // ns between sends with Rate
	nextSend int64

	tcpCtx    context.Context
	tcpDone   chan tcpReply
	tcpActive int
	tcpWait   []int32
	wg        sync.WaitGroup

	gso   bool // UDP_SEGMENT until the kernel refuses it
	out   *rawsys.SendBatch
	sent  [sendBatch]int32 // the slots of the queries in out, in order
	in    *rawsys.RecvBatch
	pfds  []unix.PollFd
	evbuf [8]byte
	fqdn  []byte // the name being packed, with its root dot
}

// bulk runs the bulk engine over names.
func (r *Resolver) bulk(ctx context.Context, names iter.Seq[string], opt BulkOptions, emit func(Result) error) error {
	e, err := newBulkEngine(ctx, r, opt, emit)
	if err != nil {
		return err
	}
	defer e.close()
	stop := context.AfterFunc(ctx, e.wake)
	defer stop()
	return e.run(ctx, names)
}

func newBulkEngine(ctx context.Context, r *Resolver, opt BulkOptions, emit func(Result) error) (*bulkEngine, error) {
	if opt.Window <= 0 {
		opt.Window = 256
	}
	opt.Window = min(opt.Window, 65535)
	e := &bulkEngine{r: r, opt: opt, emit: emit, server: r.server(), timeout: r.Timeout, start: time.Now(),
		first: -1, last: -1, evfd: -1, gso: true, tcpDone: make(chan tcpReply, tcpWorkers), tcpCtx: ctx}
	e.fds = make([]int, bulkSockets)
	for i := range e.fds {
		e.fds[i] = -1
	}
	e.byID = make([][]int32, len(e.fds))
	e.sendq = make([][]int32, len(e.fds))
	e.stuck = make([]bool, len(e.fds))
	if e.timeout <= 0 {
		e.timeout = 5 * time.Second
	}
	switch {
	case opt.Retries == 0:
		e.retries = 2
	case opt.Retries > 0:
		e.retries = opt.Retries
	}
	switch {
	case opt.Reverse:
		e.qtypes = []uint16{dns.TypePTR}
	case r.Family == 4:
		e.qtypes = []uint16{dns.TypeA}
	case r.Family == 6:
		e.qtypes = []uint16{dns.TypeAAAA}
	default:
		e.qtypes = []uint16{dns.TypeA, dns.TypeAAAA}
	}
	if opt.Rate > 0 {
		e.interval = int64(float64(time.Second) / opt.Rate)
	}
	if err := e.open(ctx); err != nil {
		e.close()
		return nil, err
	}
	e.slots = make([]bulkSlot, opt.Window)
	for i := len(e.slots) - 1; i >= 0; i-- {
		e.freeSlots = append(e.freeSlots, int32(i))
	}
	n := opt.Window + 64
	if !opt.Unordered {
		n = min(max(8*opt.Window, 4096), 1<<18)
		e.order = make([]int32, n)
	}
	e.entries = make([]bulkEntry, n)
	for i := n - 1; i >= 0; i-- {
		e.freeEntries = append(e.freeEntries, int32(i))
	}
	e.in = rawsys.NewRecvBatch(recvBatch, replySize, false)
	e.out = rawsys.NewSendBatch(sendBatch)
	return e, nil
}

// open resolves the server's address once and connects the sockets to it.
func (e *bulkEngine) open(ctx context.Context) error {
	host, port, err := net.SplitHostPort(e.server)
	if err != nil {
		return err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		ips, lerr := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if lerr == nil && len(ips) == 0 {
			lerr = ErrNotFound
		}
		if lerr != nil {
			return fmt.Errorf("resolve: server %s: %w", e.server, lerr)
		}
		ip = ips[0].Unmap()
	}
	p, err := net.LookupPort("udp", port)
	if err != nil {
		return err
	}
	e.server = net.JoinHostPort(ip.String(), fmt.Sprint(p))
	var sa unix.Sockaddr
	family := unix.AF_INET6
	if ip.Is4() {
		family = unix.AF_INET
		sa = &unix.SockaddrInet4{Port: p, Addr: ip.As4()}
	} else {
		sa6 := &unix.SockaddrInet6{Port: p, Addr: ip.As16()}
		if zone := ip.Zone(); zone != "" { // fe80::1%eth0
			if ifi, err := net.InterfaceByName(zone); err == nil {
				sa6.ZoneId = uint32(ifi.Index)
			} else if n, err := strconv.ParseUint(zone, 10, 32); err == nil {
				sa6.ZoneId = uint32(n)
			}
		}
		sa = sa6
	}
	e.evfd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		return fmt.Errorf("resolve: eventfd: %w", err)
	}
	for i := range e.fds {
		fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("resolve: socket: %w", err)
		}
		e.fds[i] = fd
		// Room for a whole window of answers arriving at once; the kernel
		// caps it at net.core.rmem_max.
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 4<<20)
		if err := unix.Connect(fd, sa); err != nil {
			return &net.OpError{Op: "dial", Net: "udp", Addr: net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, uint16(p))), Err: err}
		}
		e.byID[i] = make([]int32, 1<<16)
		for j := range e.byID[i] {
			e.byID[i][j] = -1
		}
		e.pfds = append(e.pfds, unix.PollFd{Fd: int32(fd)})
	}
	e.pfds = append(e.pfds, unix.PollFd{Fd: int32(e.evfd), Events: unix.POLLIN})
	return nil
}

func (e *bulkEngine) close() {
	for _, fd := range e.fds {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	e.wg.Wait() // TCP exchanges end with the context or their timeout
	e.evmu.Lock()
	defer e.evmu.Unlock()
	if e.evfd >= 0 {
		unix.Close(e.evfd)
		e.evfd = -1
	}
}

// wake interrupts ppoll: the context ended or a TCP exchange finished.
func (e *bulkEngine) wake() {
	var one [8]byte
	binary.NativeEndian.PutUint64(one[:], 1)
	e.evmu.Lock()
	defer e.evmu.Unlock()
	if e.evfd >= 0 {
		unix.Write(e.evfd, one[:])
	}
}

func (e *bulkEngine) now() int64 { return int64(time.Since(e.start)) }

func (e *bulkEngine) run(ctx context.Context, names iter.Seq[string]) error {
	next, stop := iter.Pull(names)
	defer stop()
	tcpCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	e.tcpCtx = tcpCtx
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		now := e.now()
		if err := e.expire(now); err != nil {
			return err
		}
		if err := e.intake(next); err != nil {
			return err
		}
		if err := e.send(now); err != nil {
			return err
		}
		if err := e.flushOrdered(); err != nil {
			return err
		}
		if e.exhausted && e.busy == 0 {
			return nil
		}
		if err := e.poll(now); err != nil {
			return err
		}
		if err := e.receive(); err != nil {
			return err
		}
	}
}

// poll sleeps until an answer arrives, a deadline passes, the rate lets
// the next query out, or wake is called; it does not sleep when there is
// work at hand.
func (e *bulkEngine) poll(now int64) error {
	wait := int64(-1)
	if e.first >= 0 {
		wait = max(e.slots[e.first].due-now, 0)
	}
	pending := false
	for k := range e.fds {
		e.pfds[k].Events = unix.POLLIN
		if len(e.sendq[k]) > 0 {
			if e.stuck[k] {
				e.pfds[k].Events |= unix.POLLOUT
			} else {
				pending = true
			}
		}
	}
	if pending {
		if d := e.nextSend - now; e.interval > 0 && d > 0 {
			if wait < 0 || d < wait {
				wait = d
			}
		} else {
			wait = 0
		}
	}
	if e.canTake() {
		wait = 0
	}
	var ts *unix.Timespec
	if wait >= 0 {
		t := unix.NsecToTimespec(wait)
		ts = &t
	}
	for {
		_, err := unix.Ppoll(e.pfds, ts, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		break
	}
	if e.pfds[len(e.pfds)-1].Revents != 0 {
		unix.Read(e.evfd, e.evbuf[:])
		return e.drainTCP()
	}
	return nil
}
