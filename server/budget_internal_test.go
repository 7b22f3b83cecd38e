package server

import (
	"net/netip"
	"testing"
	"time"
)

// TestBudgetRefill: a prefix that spent its burst gets RateBytes a second
// back (the default 1024 when zero), and nothing ever with a negative rate
// (serve's --udp-rate 0), however long it waits.
func TestBudgetRefill(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	src := netip.MustParseAddr("192.0.2.7")
	for _, tc := range []struct {
		rate  int
		after time.Duration
		ok    bool
	}{
		{rate: -1, after: time.Hour, ok: false},
		{rate: 0, after: time.Second, ok: true},   // the default, 1024/s
		{rate: 100, after: time.Second, ok: true}, // exactly the 100 bytes asked
		{rate: 100, after: 500 * time.Millisecond, ok: false},
	} {
		b := newBudget(UDPGuard{BurstBytes: 300, RateBytes: tc.rate})
		if _, ok := b.charge(src, 0, 300, t0); !ok {
			t.Fatalf("rate %d: the first burst was refused", tc.rate)
		}
		if _, ok := b.charge(src, 0, 1, t0); ok {
			t.Fatalf("rate %d: a byte beyond the burst went out", tc.rate)
		}
		if reason, ok := b.charge(src, 0, 100, t0.Add(tc.after)); ok != tc.ok || (!ok && reason != DropBudget) {
			t.Errorf("rate %d, %v later: 100 bytes allowed %v (%s), want %v", tc.rate, tc.after, ok, reason, tc.ok)
		}
	}
}
