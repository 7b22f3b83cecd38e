package poll_test

import (
	"os"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/poll"
)

// pipe returns a pipe's two ends, closed when the test ends.
func pipe(t *testing.T) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func newPoller(t *testing.T) *poll.Poller {
	t.Helper()
	p, err := poll.New()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// TestReadiness: a descriptor is reported once readable, for what it is
// watched for, and no longer once modified away or deleted.
func TestReadiness(t *testing.T) {
	p := newPoller(t)
	r, w := pipe(t)
	rfd, wfd := int(r.Fd()), int(w.Fd())
	if err := p.Add(rfd, poll.In); err != nil {
		t.Fatal(err)
	}
	ev := make([]poll.Event, 8)
	if n, err := p.Wait(ev, 0); n != 0 || err != nil {
		t.Fatalf("empty pipe: %d events, %v", n, err)
	}
	w.Write([]byte("x"))
	n, err := p.Wait(ev, 5000)
	if err != nil || n != 1 || int(ev[0].Fd) != rfd || ev[0].Events&poll.In == 0 {
		t.Fatalf("readable pipe: %d events %+v, %v", n, ev[:n], err)
	}
	// Level-triggered: still readable, still reported.
	if n, _ := p.Wait(ev, 0); n != 1 {
		t.Fatalf("unread pipe reported %d times, want 1", n)
	}
	if err := p.Modify(rfd, poll.Out); err != nil {
		t.Fatal(err)
	}
	if n, _ := p.Wait(ev, 0); n != 0 {
		t.Fatalf("read end watched for Out: %d events", n)
	}
	if err := p.Add(wfd, poll.Out); err != nil {
		t.Fatal(err)
	}
	if n, _ := p.Wait(ev, 5000); n != 1 || int(ev[0].Fd) != wfd || ev[0].Events&poll.Out == 0 {
		t.Fatalf("writable end: %d events %+v", n, ev[:n])
	}
	if err := p.Delete(wfd); err != nil {
		t.Fatal(err)
	}
	if err := p.Delete(rfd); err != nil {
		t.Fatal(err)
	}
	if n, _ := p.Wait(ev, 0); n != 0 {
		t.Fatalf("after Delete: %d events", n)
	}
	if err := p.Delete(rfd); err == nil {
		t.Error("deleting an unwatched descriptor succeeded")
	}
}

// TestWake: Wake from another goroutine ends a Wait with no limit, and the
// wake-up itself is never reported as an event; several wakes before a
// Wait end one Wait, not several.
func TestWake(t *testing.T) {
	p := newPoller(t)
	done := make(chan int)
	go func() {
		ev := make([]poll.Event, 8)
		n, _ := p.Wait(ev, -1)
		done <- n
	}()
	if err := p.Wake(); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-done:
		if n != 0 {
			t.Errorf("Wait after Wake reported %d events, want 0", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wake did not end Wait")
	}
	for range 3 {
		p.Wake()
	}
	ev := make([]poll.Event, 8)
	if n, err := p.Wait(ev, 0); n != 0 || err != nil {
		t.Fatalf("after three wakes: %d, %v", n, err)
	}
	// The counter was reset: the next Wait times out.
	start := time.Now()
	if n, _ := p.Wait(ev, 20); n != 0 {
		t.Fatalf("%d events with nothing ready", n)
	}
	if time.Since(start) < 10*time.Millisecond {
		t.Error("a consumed wake-up ended the next Wait")
	}
}

// TestWakeAmongEvents: a wake-up arriving with other events is removed
// from the batch and the rest are kept.
func TestWakeAmongEvents(t *testing.T) {
	p := newPoller(t)
	var fds []int
	for range 3 {
		r, w := pipe(t)
		w.Write([]byte("x"))
		p.Add(int(r.Fd()), poll.In)
		fds = append(fds, int(r.Fd()))
	}
	p.Wake()
	ev := make([]poll.Event, 8)
	n, err := p.Wait(ev, 5000)
	if err != nil || n != 3 {
		t.Fatalf("%d events, %v; want the 3 pipes", n, err)
	}
	seen := map[int]bool{}
	for _, e := range ev[:n] {
		seen[int(e.Fd)] = true
	}
	for _, fd := range fds {
		if !seen[fd] {
			t.Errorf("pipe %d not reported in %+v", fd, ev[:n])
		}
	}
}

// TestNoAllocations: the calls a loop makes per event allocate nothing.
func TestNoAllocations(t *testing.T) {
	p := newPoller(t)
	r, w := pipe(t)
	rfd := int(r.Fd())
	w.Write([]byte("x"))
	ev := make([]poll.Event, 8)
	allocs := testing.AllocsPerRun(100, func() {
		p.Add(rfd, poll.In)
		p.Modify(rfd, poll.In|poll.Out)
		p.Wait(ev, 0)
		p.Delete(rfd)
		p.Wake()
		p.Wait(ev, 0)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per round", allocs)
	}
}

// TestTag: a descriptor added with a tag is reported with it, also after
// Modify; one added without is reported with 0.
func TestTag(t *testing.T) {
	p := newPoller(t)
	r, w := pipe(t)
	rfd, wfd := int(r.Fd()), int(w.Fd())
	if err := p.AddTag(rfd, poll.Out, 7); err != nil {
		t.Fatal(err)
	}
	if err := p.ModifyTag(rfd, poll.In, 7); err != nil {
		t.Fatal(err)
	}
	if err := p.Add(wfd, poll.Out); err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	ev := make([]poll.Event, 8)
	n, err := p.Wait(ev, 5000)
	if err != nil {
		t.Fatal(err)
	}
	tags := map[int]int32{}
	for _, e := range ev[:n] {
		tags[int(e.Fd)] = e.Pad
	}
	if len(tags) != 2 || tags[rfd] != 7 || tags[wfd] != 0 {
		t.Fatalf("tags by descriptor %v, want %d:7 and %d:0", tags, rfd, wfd)
	}
}
