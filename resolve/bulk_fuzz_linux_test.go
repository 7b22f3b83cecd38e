package resolve

import (
	"encoding/binary"
	"net"
	"slices"
	"testing"

	"github.com/miekg/dns"
)

// fuzzEngine is a bulk engine with one query in flight ("a.test." A, in
// slot 0 of entry 0) and no sockets: enough to hand it answers.
func fuzzEngine(id uint16) *bulkEngine {
	e := &bulkEngine{
		r: &Resolver{}, server: "127.0.0.1:53", first: -1, last: -1,
		fds: []int{-1}, byID: [][]int32{make([]int32, 1<<16)}, sendq: make([][]int32, 1), stuck: make([]bool, 1),
		slots: make([]bulkSlot, 1), entries: make([]bulkEntry, 1), order: make([]int32, 1),
		tcpActive: tcpWorkers, // a truncated answer waits its turn: no goroutine, no TCP
	}
	e.entries[0] = bulkEntry{name: "a.test", pending: 1}
	e.busy, e.ocount = 1, 1
	sl := &e.slots[0]
	*sl = bulkSlot{state: slotActive, qtype: dns.TypeA, prev: -1, next: -1, id: id}
	if err := sl.pack("a.test."); err != nil {
		panic(err)
	}
	e.byID[0][id] = 0
	return e
}

// FuzzBulkAnswer hands the bulk engine's answer parser arbitrary bytes with
// the ID of the query in flight: it must never panic or read out of
// bounds, and where miekg/dns reads the same bytes as a NOERROR answer to
// the question, the engine must find the same A records.
func FuzzBulkAnswer(f *testing.F) {
	q := new(dns.Msg)
	q.SetQuestion("a.test.", dns.TypeA)
	q.Id = 7
	add := func(m *dns.Msg) {
		b, err := m.Pack()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	m := new(dns.Msg)
	m.SetReply(q)
	m.Answer = append(m.Answer,
		&dns.A{Hdr: dns.RR_Header{Name: "a.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)},
		&dns.A{Hdr: dns.RR_Header{Name: "a.test.", Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 2)})
	m.Compress = true
	add(m)
	m = new(dns.Msg)
	m.SetReply(q)
	m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: "a.test.", Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: "b.test."})
	add(m)
	m = new(dns.Msg)
	m.SetRcode(q, dns.RcodeServerFailure)
	add(m)
	m = new(dns.Msg)
	m.SetReply(q)
	m.Truncated = true
	add(m)
	f.Add([]byte{0, 7, 0x80, 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, 'a', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 1, 0xff, 0xff})

	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) < 12 { // receive drops these before answer
			return
		}
		e := fuzzEngine(binary.BigEndian.Uint16(msg))
		if err := e.answer(0, msg); err != nil {
			t.Fatalf("answer: %v", err)
		}
		ent := &e.entries[0]
		var want []string
		var parsed dns.Msg
		if parsed.Unpack(msg) != nil || !parsed.Response || parsed.Opcode != 0 || parsed.Rcode != dns.RcodeSuccess || parsed.Truncated ||
			len(parsed.Question) != 1 || parsed.Question[0] != q.Question[0] || !ent.done {
			return
		}
		for _, rr := range parsed.Answer {
			// miekg/dns reads an A record with empty rdata (as in a dynamic
			// update) as a nil address; an answer's A has 4 bytes or is no
			// address (testdata/fuzz/FuzzBulkAnswer/a_record_with_empty_rdata).
			if a, ok := rr.(*dns.A); ok && a.Hdr.Class == dns.ClassINET && a.A.To4() != nil {
				want = append(want, a.A.String())
			}
		}
		var got []string
		for _, a := range ent.addrs {
			got = append(got, a.String())
		}
		if !slices.Equal(got, want) {
			t.Errorf("engine found %v, miekg/dns %v", got, want)
		}
	})
}

// TestBulkIgnoresForeignAnswers: an answer with the right ID but another
// question (name, type or class), or a query instead of an answer, is not
// taken: the query stays in flight, as a resolver must treat a spoofing
// attempt or a stray reply.
func TestBulkIgnoresForeignAnswers(t *testing.T) {
	answer := func(name string, qtype, class uint16, edit func(*dns.Msg)) []byte {
		m := new(dns.Msg)
		m.Id = 42
		m.Response = true
		m.Question = []dns.Question{{Name: name, Qtype: qtype, Qclass: class}}
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(203, 0, 113, 9)}}
		if edit != nil {
			edit(m)
		}
		b, err := m.Pack()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, tt := range []struct {
		what string
		msg  []byte
	}{
		{"another name", answer("b.test.", dns.TypeA, dns.ClassINET, nil)},
		{"another type", answer("a.test.", dns.TypeAAAA, dns.ClassINET, nil)},
		{"another class", answer("a.test.", dns.TypeA, dns.ClassCHAOS, nil)},
		{"a query", answer("a.test.", dns.TypeA, dns.ClassINET, func(m *dns.Msg) { m.Response = false })},
		{"two questions", answer("a.test.", dns.TypeA, dns.ClassINET, func(m *dns.Msg) { m.Question = append(m.Question, m.Question[0]) })},
	} {
		e := fuzzEngine(42)
		if err := e.answer(0, tt.msg); err != nil {
			t.Fatal(err)
		}
		if e.entries[0].done || e.slots[0].state != slotActive || len(e.entries[0].addrs) != 0 {
			t.Errorf("%s: taken (%+v)", tt.what, e.entries[0])
		}
	}
	// The same answer with the question as asked, in other letter case, is.
	e := fuzzEngine(42)
	if err := e.answer(0, answer("A.Test.", dns.TypeA, dns.ClassINET, nil)); err != nil || !e.entries[0].done ||
		len(e.entries[0].addrs) != 1 {
		t.Errorf("the matching answer was not taken: %+v", e.entries[0])
	}
}
