package resolve

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/miekg/dns"
)

// ErrNotFound is wrapped by the error for a name or address that has no
// records ("no such host").
var ErrNotFound = errors.New("resolve: no such host")

// Present writes name as dig presents a name: a byte that is not
// printable ASCII, or a space, as \DDD (its decimal value), and a
// backslash as \\, so that no name from a file or a server reaches a
// terminal raw.
func Present(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c <= ' ' || c >= 0x7f:
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// FamilyError is the error for an address literal of the family
// Resolver.Family excludes (resolve -4 ::1): the question is wrong, not
// the name.
type FamilyError struct{ IPv4 bool }

func (e *FamilyError) Error() string {
	if e.IPv4 {
		return "an IPv4 address, and only IPv6 was asked for"
	}
	return "an IPv6 address, and only IPv4 was asked for"
}

// Resolver looks names up. Its zero value uses the system's rules: the Go
// resolver reading /etc/hosts, /etc/nsswitch.conf and /etc/resolv.conf.
type Resolver struct {
	// Server, if set, is a DNS server ("host" or "host:port", port 53 by
	// default) asked directly over UDP, and over TCP when a reply comes back
	// truncated. /etc/hosts is not read then.
	Server string
	// TCP asks Server over TCP only (dig's +tcp); false means UDP first.
	TCP bool
	// Family keeps only IPv4 (4) or IPv6 (6) addresses; 0 keeps both.
	Family int
	// Timeout bounds each DNS exchange with Server; zero means 5s.
	Timeout time.Duration
}

// Error says which name failed and why.
type Error struct {
	Name string
	Err  error
	// Partial is set when Lookup returned addresses alongside this error:
	// one family's query failed (a server refusing AAAA) while the other
	// was answered.
	Partial bool
}

// Error reads "resolve NAME: why"; a sentinel's own "resolve: " is not
// repeated.
func (e *Error) Error() string {
	return "resolve " + e.Name + ": " + strings.TrimPrefix(e.Err.Error(), "resolve: ")
}

func (e *Error) Unwrap() error { return e.Err }

// Lookup returns every address of name: IPv4 and IPv6, narrowed by Family.
// An IP literal resolves to itself.
//
// With Server set, A and AAAA are separate queries. When one is answered and
// the other fails (other than "no such name"), Lookup returns the addresses
// it got together with an *Error whose Partial is set — getaddrinfo, host
// and dig all show what was answered.
func (r *Resolver) Lookup(ctx context.Context, name string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(name); err == nil {
		if !r.keeps(a) {
			// An address resolves to itself: of the other family, it is
			// the question that is wrong, not the name.
			return nil, &Error{Name: name, Err: &FamilyError{IPv4: a.Is4()}}
		}
		return []netip.Addr{a}, nil
	}
	var addrs []netip.Addr
	var err error
	if r.Server == "" {
		addrs, err = net.DefaultResolver.LookupNetIP(ctx, r.network(), name)
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			err = ErrNotFound
		}
		for i, a := range addrs {
			addrs[i] = a.Unmap()
		}
	} else {
		addrs, err = r.lookupServer(ctx, name)
		if err != nil && len(addrs) > 0 {
			return addrs, &Error{Name: name, Err: err, Partial: true}
		}
	}
	if err != nil {
		return nil, &Error{Name: name, Err: err}
	}
	return r.filter(name, addrs)
}

func (r *Resolver) network() string {
	switch r.Family {
	case 4:
		return "ip4"
	case 6:
		return "ip6"
	}
	return "ip"
}

func (r *Resolver) filter(name string, in []netip.Addr) ([]netip.Addr, error) {
	out := in[:0:0]
	for _, a := range in {
		if r.keeps(a) {
			out = append(out, a)
		}
	}
	if len(out) == 0 {
		return nil, &Error{Name: name, Err: ErrNotFound}
	}
	return out, nil
}

// keeps reports whether a is of the family Family asks for.
func (r *Resolver) keeps(a netip.Addr) bool {
	return !(r.Family == 4 && !a.Is4() || r.Family == 6 && a.Is4())
}

// Reverse returns the names an address maps back to (PTR records, or
// /etc/hosts with the system resolver).
func (r *Resolver) Reverse(ctx context.Context, addr string) ([]string, error) {
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return nil, &Error{Name: addr, Err: fmt.Errorf("not an IP address")}
	}
	var names []string
	if r.Server == "" {
		names, err = net.DefaultResolver.LookupAddr(ctx, a.String())
		var de *net.DNSError
		if errors.As(err, &de) && de.IsNotFound {
			err = ErrNotFound
		}
	} else {
		arpa, _ := dns.ReverseAddr(a.String())
		var rrs []dns.RR
		rrs, err = r.query(ctx, arpa, dns.TypePTR)
		for _, rr := range rrs {
			if p, ok := rr.(*dns.PTR); ok {
				names = append(names, p.Ptr)
			}
		}
	}
	if err == nil && len(names) == 0 {
		err = ErrNotFound
	}
	for i, n := range names {
		names[i] = strings.TrimSuffix(n, ".")
	}
	if err != nil {
		return nil, &Error{Name: addr, Err: err}
	}
	return names, nil
}

