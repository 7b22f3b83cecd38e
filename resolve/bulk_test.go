package resolve_test

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/sockit/sockit/resolve"
	"github.com/sockit/sockit/sockittest"
)

// bulkZone answers n<i>.test the same way every time, by i:
//
//	i%10 == 3   NXDOMAIN
//	i%10 == 7   SERVFAIL for both types
//	i%10 == 9   A answered, AAAA REFUSED (a partial answer)
//	i%101 == 5   the first query of each type is dropped (a timeout), the
//	            next one answered
//	otherwise   A 10.0.x.y, and an AAAA 2001:db8::i for even i
//
// It also serves alias.test (a CNAME it does not follow) and big.test (an
// answer truncated over UDP), and counts the queries it saw.
type bulkZone struct {
	mu      sync.Mutex
	seen    map[string]int // name and type: queries so far
	queries atomic.Int64
	tcp     atomic.Int64
}

func bulkA(i int) netip.Addr    { return netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}) }
func bulkAAAA(i int) netip.Addr { return netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i)) }

func (z *bulkZone) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	z.queries.Add(1)
	tcp := w.RemoteAddr().Network() == "tcp"
	if tcp {
		z.tcp.Add(1)
	}
	q := req.Question[0]
	m := new(dns.Msg)
	m.SetReply(req)
	name := strings.ToLower(q.Name)
	switch name {
	case "alias.test.":
		m.Answer = append(m.Answer, &dns.CNAME{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeCNAME, Class: dns.ClassINET, Ttl: 60}, Target: "n1.test."})
		w.WriteMsg(m)
		return
	case "big.test.":
		for i := range 100 {
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: bulkA(i).AsSlice()})
		}
		if !tcp {
			m.Truncate(512)
		}
		w.WriteMsg(m)
		return
	}
	var i int
	if _, err := fmt.Sscanf(name, "n%d.test.", &i); err != nil {
		m.Rcode = dns.RcodeNameError
		w.WriteMsg(m)
		return
	}
	z.mu.Lock()
	key := name + dns.TypeToString[q.Qtype]
	z.seen[key]++
	first := z.seen[key] == 1
	z.mu.Unlock()
	if i%101 == 5 && first {
		return // dropped: the client must ask again
	}
	hdr := dns.RR_Header{Name: q.Name, Class: dns.ClassINET, Ttl: 60}
	switch {
	case i%10 == 3:
		m.Rcode = dns.RcodeNameError
	case i%10 == 7:
		m.Rcode = dns.RcodeServerFailure
	case i%10 == 9 && q.Qtype == dns.TypeAAAA:
		m.Rcode = dns.RcodeRefused
	case q.Qtype == dns.TypeA:
		hdr.Rrtype = dns.TypeA
		m.Answer = append(m.Answer, &dns.A{Hdr: hdr, A: bulkA(i).AsSlice()})
	case q.Qtype == dns.TypeAAAA && i%2 == 0:
		hdr.Rrtype = dns.TypeAAAA
		m.Answer = append(m.Answer, &dns.AAAA{Hdr: hdr, AAAA: bulkAAAA(i).AsSlice()})
	}
	w.WriteMsg(m)
}

func startBulkZone(t *testing.T) (*bulkZone, string) {
	z := &bulkZone{seen: map[string]int{}}
	return z, sockittest.ServeDNS(t, z)
}

func bulkNames(n int) iter.Seq[string] {
	return func(yield func(string) bool) {
		for i := range n {
			if !yield(fmt.Sprintf("n%d.test", i)) {
				return
			}
		}
	}
}

