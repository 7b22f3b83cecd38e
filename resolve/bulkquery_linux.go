package resolve

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"
	"unsafe"

	"github.com/miekg/dns"
)

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
