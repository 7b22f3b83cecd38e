package server

import (
	"context"
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// dropReasons are the reasons a listener logs, in the order of their slots.
// The last slot holds the reasons sessions give (Ender.End): the Recorder
// counts each under its own name, and the log line names the last seen.
var dropReasons = [...]string{
	DropMaxConns, DropPerSource, CloseIdle, CloseWriteTimeout,
	DropReservedPort, DropBadSource, DropBudget, DropBudgetTable,
	DropUnaddressable, DropSendBuffer, "",
}

// sessionSlot is the slot of the reasons sessions give.
const sessionSlot = len(dropReasons) - 1

// dropMessages say what happened, by slot.
var dropMessages = [len(dropReasons)]string{
	"connections refused", "connections refused", "connections closed", "connections closed",
	"datagrams dropped", "datagrams dropped", "replies dropped", "replies dropped",
	"replies dropped", "replies dropped", "connections closed",
}

func dropSlot(reason string) int {
	for i, r := range dropReasons[:sessionSlot] {
		if r == reason {
			return i
		}
	}
	return sessionSlot
}

// dropLog writes a listener's rate-limited drop lines (WARN, INFO for idle
// timeouts): the first drop of a
// reason is logged at once, and then at most one line per reason every
// interval, carrying how many drops it stands for and the source of the
// last one seen. The hot path (note) is an atomic add, a try-lock to keep
// the source, and an atomic load; it never writes the log itself, since a
// stderr that blocks (a full pipe to journald) must not stall an event
// loop: the lines are written from timer goroutines.
type dropLog struct {
	log   *slog.Logger // with the listener's service and network
	every time.Duration
	slots [len(dropReasons)]dropSlotState

	mu     sync.Mutex // guards the timers and closed
	closed bool
	timers sync.WaitGroup // one per scheduled line
}

type dropSlotState struct {
	pending atomic.Int64 // drops not yet in a line
	armed   atomic.Bool  // a line is scheduled: drops only count
	srcMu   sync.Mutex   // try-locked by note
	src     netip.AddrPort
	reason  string      // the last reason noted (the session slot's line names it)
	timer   *time.Timer // under dropLog.mu
}

// newDropLog returns the drop log of one listener, or nil when every is
// negative (drops are not logged).
func newDropLog(log *slog.Logger, every time.Duration, service, network string) *dropLog {
	if every < 0 {
		return nil
	}
	if every == 0 {
		every = 10 * time.Second
	}
	return &dropLog{log: log.With("service", service, "network", network), every: every}
}

// note counts n drops for reason, the last from src (the zero AddrPort when
// there is none, a port of 0 when only the address is known).
func (d *dropLog) note(reason string, n int, src netip.AddrPort) {
	if d == nil {
		return
	}
	i := dropSlot(reason)
	sl := &d.slots[i]
	sl.pending.Add(int64(n))
	if sl.srcMu.TryLock() {
		sl.src, sl.reason = src, reason
		sl.srcMu.Unlock()
	}
	if sl.armed.Load() || !sl.armed.CompareAndSwap(false, true) {
		return
	}
	d.schedule(i, 0)
}

// schedule has slot i's line written after delay.
func (d *dropLog) schedule(i int, delay time.Duration) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	sl := &d.slots[i]
	d.timers.Add(1)
	if sl.timer == nil {
		sl.timer = time.AfterFunc(delay, func() { d.fire(i) })
	} else {
		sl.timer.Reset(delay)
	}
}

// fire writes slot i's line if drops are pending and checks again an
// interval later; with none pending, the slot disarms and its next drop
// is logged at once.
func (d *dropLog) fire(i int) {
	defer d.timers.Done()
	d.mu.Lock()
	closed := d.closed
	d.mu.Unlock()
	if closed {
		return
	}
	sl := &d.slots[i]
	if d.flush(i) {
		d.schedule(i, d.every)
		return
	}
	sl.armed.Store(false)
	// A drop between flush and the store saw the slot armed and only
	// counted itself: arm again for it.
	if sl.pending.Load() > 0 && sl.armed.CompareAndSwap(false, true) {
		d.schedule(i, 0)
	}
}

// flush writes slot i's line if drops are pending and reports whether it
// did.
func (d *dropLog) flush(i int) bool {
	sl := &d.slots[i]
	n := sl.pending.Swap(0)
	if n == 0 {
		return false
	}
	sl.srcMu.Lock()
	src, reason := sl.src, sl.reason
	sl.srcMu.Unlock()
	attrs := []any{"reason", reason, "count", n}
	switch {
	case src.Port() != 0:
		attrs = append(attrs, "source", src.String())
	case src.Addr().IsValid():
		attrs = append(attrs, "source", src.Addr().String())
	}
	level := slog.LevelWarn
	if dropReasons[i] == CloseIdle {
		// The ordinary end of an HTTP keep-alive connection, which nginx
		// does not log at all: worth a line, not a warning.
		level = slog.LevelInfo
	}
	d.log.Log(context.Background(), level, dropMessages[i], attrs...)
	return true
}

// close writes what is pending and stops the timers; nothing is logged
// after it returns.
func (d *dropLog) close() {
	if d == nil {
		return
	}
	d.mu.Lock()
	d.closed = true
	for i := range d.slots {
		if t := d.slots[i].timer; t != nil && t.Stop() {
			d.timers.Done() // its fire will not run
		}
	}
	d.mu.Unlock()
	d.timers.Wait()
	for i := range d.slots {
		d.flush(i)
	}
}