// checkBulk checks one result against the zone's rules for n<i>.test.
func checkBulk(t *testing.T, i int, res resolve.Result, family int) {
	t.Helper()
	var want []string
	if i%10 != 3 && i%10 != 7 {
		if family != 6 {
			want = append(want, bulkA(i).String())
		}
		if family != 4 && i%2 == 0 && i%10 != 9 {
			want = append(want, bulkAAAA(i).String())
		}
	}
	if !slices.Equal(res.Addrs, want) {
		t.Errorf("%s: addresses %v, want %v", res.Name, res.Addrs, want)
	}
	var re *resolve.Error
	var rc *resolve.RcodeError
	switch {
	case i%10 == 3:
		if !errors.Is(res.Err, resolve.ErrNotFound) {
			t.Errorf("%s: error %v, want no such host", res.Name, res.Err)
		}
	case i%10 == 7:
		if !errors.As(res.Err, &rc) || rc.Rcode != dns.RcodeServerFailure || errors.As(res.Err, &re) && re.Partial {
			t.Errorf("%s: error %v, want SERVFAIL", res.Name, res.Err)
		}
	case i%10 == 9 && family != 4:
		if !errors.As(res.Err, &rc) || rc.Rcode != dns.RcodeRefused || !errors.As(res.Err, &re) || !re.Partial ||
			!strings.Contains(res.Err.Error(), "AAAA query") {
			t.Errorf("%s: error %v, want a partial AAAA REFUSED", res.Name, res.Err)
		}
	case i%2 == 1 && family == 6:
		if !errors.Is(res.Err, resolve.ErrNotFound) {
			t.Errorf("%s: error %v, want no such host (no AAAA)", res.Name, res.Err)
		}
	default:
		if res.Err != nil {
			t.Errorf("%s: error %v", res.Name, res.Err)
		}
	}
}