func (r *Resolver) server() string {
	if _, _, err := net.SplitHostPort(r.Server); err == nil {
		return r.Server
	}
	return net.JoinHostPort(strings.Trim(r.Server, "[]"), "53")
}

// lookupServer asks Server for A and AAAA records, both at once (as
// glibc's getaddrinfo does), so a lookup waits for the slower of the two,
// not their sum: a server that never answers costs one Timeout. CNAME
// chains the server did not flatten are followed (at most 8 links). When
// one type fails and the other gave addresses, it returns both the
// addresses and the failure.
func (r *Resolver) lookupServer(ctx context.Context, name string) ([]netip.Addr, error) {
	var types []uint16
	if r.Family != 6 {
		types = append(types, dns.TypeA)
	}
	if r.Family != 4 {
		types = append(types, dns.TypeAAAA)
	}
	type answer struct {
		addrs []netip.Addr
		err   error
	}
	answers := make([]answer, len(types))
	var wg sync.WaitGroup
	for i, t := range types {
		wg.Go(func() {
			got, err := r.lookupType(ctx, name, t)
			if err != nil && !errors.Is(err, ErrNotFound) {
				err = fmt.Errorf("%s query: %w", dns.TypeToString[t], err)
			}
			answers[i] = answer{got, err}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	var addrs []netip.Addr
	var failed error
	for _, a := range answers {
		if a.err != nil && !errors.Is(a.err, ErrNotFound) && failed == nil {
			failed = a.err
		}
		addrs = append(addrs, a.addrs...)
	}
	if failed != nil {
		return addrs, failed
	}
	if len(addrs) == 0 {
		return nil, ErrNotFound
	}
	return addrs, nil
}

// lookupType asks for the records of one type, following CNAMEs.
func (r *Resolver) lookupType(ctx context.Context, name string, t uint16) ([]netip.Addr, error) {
	var addrs []netip.Addr
	target := dns.Fqdn(name)
	for hop := 0; hop < 8; hop++ {
		rrs, err := r.query(ctx, target, t)
		if err != nil {
			return nil, err
		}
		next := ""
		for _, rr := range rrs {
			switch v := rr.(type) {
			case *dns.A:
				a, _ := netip.AddrFromSlice(v.A.To4())
				addrs = append(addrs, a)
			case *dns.AAAA:
				a, _ := netip.AddrFromSlice(v.AAAA.To16())
				addrs = append(addrs, a)
			case *dns.CNAME:
				next = v.Target
			}
		}
		if len(addrs) > 0 || next == "" {
			break
		}
		target = next
	}
	return addrs, nil
}

// exchange is c.ExchangeContext, except that canceling ctx ends the wait
// for the answer too (miekg/dns takes only ctx's deadline from it there):
// the connection is closed, and the lookup ends with ctx's error at once.
func exchange(ctx context.Context, c *dns.Client, m *dns.Msg, addr string) (*dns.Msg, error) {
	co, err := c.DialContext(ctx, addr)
	if err != nil {
		return nil, err
	}
	defer co.Close()
	stop := context.AfterFunc(ctx, func() { co.Close() })
	defer stop()
	in, _, err := c.ExchangeWithConnContext(ctx, m, co)
	switch {
	case err != nil && ctx.Err() != nil:
		return nil, ctx.Err()
	case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
		return nil, fmt.Errorf("server %s closed the connection without an answer", addr)
	}
	return in, err
}

// query sends one question, over UDP first and again over TCP if the answer
// was truncated.
func (r *Resolver) query(ctx context.Context, name string, qtype uint16) ([]dns.RR, error) {
	m := new(dns.Msg)
	m.SetQuestion(name, qtype)
	m.RecursionDesired = true
	timeout := r.Timeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	c := &dns.Client{Net: "udp", Timeout: timeout}
	if r.TCP {
		c.Net = "tcp"
	}
	in, err := exchange(ctx, c, m, r.server())
	if err == nil && in.Truncated && c.Net == "udp" {
		c.Net = "tcp"
		in, err = exchange(ctx, c, m, r.server())
	}
	if err != nil {
		return nil, err
	}
	switch in.Rcode {
	case dns.RcodeSuccess:
		return in.Answer, nil
	case dns.RcodeNameError:
		return nil, ErrNotFound
	default:
		return nil, fmt.Errorf("server %s answered %s", r.server(), dns.RcodeToString[in.Rcode])
	}
}
