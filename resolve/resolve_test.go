package resolve_test

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/miekg/dns"
	"go.uber.org/goleak"

	"github.com/sockit/sockit/resolve"
	"github.com/sockit/sockit/sockittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// dnsServer serves a small zone on 127.0.0.1:0 over UDP and TCP and counts
// the TCP queries, so a test can see truncation fall back to TCP.
type dnsServer struct {
	addr       string
	tcpQueries atomic.Int64
}

func startDNS(t *testing.T) *dnsServer {
	t.Helper()
	s := &dnsServer{}
	zone := map[string][]string{
		"host.test. A":                {"host.test. 60 IN A 192.0.2.1", "host.test. 60 IN A 192.0.2.2"},
		"host.test. AAAA":             {"host.test. 60 IN AAAA 2001:db8::1"},
		"v6only.test. AAAA":           {"v6only.test. 60 IN AAAA 2001:db8::6"},
		"alias.test. A":               {"alias.test. 60 IN CNAME host.test."},
		"alias.test. AAAA":            {"alias.test. 60 IN CNAME host.test."},
		"flat.test. A":                {"flat.test. 60 IN CNAME host.test.", "host.test. 60 IN A 192.0.2.1"},
		"1.2.0.192.in-addr.arpa. PTR": {"1.2.0.192.in-addr.arpa. 60 IN PTR host.test."},
		"refused6.test. A":            {"refused6.test. 60 IN A 192.0.2.6"},
	}
	// big.test has more A records than fit a 512-byte UDP reply.
	for i := 1; i <= 60; i++ {
		zone["big.test. A"] = append(zone["big.test. A"], fmt.Sprintf("big.test. 60 IN A 198.51.100.%d", i))
	}
	h := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		if w.RemoteAddr().Network() == "tcp" {
			s.tcpQueries.Add(1)
		}
		m := new(dns.Msg)
		m.SetReply(req)
		q := req.Question[0]
		key := strings.ToLower(q.Name) + " " + dns.TypeToString[q.Qtype]
		known := false
		for k := range zone {
			if strings.HasPrefix(k, strings.ToLower(q.Name)+" ") {
				known = true
			}
		}
		switch {
		case strings.EqualFold(q.Name, "refused6.test.") && q.Qtype == dns.TypeAAAA,
			strings.EqualFold(q.Name, "refused.test."):
			m.Rcode = dns.RcodeRefused
		case !known:
			m.Rcode = dns.RcodeNameError
		}
		for _, s := range zone[key] {
			rr, err := dns.NewRR(s)
			if err != nil {
				panic(err)
			}
			m.Answer = append(m.Answer, rr)
		}
		if w.RemoteAddr().Network() == "udp" {
			m.Truncate(dns.MinMsgSize)
		}
		w.WriteMsg(m)
	})
	s.addr = sockittest.ServeDNS(t, h)
	return s
}

func addrs(ss ...string) []netip.Addr {
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out
}

func TestLookupServer(t *testing.T) {
	s := startDNS(t)
	ctx := context.Background()
	tests := []struct {
		name   string
		family int
		want   []netip.Addr
		err    error
	}{
		{"host.test", 0, addrs("192.0.2.1", "192.0.2.2", "2001:db8::1"), nil},
		{"host.test", 4, addrs("192.0.2.1", "192.0.2.2"), nil},
		{"host.test", 6, addrs("2001:db8::1"), nil},
		{"alias.test", 0, addrs("192.0.2.1", "192.0.2.2", "2001:db8::1"), nil},
		{"flat.test", 4, addrs("192.0.2.1"), nil},
		{"v6only.test", 0, addrs("2001:db8::6"), nil},
		{"v6only.test", 4, nil, resolve.ErrNotFound},
		{"nosuch.test", 0, nil, resolve.ErrNotFound},
		{"192.0.2.9", 0, addrs("192.0.2.9"), nil},
	}
	for _, tt := range tests {
		r := &resolve.Resolver{Server: s.addr, Family: tt.family, Timeout: 2 * time.Second}
		got, err := r.Lookup(ctx, tt.name)
		if !errors.Is(err, tt.err) || (tt.err == nil && err != nil) {
			t.Errorf("Lookup(%s, -%d) error = %v, want %v", tt.name, tt.family, err, tt.err)
			continue
		}
		if err != nil {
			if want := "resolve " + tt.name + ": no such host"; err.Error() != want {
				t.Errorf("error text %q, want %q", err, want)
			}
			continue
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("Lookup(%s, -%d) = %v, want %v", tt.name, tt.family, got, tt.want)
		}
	}
}

