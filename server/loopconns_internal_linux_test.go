package server

import "testing"

// TestConnTable: slots are reused once freed, and a stale event (its slot
// freed, or taken by another descriptor since) finds no connection.
func TestConnTable(t *testing.T) {
	tb := newConnTable()
	var sess struct{ Session }
	open := func(fd int32) *econn {
		c := tb.get()
		c.fd, c.sess = fd, sess
		return c
	}
	cs := make([]*econn, connChunk+2) // more than one chunk
	for i := range cs {
		cs[i] = open(int32(100 + i))
		if cs[i].slot != int32(i) {
			t.Fatalf("connection %d in slot %d", i, cs[i].slot)
		}
	}
	if len(tb.chunks) != 2 || tb.n != len(cs) {
		t.Fatalf("%d chunks, %d connections; want 2, %d", len(tb.chunks), tb.n, len(cs))
	}
	if c := tb.lookup(cs[5].slot+1, 105); c != cs[5] {
		t.Fatal("a live connection is not found by its tag")
	}
	tb.put(cs[5])
	tb.put(cs[connChunk])
	if tb.lookup(6, 105) != nil {
		t.Fatal("a freed slot is found")
	}
	if c := open(9); c != cs[connChunk] {
		t.Fatal("the slot freed last is not reused first")
	}
	if c := open(10); c != cs[5] {
		t.Fatal("a freed slot is not reused")
	}
	if tb.lookup(6, 105) != nil || tb.lookup(6, 10) != cs[5] {
		t.Fatal("a slot taken by another descriptor answers for the old one")
	}
	if tb.lookup(0, 10) != nil || tb.lookup(int32(len(cs)+1), 10) != nil || tb.lookup(-3, 10) != nil {
		t.Fatal("a tag outside the table finds a connection")
	}
	n := 0
	tb.each(func(c *econn) { n++; tb.put(c) })
	if n != len(cs) || tb.n != 0 {
		t.Fatalf("each saw %d connections, %d left; want %d, 0", n, tb.n, len(cs))
	}
}
