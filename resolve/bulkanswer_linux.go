package resolve

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/miekg/dns"
	"golang.org/x/sys/unix"
)

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
			n, err := e.in.Recv(fd)
			if err == unix.EAGAIN {
				break
			}
			if err != nil {
				return e.netError(err)
			}
			for i := range n {
				msg := e.in.Datagram(i)
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