// A server refusing AAAA must not cost the A answers: they come back with
// an error that says which query failed and that the result is partial.
func TestLookupPartialFamily(t *testing.T) {
	s := startDNS(t)
	r := &resolve.Resolver{Server: s.addr, Timeout: 2 * time.Second}
	got, err := r.Lookup(context.Background(), "refused6.test")
	var re *resolve.Error
	if !errors.As(err, &re) || !re.Partial || !strings.Contains(err.Error(), "AAAA query") ||
		!strings.Contains(err.Error(), "REFUSED") {
		t.Errorf("error %v, want a partial *Error naming the AAAA query and REFUSED", err)
	}
	if !slices.Equal(got, addrs("192.0.2.6")) {
		t.Errorf("addresses %v, want the A answer 192.0.2.6", got)
	}
	r.Family = 4
	if got, err := r.Lookup(context.Background(), "refused6.test"); err != nil || len(got) != 1 {
		t.Errorf("-4: %v, %v", got, err)
	}
	r.Family = 0
	got, err = r.Lookup(context.Background(), "refused.test")
	if err == nil || errors.As(err, &re) && re.Partial || len(got) != 0 || errors.Is(err, resolve.ErrNotFound) {
		t.Errorf("both refused: %v, %v; want a non-partial REFUSED error and no address", got, err)
	}
}

func TestLookupTCPOnly(t *testing.T) {
	s := startDNS(t)
	r := &resolve.Resolver{Server: s.addr, TCP: true, Family: 4, Timeout: 2 * time.Second}
	got, err := r.Lookup(context.Background(), "host.test")
	if err != nil || len(got) != 2 {
		t.Fatalf("Lookup over TCP = %v, %v", got, err)
	}
	if n := s.tcpQueries.Load(); n != 1 {
		t.Errorf("%d queries over TCP, want 1", n)
	}
}

func TestLookupTruncatedFallsBackToTCP(t *testing.T) {
	s := startDNS(t)
	r := &resolve.Resolver{Server: s.addr, Family: 4, Timeout: 2 * time.Second}
	got, err := r.Lookup(context.Background(), "big.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 60 {
		t.Errorf("got %d addresses, want all 60", len(got))
	}
	if s.tcpQueries.Load() == 0 {
		t.Error("no query came over TCP after a truncated UDP reply")
	}
}

func TestReverse(t *testing.T) {
	s := startDNS(t)
	r := &resolve.Resolver{Server: s.addr, Timeout: 2 * time.Second}
	names, err := r.Reverse(context.Background(), "192.0.2.1")
	if err != nil || !slices.Equal(names, []string{"host.test"}) {
		t.Fatalf("Reverse = %v, %v", names, err)
	}
	if _, err := r.Reverse(context.Background(), "192.0.2.77"); !errors.Is(err, resolve.ErrNotFound) {
		t.Errorf("Reverse of an unknown address: %v", err)
	}
	if _, err := r.Reverse(context.Background(), "not-an-ip"); err == nil {
		t.Error("Reverse of a non-address succeeded")
	}
	// The system resolver answers from /etc/hosts.
	var sys resolve.Resolver
	names, err = sys.Reverse(context.Background(), "127.0.0.1")
	if err != nil || !slices.Contains(names, "localhost") {
		t.Errorf("system Reverse(127.0.0.1) = %v, %v; want localhost from /etc/hosts", names, err)
	}
}

func TestLookupHostsFile(t *testing.T) {
	var r resolve.Resolver
	got, err := r.Lookup(context.Background(), "localhost")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, netip.MustParseAddr("127.0.0.1")) {
		t.Errorf("localhost = %v, want 127.0.0.1 among them (/etc/hosts)", got)
	}
	r.Family = 4
	got, _ = r.Lookup(context.Background(), "localhost")
	for _, a := range got {
		if !a.Is4() {
			t.Errorf("-4 gave %v", a)
		}
	}
}

func TestEachKeepsInputOrder(t *testing.T) {
	s := startDNS(t)
	r := &resolve.Resolver{Server: s.addr, Family: 4, Timeout: 2 * time.Second}
	in := []string{"big.test", "host.test", "nosuch.test", "flat.test", "192.0.2.3"}
	var got []string
	err := r.Each(context.Background(), slices.Values(in), 3, false, func(res resolve.Result) error {
		got = append(got, res.Name)
		if (res.Err != nil) != (res.Name == "nosuch.test") {
			t.Errorf("%s: err %v", res.Name, res.Err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, in) {
		t.Errorf("order %v, want %v", got, in)
	}
}
