package server

import (
	"net/netip"
	"sync"
	"time"
)

// UDPGuard keeps datagram services from being used as amplifiers
// (US-CERT TA14-017A: chargen 358.8×, QOTD 140.3×). The zero value is the
// safe default; set Off only for benchmarks on loopback.
type UDPGuard struct {
	// Off disables every check below.
	Off bool
	// AllowReservedPorts accepts datagrams from source ports below 1024 and
	// 2049 (NFS), which are refused by default: a reply to a well-known
	// port is how two small services are made to loop (as OpenBSD inetd).
	AllowReservedPorts bool
	// BurstBytes is how many reply bytes one source prefix (/24 for IPv4,
	// /56 for IPv6) may receive beyond what it sent; zero means 4096.
	BurstBytes int
	// RateBytes refills that allowance per second; zero means 1024, about
	// two quotes a second per prefix. Negative means no refill.
	RateBytes int
	// MaxSources bounds the table of prefixes; zero means 65536. When it is
	// full and no entry has gone quiet, new prefixes are refused: the table
	// fails closed rather than growing.
	MaxSources int
}

func (g UDPGuard) burst() float64 {
	if g.BurstBytes <= 0 {
		return 4096
	}
	return float64(g.BurstBytes)
}

func (g UDPGuard) rate() float64 {
	switch {
	case g.RateBytes < 0:
		return 0
	case g.RateBytes == 0:
		return 1024
	}
	return float64(g.RateBytes)
}

func (g UDPGuard) maxSources() int {
	if g.MaxSources <= 0 {
		return 65536
	}
	return g.MaxSources
}

// sourceOK applies the stateless checks: reserved source ports, and
// sources that cannot be a real sender (broadcast, multicast, unspecified).
func (g UDPGuard) sourceOK(from netip.AddrPort) (reason string, ok bool) {
	if g.Off {
		return "", true
	}
	a := from.Addr().Unmap()
	if a.IsMulticast() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}) {
		return DropBadSource, false
	}
	if p := from.Port(); !g.AllowReservedPorts && (p < 1024 || p == 2049) {
		return DropReservedPort, false
	}
	return "", true
}

// budget is the per-prefix byte account: a token bucket that refills at
// RateBytes up to BurstBytes, and is credited with every byte the prefix
// sends, so replies never exceed requests by more than the burst and refill.
type budget struct {
	g       UDPGuard
	mu      sync.Mutex
	buckets map[netip.Prefix]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newBudget(g UDPGuard) *budget {
	return &budget{g: g, buckets: make(map[netip.Prefix]*bucket)}
}

func prefixOf(a netip.Addr) netip.Prefix {
	a = a.Unmap()
	bits := 56
	if a.Is4() {
		bits = 24
	}
	p, _ := a.Prefix(bits)
	return p
}

// charge credits a received datagram of n bytes and asks to send a reply of
// m bytes; it reports whether the reply may go out, and why not.
func (b *budget) charge(from netip.Addr, n, m int, now time.Time) (reason string, ok bool) {
	if b.g.Off {
		return "", true
	}
	key := prefixOf(from)
	b.mu.Lock()
	defer b.mu.Unlock()
	bk := b.buckets[key]
	if bk == nil {
		if len(b.buckets) >= b.g.maxSources() && !b.sweep(now) {
			return DropBudgetTable, false
		}
		bk = &bucket{tokens: b.g.burst(), last: now}
		b.buckets[key] = bk
	}
	if el := now.Sub(bk.last).Seconds(); el > 0 {
		bk.tokens = min(b.g.burst(), bk.tokens+el*b.g.rate())
		bk.last = now
	}
	bk.tokens += float64(n)
	if bk.tokens < float64(m) {
		return DropBudget, false
	}
	bk.tokens -= float64(m)
	return "", true
}

// sweep forgets prefixes whose bucket has refilled completely (they are
// indistinguishable from new ones); it reports whether any room was made.
func (b *budget) sweep(now time.Time) bool {
	before := len(b.buckets)
	for k, bk := range b.buckets {
		if bk.tokens+now.Sub(bk.last).Seconds()*b.g.rate() >= b.g.burst() {
			delete(b.buckets, k)
		}
	}
	return len(b.buckets) < before
}