// TestBulkAccountsForEveryName resolves 10,000 names through the bulk
// engine against a server that answers, refuses, fails and drops: every
// name comes back once, in input order, with its answer or its RCODE, and
// the dropped queries were asked again.
func TestBulkAccountsForEveryName(t *testing.T) {
	const n = 10000
	for _, family := range []int{0, 4} {
		t.Run(fmt.Sprintf("family%d", family), func(t *testing.T) {
			z, addr := startBulkZone(t)
			// 64 in flight stay well inside the test server's socket buffer:
			// the only losses are the zone's own drops (a loaded machine
			// running the race detector still gets three tries of 300 ms).
			r := &resolve.Resolver{Server: addr, Family: family, Timeout: 300 * time.Millisecond}
			next := 0
			err := r.Bulk(context.Background(), bulkNames(n), resolve.BulkOptions{Window: 64}, func(res resolve.Result) error {
				if want := fmt.Sprintf("n%d.test", next); res.Name != want {
					t.Fatalf("result %d is %s, want %s (input order)", next, res.Name, want)
				}
				checkBulk(t, next, res, family)
				next++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if next != n {
				t.Fatalf("%d results for %d names", next, n)
			}
			types := 2
			if family != 0 {
				types = 1
			}
			dropped := (n + 100 - 5) / 101 * types
			if got := z.queries.Load(); got < int64(n*types+dropped) {
				t.Errorf("server saw %d queries, want at least %d (each name's, and the dropped ones again)", got, n*types+dropped)
			}
		})
	}
}

func TestBulkUnordered(t *testing.T) {
	const n = 3000
	_, addr := startBulkZone(t)
	r := &resolve.Resolver{Server: addr, Family: 4, Timeout: 100 * time.Millisecond}
	seen := make(map[string]bool)
	inOrder := true
	err := r.Bulk(context.Background(), bulkNames(n), resolve.BulkOptions{Window: 64, Unordered: true}, func(res resolve.Result) error {
		var i int
		fmt.Sscanf(res.Name, "n%d.test", &i)
		if seen[res.Name] {
			t.Errorf("%s emitted twice", res.Name)
		}
		if i != len(seen) {
			inOrder = false
		}
		seen[res.Name] = true
		checkBulk(t, i, res, 4)
		return nil
	})
	if err != nil || len(seen) != n {
		t.Fatalf("%d of %d names, err %v", len(seen), n, err)
	}
	// The dropped names wait 100 ms for their second try: the others pass them.
	if inOrder {
		t.Error("unordered results came in input order although some names waited on a retry")
	}
}

// TestBulkIPv6Server asks a server on [::1], over AF_INET6 sockets.
func TestBulkIPv6Server(t *testing.T) {
	pc, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	done := make(chan struct{})
	go func() { answerLoop(pc); close(done) }()
	defer func() { pc.Close(); <-done }()
	port := pc.LocalAddr().(*net.UDPAddr).Port
	// Also with a zone, as a link-local server needs one (lo is index 1).
	for _, server := range []string{pc.LocalAddr().String(), fmt.Sprintf("[::1%%lo]:%d", port)} {
		r := &resolve.Resolver{Server: server, Family: 4, Timeout: time.Second}
		var got []resolve.Result
		err = r.Bulk(context.Background(), bulkNames(100), resolve.BulkOptions{},
			func(res resolve.Result) error { got = append(got, res); return nil })
		if err != nil || len(got) != 100 {
			t.Fatalf("%s: %d results, %v", server, len(got), err)
		}
		for _, res := range got {
			if res.Err != nil || !slices.Equal(res.Addrs, []string{"192.0.2.1"}) {
				t.Errorf("%s: %+v", server, res)
			}
		}
	}
}

func TestBulkTimeoutAfterRetries(t *testing.T) {
	// A server that never answers.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var got atomic.Int64
	go func() {
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			got.Add(1)
		}
	}()
	r := &resolve.Resolver{Server: pc.LocalAddr().String(), Family: 4, Timeout: 30 * time.Millisecond}
	var results []resolve.Result
	err = r.Bulk(context.Background(), slices.Values([]string{"a.test", "b.test"}), resolve.BulkOptions{Retries: 3},
		func(res resolve.Result) error { results = append(results, res); return nil })
	if err != nil || len(results) != 2 {
		t.Fatalf("%d results, %v", len(results), err)
	}
	for _, res := range results {
		var te *resolve.TimeoutError
		if !errors.As(res.Err, &te) || te.Tries != 4 || !strings.Contains(res.Err.Error(), "after 4 tries") {
			t.Errorf("%s: %v, want a timeout after 4 tries", res.Name, res.Err)
		}
	}
	sockittest.Eventually(t, 5*time.Second, "8 queries reach the server", func() bool { return got.Load() == 8 })
}

func TestBulkFollowsCNAMEAndTruncation(t *testing.T) {
	z, addr := startBulkZone(t)
	r := &resolve.Resolver{Server: addr, Family: 4, Timeout: time.Second}
	in := []string{"alias.test", "big.test", "192.0.2.7", "2001:db8::1", "bad..name", "nosuch.test"}
	var results []resolve.Result
	err := r.Bulk(context.Background(), slices.Values(in), resolve.BulkOptions{},
		func(res resolve.Result) error { results = append(results, res); return nil })
	if err != nil || len(results) != len(in) {
		t.Fatalf("%d results, %v", len(results), err)
	}
	if res := results[0]; res.Err != nil || !slices.Equal(res.Addrs, []string{bulkA(1).String()}) {
		t.Errorf("CNAME: %+v", res)
	}
	if res := results[1]; res.Err != nil || len(res.Addrs) != 100 || z.tcp.Load() != 1 {
		t.Errorf("truncated: %d addresses, %v, %d TCP queries", len(res.Addrs), res.Err, z.tcp.Load())
	}
	if res := results[2]; res.Err != nil || !slices.Equal(res.Addrs, []string{"192.0.2.7"}) {
		t.Errorf("literal: %+v", res)
	}
	if res := results[3]; !errors.Is(res.Err, resolve.ErrNotFound) {
		t.Errorf("IPv6 literal with -4: %+v", res)
	}
	if res := results[4]; res.Err == nil || !strings.Contains(res.Err.Error(), "not a valid domain name") {
		t.Errorf("bad name: %+v", res)
	}
	if res := results[5]; !errors.Is(res.Err, resolve.ErrNotFound) {
		t.Errorf("NXDOMAIN: %+v", res)
	}
}

func TestBulkReverse(t *testing.T) {
	s := startDNS(t)
	r := &resolve.Resolver{Server: s.addr, Timeout: time.Second}
	var results []resolve.Result
	err := r.Bulk(context.Background(), slices.Values([]string{"192.0.2.1", "192.0.2.77", "localhost"}), resolve.BulkOptions{Reverse: true},
		func(res resolve.Result) error { results = append(results, res); return nil })
	if err != nil || len(results) != 3 {
		t.Fatalf("%v %v", results, err)
	}
	if !slices.Equal(results[0].Addrs, []string{"host.test"}) || results[0].Err != nil {
		t.Errorf("PTR: %+v", results[0])
	}
	if !errors.Is(results[1].Err, resolve.ErrNotFound) {
		t.Errorf("no PTR: %+v", results[1])
	}
	if results[2].Err == nil || !strings.Contains(results[2].Err.Error(), "not an IP address") {
		t.Errorf("not an address: %+v", results[2])
	}
}

// TestBulkRate checks --rate's bound from below: 300 queries at 3,000 a
// second cannot all leave in less than 90 ms (10 ms of burst allowed).
func TestBulkRate(t *testing.T) {
	z, addr := startBulkZone(t)
	r := &resolve.Resolver{Server: addr, Family: 4, Timeout: time.Second}
	start := time.Now()
	names := func(yield func(string) bool) {
		for i := range 300 {
			if !yield(fmt.Sprintf("n%d.test", 101*i)) { // answered on the first try
				return
			}
		}
	}
	err := r.Bulk(context.Background(), names, resolve.BulkOptions{Rate: 3000}, func(resolve.Result) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el < 85*time.Millisecond {
		t.Errorf("300 queries at --rate 3000 took %v, want at least 90 ms", el)
	}
	if z.queries.Load() != 300 {
		t.Errorf("%d queries", z.queries.Load())
	}
}

func TestBulkStops(t *testing.T) {
	_, addr := startBulkZone(t)
	r := &resolve.Resolver{Server: addr, Family: 4, Timeout: 100 * time.Millisecond}
	// emit's error ends the run.
	stop := errors.New("enough")
	count := 0
	err := r.Bulk(context.Background(), bulkNames(100000), resolve.BulkOptions{}, func(resolve.Result) error {
		count++
		if count == 500 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || count != 500 {
		t.Errorf("emit error: %v after %d", err, count)
	}
	// The context's end too, even while every query waits on a 5 s timeout.
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	silent := &resolve.Resolver{Server: pc.LocalAddr().String(), Family: 4, Timeout: 5 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- silent.Bulk(ctx, bulkNames(1000), resolve.BulkOptions{}, func(resolve.Result) error { return nil })
	}()
	buf := make([]byte, 512)
	if _, _, err := pc.ReadFrom(buf); err != nil { // a query is out: the engine runs
		t.Fatal(err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("after cancel: %v", err)
	}
}

func TestBulkRefused(t *testing.T) {
	port := sockittest.FreePort(t)
	r := &resolve.Resolver{Server: fmt.Sprintf("127.0.0.1:%d", port), Family: 4, Timeout: 5 * time.Second}
	start := time.Now()
	err := r.Bulk(context.Background(), bulkNames(10), resolve.BulkOptions{}, func(resolve.Result) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "query udp 127.0.0.1:") || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("no server: %v, want connection refused", err)
	}
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("took %v: it waited for the timeout instead of the ICMP error", el)
	}
}

// TestBulkAgainstNSD resolves a generated zone through a real NSD (from
// the nsd package), as perf/compare-resolve does at scale.
func TestBulkAgainstNSD(t *testing.T) {
	nsd := sockittest.RequireTool(t, "nsd")
	if os.Getuid() != 0 {
		t.Skip("NSD's config here runs it as the current user, which it allows only for root")
	}
	const n = 2000
	dir := t.TempDir()
	var zone, names strings.Builder
	zone.WriteString("$TTL 60\n@ IN SOA ns.nsd.test. admin.nsd.test. 1 3600 900 604800 60\n@ IN NS ns.nsd.test.\nns IN A 127.0.0.1\n")
	for i := range n {
		if i%10 != 3 {
			fmt.Fprintf(&zone, "h%d IN A %s\n", i, bulkA(i))
		}
		if i%2 == 0 && i%10 != 3 {
			fmt.Fprintf(&zone, "h%d IN AAAA %s\n", i, bulkAAAA(i))
		}
		fmt.Fprintf(&names, "h%d.nsd.test\n", i)
	}
	fmt.Fprintf(&zone, "www IN CNAME h1\n")
	must(t, os.WriteFile(filepath.Join(dir, "nsd.test.zone"), []byte(zone.String()), 0o644))
	port := sockittest.FreePort(t)
	conf := fmt.Sprintf(`server:
  ip-address: 127.0.0.1
  port: %d
  username: ""
  chroot: ""
  zonesdir: %q
  database: ""
  zonelistfile: %q
  xfrdfile: %q
  xfrdir: %q
  pidfile: %q
  server-count: 1
  verbosity: 1
  rrl-ratelimit: 0
remote-control:
  control-enable: no
zone:
  name: nsd.test
  zonefile: %q
`, port, dir, filepath.Join(dir, "zone.list"), filepath.Join(dir, "xfrd.state"), dir, filepath.Join(dir, "nsd.pid"), filepath.Join(dir, "nsd.test.zone"))
	must(t, os.WriteFile(filepath.Join(dir, "nsd.conf"), []byte(conf), 0o644))
	cmd := exec.Command(nsd, "-d", "-c", filepath.Join(dir, "nsd.conf"))
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	must(t, cmd.Start())
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	server := fmt.Sprintf("127.0.0.1:%d", port)
	probe := &resolve.Resolver{Server: server, Family: 4, Timeout: 50 * time.Millisecond}
	sockittest.Eventually(t, 10*time.Second, "NSD answers", func() bool {
		select {
		case <-exited:
			t.Fatalf("nsd exited: %s", logs.String())
		default:
		}
		_, err := probe.Lookup(context.Background(), "h0.nsd.test")
		return err == nil
	})

	r := &resolve.Resolver{Server: server, Timeout: time.Second}
	list := slices.Collect(strings.Lines(names.String()))
	list = append(list, "www.nsd.test", "nosuch.nsd.test")
	i := 0
	err := r.Bulk(context.Background(), func(yield func(string) bool) {
		for _, l := range list {
			if !yield(strings.TrimSpace(l)) {
				return
			}
		}
	}, resolve.BulkOptions{}, func(res resolve.Result) error {
		defer func() { i++ }()
		switch {
		case i == n: // www, a CNAME NSD answers with its target's records
			if res.Err != nil || !slices.Equal(res.Addrs, []string{bulkA(1).String()}) {
				t.Errorf("%s: %+v", res.Name, res)
			}
			return nil
		case i == n+1:
			if !errors.Is(res.Err, resolve.ErrNotFound) {
				t.Errorf("%s: %+v", res.Name, res)
			}
			return nil
		}
		var want []string
		if i%10 != 3 {
			want = append(want, bulkA(i).String())
			if i%2 == 0 {
				want = append(want, bulkAAAA(i).String())
			}
		}
		if res.Name != fmt.Sprintf("h%d.nsd.test", i) || !slices.Equal(res.Addrs, want) ||
			(i%10 == 3) != errors.Is(res.Err, resolve.ErrNotFound) || (i%10 != 3 && res.Err != nil) {
			t.Errorf("result %d: %+v, want %v", i, res, want)
		}
		return nil
	})
	if err != nil || i != len(list) {
		t.Fatalf("%d of %d results, %v", i, len(list), err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
