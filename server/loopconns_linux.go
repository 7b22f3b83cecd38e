package server

// connChunk is the number of slots in one chunk of a loop's connection
// table: 1,024 slots of 112 bytes are 112 KiB, whole 8 KiB pages.
const connChunk = 1024

// connTable holds a loop's connections by value, in chunks that never move,
// so a *econn stays valid while its connection lives. There is no map and
// no allocation per connection: epoll reports a connection's events with
// its slot (Event.Pad is slot+1; 0 is a listener or a UDP socket), and the
// slot holds its state. Freed slots are reused first, most recent first,
// and are listed through their fd field; slots never used lie past hw and
// cost nothing until touched. Chunks are kept once made (as a Go map keeps
// its buckets): a loop's table is as large as its busiest moment.
type connTable struct {
	chunks []*[connChunk]econn
	free   int32 // the first freed slot, -1 for none
	hw     int32 // slots [0, hw) have been used
	n      int   // connections in the table
}

func newConnTable() connTable { return connTable{free: -1} }

// at returns slot i.
func (t *connTable) at(i int32) *econn { return &t.chunks[i/connChunk][i%connChunk] }

// lookup returns the live connection an event reports, or nil when its slot
// was freed (or taken by another descriptor) since the event was queued.
func (t *connTable) lookup(tag, fd int32) *econn {
	if tag <= 0 || tag > t.hw {
		return nil
	}
	if c := t.at(tag - 1); c.sess != nil && c.fd == fd {
		return c
	}
	return nil
}

// get returns a zeroed slot (its slot field set) for a new connection; the
// caller sets sess, which marks the slot in use.
func (t *connTable) get() *econn {
	t.n++
	if t.free >= 0 {
		c := t.at(t.free)
		t.free = c.fd
		c.fd = 0
		return c
	}
	if int(t.hw) == len(t.chunks)*connChunk {
		t.chunks = append(t.chunks, new([connChunk]econn))
	}
	c := t.at(t.hw)
	c.slot = t.hw
	t.hw++
	return c
}

// put frees c's slot; c must not be used afterwards.
func (t *connTable) put(c *econn) {
	slot := c.slot
	*c = econn{slot: slot, fd: t.free}
	t.free = slot
	t.n--
}

// each calls f for every connection in the table; f may close it.
func (t *connTable) each(f func(*econn)) {
	for i := int32(0); i < t.hw; i++ {
		if c := t.at(i); c.sess != nil {
			f(c)
		}
	}
}
