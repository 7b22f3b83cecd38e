package resolve

import (
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"iter"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/rawsys"
)

// Bulk resolution asks one server for many names at the rate the server
// answers, the way massdns does, rather than with a goroutine per lookup:
//
//   - one goroutine owns a few connected, non-blocking UDP sockets (the
//     kernel drops datagrams from any other address) and a fixed table of
//     in-flight queries, Window of them at most;
//   - queries leave in batches with sendmmsg, those of one size as one
//     message with UDP segmentation offload, and answers arrive in batches
//     with recvmmsg; the goroutine sleeps in ppoll only when there is
//     nothing to send or read. Measured against NSD on loopback, the
//     kernel's per-datagram work is four fifths of the client's CPU time;
//     segmentation offload cut the client's system time by about a fifth;
//   - each socket has its own 16-bit ID space; an ID is drawn at random
//     among the free ones and an answer must match it and the question
//     (name compared case-insensitively, type and class exactly);
//   - one per-try timeout for all, so the in-flight queries sit in a list
//     in deadline order (a timer wheel with one slot): expiring is looking
//     at its head, answering is an unlink; an expired query is sent again
//     up to Retries times with the same ID, so a late answer still counts;
//   - queries are packed in place in the table's slots and answers walked
//     in the receive buffers: no allocation per query on the path of an
//     address answer (miekg/dns packs the question names and unpacks the
//     rare CNAME and PTR targets); the Result handed to emit costs its
//     Addrs slice and strings — two allocations for a name with one
//     address (BenchmarkBulk);
//   - names are pulled from the input only when a slot is free, and with
//     ordered output a finished name waits in a reorder buffer of bounded
//     size until all before it are done: memory does not grow with the
//     number of names;
//   - a truncated answer is asked again over TCP by one of at most 8
//     goroutines; a CNAME the server did not follow is asked for in turn
//     (8 links at most).

// BulkOptions tune Bulk. The zero value works.
type BulkOptions struct {
	// Window bounds the queries in flight at once (A and AAAA count as two);
	// zero means 256; at most 65535.
	Window int
	// Retries is how many more times a query is sent when no answer came
	// within Resolver.Timeout; zero means 2 (three tries, dig's default);
	// negative means none.
	Retries int
	// Rate, when positive, caps the queries sent per second, retries
	// included; zero means as fast as the server answers.
	Rate float64
	// Unordered emits each result as soon as it is complete. By default
	// results come in input order: a name that is finished waits until all
	// before it are, and the engine takes at most 8×Window names (at least
	// 4096) ahead of the oldest unfinished one — a name waiting on retries
	// holds the others back.
	Unordered bool
	// Reverse takes the names as IP addresses and asks for their PTR names.
	Reverse bool
}

// TimeoutError reports a query that went unanswered after every try.
type TimeoutError struct {
	Server string
	Tries  int
}

func (e *TimeoutError) Error() string {
	return fmt.Sprintf("no answer from %s after %d tries", e.Server, e.Tries)
}

// Timeout reports true, as net.Error's timeouts do.
func (e *TimeoutError) Timeout() bool { return true }

// RcodeError is an answer whose RCODE is neither NOERROR nor NXDOMAIN
// (which is ErrNotFound): SERVFAIL, REFUSED, ...
type RcodeError struct {
	Server string
	Rcode  int
}

func (e *RcodeError) Error() string {
	return "server " + e.Server + " answered " + dns.RcodeToString[e.Rcode]
}

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
	segs  [sendBatch]int
	cmsg  [sendBatch][rawsys.UDPSegmentSpace]byte
	shdr  [sendBatch]unix.Mmsghdr
	siov  [sendBatch]unix.Iovec
	sent  [sendBatch]int32
	rhdr  [recvBatch]unix.Mmsghdr
	riov  [recvBatch]unix.Iovec
	rbuf  []byte
	pfds  []unix.PollFd
	evbuf [8]byte
	fqdn  []byte // the name being packed, with its root dot
}

// Bulk resolves names by asking Server directly over UDP, many at once
// with a few sockets and one goroutine (see the comment above BulkOptions),
// and calls emit with each result — in input order unless opt.Unordered.
// Each query is sent up to 1+Retries times, Timeout apart; a name is
// reported with its RCODE (ErrNotFound for NXDOMAIN, *RcodeError for the
// others) or a *TimeoutError, wrapped in an *Error, as Lookup reports it.
// Result.Addrs is the caller's to keep.
//
// Bulk returns when every name has been emitted, the context ends, emit
// returns an error (which it returns) or the server cannot be reached at
// all (connection refused). It needs Server to be set; with TCP set it
// resolves through Each instead.
func (r *Resolver) Bulk(ctx context.Context, names iter.Seq[string], opt BulkOptions, emit func(Result) error) error {
	if r.Server == "" {
		return errors.New("resolve: Bulk needs a Server")
	}
	if r.TCP {
		w := opt.Window
		if w <= 0 {
			w = 256
		}
		return r.Each(ctx, names, w, opt.Reverse, emit)
	}
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
	e.rbuf = make([]byte, recvBatch*replySize)
	for i := range e.rhdr {
		e.riov[i].Base = &e.rbuf[i*replySize]
		e.riov[i].SetLen(replySize)
		e.rhdr[i].Hdr.Iov = &e.riov[i]
		e.rhdr[i].Hdr.SetIovlen(1)
	}
	for i := range e.shdr {
		e.shdr[i].Hdr.Iov = &e.siov[i]
		e.shdr[i].Hdr.SetIovlen(1)
	}
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

// canTake reports whether a new name fits: a free entry and slots for all
// its queries.
func (e *bulkEngine) canTake() bool {
	return !e.exhausted && len(e.freeEntries) > 0 && len(e.freeSlots) >= len(e.qtypes)
}

func (e *bulkEngine) intake(next func() (string, bool)) error {
	for e.canTake() {
		name, ok := next()
		if !ok {
			e.exhausted = true
			return nil
		}
		ei := e.freeEntries[len(e.freeEntries)-1]
		e.freeEntries = e.freeEntries[:len(e.freeEntries)-1]
		ent := &e.entries[ei]
		*ent = bulkEntry{name: name, addrs: ent.addrs[:0], names: ent.names[:0]}
		e.busy++
		if !e.opt.Unordered {
			e.order[(e.ohead+e.ocount)%len(e.order)] = ei
			e.ocount++
		}
		if err := e.startEntry(ei); err != nil {
			return err
		}
	}
	return nil
}

// startEntry answers what needs no query (an IP literal, a malformed name)
// and queues the queries of the rest.
func (e *bulkEngine) startEntry(ei int32) error {
	ent := &e.entries[ei]
	qname := ent.name
	if e.opt.Reverse {
		a, err := netip.ParseAddr(qname)
		if err != nil {
			ent.failed = errors.New("not an IP address")
			return e.complete(ei)
		}
		qname, _ = dns.ReverseAddr(a.String())
	} else if a, err := parseLiteral(qname); err == nil {
		if e.r.keeps(a) {
			ent.addrs = append(ent.addrs, a)
		}
		return e.complete(ei)
	}
	if qname == "" || len(qname) > 254 {
		ent.failed = errors.New("not a valid domain name")
		return e.complete(ei)
	}
	if !dns.IsFqdn(qname) {
		// The name with its root dot, in a buffer the engine reuses (the
		// question is packed from it at once): no string per name.
		e.fqdn = append(append(e.fqdn[:0], qname...), '.')
		qname = unsafe.String(&e.fqdn[0], len(e.fqdn))
	}
	for _, t := range e.qtypes {
		si := e.freeSlots[len(e.freeSlots)-1]
		sl := &e.slots[si]
		k := int(si) % len(e.fds)
		*sl = bulkSlot{state: slotActive, entry: ei, qtype: t, prev: -1, next: -1, id: e.freeID(k)}
		if err := sl.pack(qname); err != nil {
			// Every query of the entry asks for the same name: the
			// first one finds it malformed.
			sl.state = slotFree
			ent.failed = fmt.Errorf("not a valid domain name: %w", err)
			return e.complete(ei)
		}
		e.freeSlots = e.freeSlots[:len(e.freeSlots)-1]
		e.byID[k][sl.id] = si
		ent.pending++
		e.queue(si)
	}
	return nil
}

// parseLiteral is netip.ParseAddr for strings that may be an address: a
// host name is told apart without the cost of ParseAddr's error.
func parseLiteral(s string) (netip.Addr, error) {
	if s == "" || !strings.Contains(s, ":") && (s[0] < '0' || s[0] > '9' || !strings.ContainsRune("0123456789", rune(s[len(s)-1]))) {
		return netip.Addr{}, errNotLiteral
	}
	return netip.ParseAddr(s)
}

var errNotLiteral = errors.New("not an IP address")

// freeID draws an ID that no query in flight on socket k uses.
func (e *bulkEngine) freeID(k int) uint16 {
	for {
		id := uint16(rand.Uint32())
		if e.byID[k][id] < 0 {
			return id
		}
	}
}

// pack writes the query for name (fully qualified) into the slot: header
// with RD, the question, and an EDNS OPT record announcing ednsSize.
func (sl *bulkSlot) pack(name string) error {
	p := sl.pkt[:]
	binary.BigEndian.PutUint16(p[0:], sl.id)
	p[2], p[3] = 1, 0 // RD
	binary.BigEndian.PutUint16(p[4:], 1)
	binary.BigEndian.PutUint16(p[6:], 0)
	binary.BigEndian.PutUint16(p[8:], 0)
	binary.BigEndian.PutUint16(p[10:], 1)
	off, err := dns.PackDomainName(name, p[:maxQuery-4-11], 12, nil, false)
	if err != nil {
		return err
	}
	binary.BigEndian.PutUint16(p[off:], sl.qtype)
	binary.BigEndian.PutUint16(p[off+2:], dns.ClassINET)
	off += 4
	sl.qend = off
	p[off] = 0 // root owner
	binary.BigEndian.PutUint16(p[off+1:], dns.TypeOPT)
	binary.BigEndian.PutUint16(p[off+3:], ednsSize)
	binary.BigEndian.PutUint32(p[off+5:], 0)
	binary.BigEndian.PutUint16(p[off+9:], 0)
	sl.plen = off + 11
	return nil
}

func (e *bulkEngine) queue(si int32) {
	sl := &e.slots[si]
	if sl.queued {
		return
	}
	sl.queued = true
	k := int(si) % len(e.fds)
	e.sendq[k] = append(e.sendq[k], si)
}

// link puts a slot at the end of the deadline list.
func (e *bulkEngine) link(si int32, due int64) {
	sl := &e.slots[si]
	sl.due, sl.linked, sl.prev, sl.next = due, true, e.last, -1
	if e.last >= 0 {
		e.slots[e.last].next = si
	} else {
		e.first = si
	}
	e.last = si
}

func (e *bulkEngine) unlink(si int32) {
	sl := &e.slots[si]
	if !sl.linked {
		return
	}
	if sl.prev >= 0 {
		e.slots[sl.prev].next = sl.next
	} else {
		e.first = sl.next
	}
	if sl.next >= 0 {
		e.slots[sl.next].prev = sl.prev
	} else {
		e.last = sl.prev
	}
	sl.linked, sl.prev, sl.next = false, -1, -1
}

// expire sends again, or gives up on, the queries whose deadline passed.
func (e *bulkEngine) expire(now int64) error {
	for e.first >= 0 && e.slots[e.first].due <= now {
		si := e.first
		e.unlink(si)
		sl := &e.slots[si]
		if sl.tries <= e.retries {
			e.queue(si)
			continue
		}
		if err := e.finish(si, &TimeoutError{Server: e.server, Tries: sl.tries}); err != nil {
			return err
		}
	}
	return nil
}

// budget is how many queries Rate lets leave now.
func (e *bulkEngine) budget(now int64) int {
	if e.interval == 0 {
		return sendBatch
	}
	// A burst of at most 10 ms of the rate after an idle spell.
	if floor := now - 10*int64(time.Millisecond); e.nextSend < floor {
		e.nextSend = floor
	}
	if e.nextSend > now {
		return 0
	}
	return int(min((now-e.nextSend)/e.interval+1, sendBatch))
}

func (e *bulkEngine) send(now int64) error {
	for k, fd := range e.fds {
		q := e.sendq[k]
		i := 0 // q[:i] is done with: sent, or stale (finished while queued)
		for i < len(q) && !e.stuck[k] {
			limit := e.budget(now)
			if limit == 0 {
				break
			}
			n, j := 0, i
			for ; j < len(q) && n < limit; j++ {
				sl := &e.slots[q[j]]
				if !sl.queued || sl.state != slotActive {
					continue
				}
				e.sent[n] = q[j]
				n++
			}
			if n == 0 {
				i = j
				continue
			}
			m, err := e.sendBatch(fd, n)
			if err == unix.EAGAIN || err == unix.ENOBUFS {
				e.stuck[k], m = true, 0
			} else if err != nil {
				return e.netError(err)
			}
			for _, si := range e.sent[:m] {
				sl := &e.slots[si]
				sl.queued = false
				sl.tries++
				e.link(si, now+int64(e.timeout))
			}
			if e.interval > 0 {
				e.nextSend += int64(m) * e.interval
			}
			if m < n {
				// What did not leave goes back just before j, in order.
				i = j - (n - m)
				copy(q[i:j], e.sent[m:n])
				break
			}
			i = j
		}
		e.sendq[k] = q[:copy(q, q[i:])]
	}
	return nil
}

// sendBatch sends the queries of e.sent[:n] and returns how many left, the
// first ones. Queries of one size go as one message with UDP segmentation
// offload (UDP_SEGMENT): the kernel builds and routes one packet and splits
// it, instead of doing that work per query. A kernel that refuses it
// (EINVAL, EIO) gets one message per query from then on.
func (e *bulkEngine) sendBatch(fd, n int) (int, error) {
	if e.gso {
		// Equal sizes next to each other: longer runs, fewer messages.
		slices.SortStableFunc(e.sent[:n], func(a, b int32) int {
			return cmp.Compare(e.slots[b].plen, e.slots[a].plen)
		})
	}
	for i, si := range e.sent[:n] {
		sl := &e.slots[si]
		e.siov[i].Base = &sl.pkt[0]
		e.siov[i].SetLen(sl.plen)
	}
	msgs := 0
	for i := 0; i < n; msgs++ {
		seg, j := int(e.siov[i].Len), i+1
		for e.gso && j < n {
			l := int(e.siov[j].Len)
			if l > seg {
				break
			}
			j++
			if l < seg {
				break // only the last segment may be short
			}
		}
		h := &e.shdr[msgs].Hdr
		h.Iov = &e.siov[i]
		h.SetIovlen(j - i)
		rawsys.SetUDPSegment(h, &e.cmsg[msgs], seg, j-i)
		e.segs[msgs] = j - i
		i = j
	}
	m, err := rawsys.SendMmsg(fd, e.shdr[:msgs])
	if (err == unix.EINVAL || err == unix.EIO) && e.gso && e.segs[0] > 1 {
		e.gso = false
		return e.sendBatch(fd, n)
	}
	if err != nil {
		return 0, err
	}
	sent := 0
	for _, s := range e.segs[:m] {
		sent += s
	}
	return sent, nil
}

func (e *bulkEngine) netError(err error) error {
	addr, _ := netip.ParseAddrPort(e.server)
	return &net.OpError{Op: "query", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: err}
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

func (e *bulkEngine) receive() error {
	for k, fd := range e.fds {
		rev := e.pfds[k].Revents
		if rev&unix.POLLOUT != 0 {
			e.stuck[k] = false
		}
		if rev&(unix.POLLIN|unix.POLLERR) == 0 {
			continue
		}
		for {
			for i := range e.rhdr {
				e.rhdr[i].Len = 0
			}
			n, err := rawsys.RecvMmsg(fd, e.rhdr[:])
			if err == unix.EAGAIN {
				break
			}
			if err != nil {
				return e.netError(err)
			}
			for i := range n {
				msg := e.rbuf[i*replySize : i*replySize+int(e.rhdr[i].Len)]
				if len(msg) < 12 {
					continue
				}
				si := e.byID[k][binary.BigEndian.Uint16(msg)]
				if si < 0 || e.slots[si].state != slotActive {
					continue
				}
				if err := e.answer(si, msg); err != nil {
					return err
				}
			}
			if n < recvBatch {
				break
			}
		}
	}
	return nil
}

// answer takes a reply for slot si: it checks that it answers the
// question asked and finishes, follows or hands the query to TCP.
func (e *bulkEngine) answer(si int32, msg []byte) error {
	sl := &e.slots[si]
	if binary.BigEndian.Uint16(msg) != sl.id || msg[2]&0x80 == 0 || msg[2]&0x78 != 0 ||
		binary.BigEndian.Uint16(msg[4:]) != 1 || len(msg) < sl.qend ||
		!equalFoldASCII(msg[12:sl.qend-4], sl.pkt[12:sl.qend-4]) ||
		string(msg[sl.qend-4:sl.qend]) != string(sl.pkt[sl.qend-4:sl.qend]) {
		return nil // not the answer to this question: ignore it, as a resolver must
	}
	if msg[2]&0x02 != 0 && sl.state == slotActive { // TC
		e.toTCP(si)
		return nil
	}
	switch rcode := int(msg[3] & 0x0f); rcode {
	case dns.RcodeSuccess:
	case dns.RcodeNameError:
		return e.finish(si, ErrNotFound)
	default:
		return e.finish(si, &RcodeError{Server: e.server, Rcode: rcode})
	}
	ent := &e.entries[sl.entry]
	off, found, cname := sl.qend, false, -1
	for range binary.BigEndian.Uint16(msg[6:]) {
		off = skipName(msg, off)
		if off < 0 || off+10 > len(msg) {
			return e.finish(si, errors.New("malformed answer"))
		}
		t, class := binary.BigEndian.Uint16(msg[off:]), binary.BigEndian.Uint16(msg[off+2:])
		rdlen := int(binary.BigEndian.Uint16(msg[off+8:]))
		off += 10
		if off+rdlen > len(msg) {
			return e.finish(si, errors.New("malformed answer"))
		}
		rd := msg[off : off+rdlen]
		switch {
		case class != dns.ClassINET:
		case t == dns.TypeA && sl.qtype == dns.TypeA && rdlen == 4:
			ent.addrs, found = append(ent.addrs, netip.AddrFrom4([4]byte(rd))), true
		case t == dns.TypeAAAA && sl.qtype == dns.TypeAAAA && rdlen == 16:
			ent.addrs, found = append(ent.addrs, netip.AddrFrom16([16]byte(rd))), true
		case t == dns.TypePTR && sl.qtype == dns.TypePTR:
			if name, _, err := dns.UnpackDomainName(msg, off); err == nil {
				ent.names, found = append(ent.names, strings.TrimSuffix(name, ".")), true
			}
		case t == dns.TypeCNAME:
			cname = off
		}
		off += rdlen
	}
	if !found && cname >= 0 && sl.hops < maxHops {
		if target, _, err := dns.UnpackDomainName(msg, cname); err == nil && sl.pack(target) == nil {
			e.unlink(si)
			sl.state, sl.tries = slotActive, 0
			sl.hops++
			e.queue(si)
			return nil
		}
	}
	return e.finish(si, nil)
}

// skipName returns the offset just past the domain name at off, or -1.
func skipName(msg []byte, off int) int {
	for off < len(msg) {
		c := int(msg[off])
		switch c & 0xc0 {
		case 0x00:
			if c == 0 {
				return off + 1
			}
			off += 1 + c
		case 0xc0:
			if off+2 > len(msg) {
				return -1
			}
			return off + 2
		default:
			return -1
		}
	}
	return -1
}

func equalFoldASCII(a, b []byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// finish ends query si with err (nil: its answers are in the entry).
func (e *bulkEngine) finish(si int32, err error) error {
	sl := &e.slots[si]
	e.unlink(si)
	k := int(si) % len(e.fds)
	e.byID[k][sl.id] = -1
	ent := &e.entries[sl.entry]
	if err != nil && !errors.Is(err, ErrNotFound) && ent.failed == nil {
		ent.failed = fmt.Errorf("%s query: %w", dns.TypeToString[sl.qtype], err)
	}
	sl.state, sl.queued = slotFree, false
	e.freeSlots = append(e.freeSlots, si)
	ent.pending--
	if ent.pending == 0 {
		return e.complete(sl.entry)
	}
	return nil
}

// complete marks an entry done; unordered, it is emitted at once.
func (e *bulkEngine) complete(ei int32) error {
	e.entries[ei].done = true
	if e.opt.Unordered {
		return e.release(ei)
	}
	return nil
}

func (e *bulkEngine) flushOrdered() error {
	for e.ocount > 0 {
		ei := e.order[e.ohead]
		if !e.entries[ei].done {
			return nil
		}
		e.ohead = (e.ohead + 1) % len(e.order)
		e.ocount--
		if err := e.release(ei); err != nil {
			return err
		}
	}
	return nil
}

// release emits an entry's result and frees the entry.
func (e *bulkEngine) release(ei int32) error {
	ent := &e.entries[ei]
	// A and AAAA answers arrive in either order: IPv4 first, as Lookup
	// and getaddrinfo list them, so the output is the same on every run.
	slices.SortStableFunc(ent.addrs, func(a, b netip.Addr) int {
		return cmp.Compare(a.BitLen(), b.BitLen())
	})
	res := Result{Name: ent.name}
	if n := len(ent.addrs) + len(ent.names); n > 0 {
		res.Addrs = make([]string, 0, n)
	}
	for _, a := range ent.addrs {
		res.Addrs = append(res.Addrs, a.String())
	}
	res.Addrs = append(res.Addrs, ent.names...)
	switch {
	case ent.failed != nil:
		res.Err = &Error{Name: ent.name, Err: ent.failed, Partial: len(res.Addrs) > 0}
	case len(res.Addrs) == 0:
		res.Err = &Error{Name: ent.name, Err: ErrNotFound}
	}
	ent.name, ent.failed, ent.names = "", nil, ent.names[:0]
	e.freeEntries = append(e.freeEntries, ei)
	e.busy--
	return e.emit(res)
}

// toTCP asks a truncated query again over TCP, in one of at most
// tcpWorkers goroutines; the rest wait their turn.
func (e *bulkEngine) toTCP(si int32) {
	e.unlink(si)
	sl := &e.slots[si]
	sl.state, sl.queued = slotTCP, false
	if e.tcpActive >= tcpWorkers {
		e.tcpWait = append(e.tcpWait, si)
		return
	}
	e.tcpActive++
	q := new(dns.Msg)
	if err := q.Unpack(sl.pkt[:sl.plen]); err != nil {
		e.tcpDone <- tcpReply{slot: si, err: err} // room: tcpActive counts it
		e.wake()
		return
	}
	c := &dns.Client{Net: "tcp", Timeout: e.timeout}
	ctx, server := e.tcpCtx, e.server
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		rep := tcpReply{slot: si}
		in, _, err := c.ExchangeContext(ctx, q, server)
		if err == nil {
			rep.msg, err = in.Pack()
		}
		rep.err = err
		e.tcpDone <- rep
		e.wake()
	}()
}

func (e *bulkEngine) drainTCP() error {
	for {
		select {
		case rep := <-e.tcpDone:
			e.tcpActive--
			sl := &e.slots[rep.slot]
			if rep.err == nil && len(rep.msg) >= 12 {
				// answer ignores a reply that does not match: then the
				// query has failed.
				if err := e.answer(rep.slot, rep.msg); err != nil {
					return err
				}
			}
			if sl.state == slotTCP {
				err := rep.err
				if err == nil {
					err = errors.New("TCP answer does not match the question")
				}
				if err := e.finish(rep.slot, err); err != nil {
					return err
				}
			}
			if len(e.tcpWait) > 0 && e.tcpActive < tcpWorkers {
				si := e.tcpWait[0]
				e.tcpWait = e.tcpWait[1:]
				e.slots[si].state = slotActive
				e.toTCP(si)
			}
		default:
			return nil
		}
	}
}
