package packet

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/bpf"
)

// This file compiles tcpdump's filter expressions (pcap-filter(7)) to
// classic BPF for Ethernet frames. The subset:
//
//	[ip|ip6|arp|rarp|tcp|udp] [src|dst|src or dst|src and dst] host|net ADDR
//	[tcp|udp] [src|dst|...] port|portrange N[-M]
//	ip ip6 arp rarp tcp udp icmp icmp6 vlan [ID]
//	not, !, and, &&, or, ||, ( )
//
// with tcpdump's rules: "and" and "or" bind equally tightly and associate
// to the left; a bare address or number takes the qualifiers of the
// primitive before it ("host 10.0.0.1 or 10.0.0.2", "port 80 or 443");
// "vlan" moves every test parsed after it four bytes on, as libpcap does.
// The code for each primitive tests what libpcap's does (compare with
// `tcpdump -d`), so a frame passes exactly when it passes tcpdump.

// Snaplen is what an accepting filter returns: the whole frame.
const Snaplen = 262144

// FilterError reports an expression the compiler refuses.
type FilterError struct {
	Expr   string
	Reason string
	Err    error // ErrUnsupported for a word outside the subset, else nil
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("filter %q: %s", e.Expr, e.Reason)
}

func (e *FilterError) Unwrap() error { return e.Err }

// ErrUnsupported is wrapped by a FilterError about a word outside the subset.
var ErrUnsupported = errors.New("unsupported")

// Filter is a compiled expression.
type Filter struct {
	Expr    string
	Program []bpf.Instruction
	raw     []bpf.RawInstruction
	vm      *bpf.VM
}

// Compile turns a tcpdump expression into classic BPF for Ethernet frames.
// The empty expression accepts every frame.
func Compile(expr string) (*Filter, error) {
	p := &parser{expr: expr, toks: tokenize(expr)}
	var tree node = boolNode(true)
	if len(p.toks) > 0 {
		var err error
		tree, err = p.parseExpr()
		if err != nil {
			return nil, err
		}
		if p.pos < len(p.toks) {
			return nil, p.fail("unexpected %q", p.toks[p.pos])
		}
	}
	prog, err := generate(tree)
	if err != nil {
		return nil, &FilterError{Expr: expr, Reason: err.Error()}
	}
	raw, err := bpf.Assemble(prog)
	if err != nil {
		return nil, &FilterError{Expr: expr, Reason: err.Error()}
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return nil, &FilterError{Expr: expr, Reason: err.Error()}
	}
	return &Filter{Expr: expr, Program: prog, raw: raw, vm: vm}, nil
}

// Match runs the program over one frame in user space, as the kernel would.
func (f *Filter) Match(frame []byte) bool {
	if f == nil {
		return true
	}
	n, err := f.vm.Run(frame)
	return err == nil && n > 0
}

// Raw is the assembled program, for SO_ATTACH_FILTER.
func (f *Filter) Raw() []bpf.RawInstruction { return f.raw }

// --- tokens and parsing ---

func tokenize(s string) []string {
	var toks []string
	cur := strings.Builder{}
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, cur.String())
			cur.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			flush()
		case c == '(' || c == ')':
			flush()
			toks = append(toks, string(c))
		case c == '!' && cur.Len() == 0 && !(i+1 < len(s) && s[i+1] == '='):
			toks = append(toks, "!")
		case (c == '&' || c == '|') && i+1 < len(s) && s[i+1] == c:
			flush()
			toks = append(toks, s[i:i+2])
			i++
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	return toks
}

// qual is a primitive's qualifiers: protocol, direction and type.
type qual struct {
	proto string // "", ip, ip6, arp, rarp, tcp, udp
	dir   string // "", src, dst, "src or dst", "src and dst"
	typ   string // host, net, port, portrange
}

type parser struct {
	expr  string
	toks  []string
	pos   int
	last  *qual // qualifiers a bare id inherits
	shift uint32
}

func (p *parser) fail(format string, a ...any) error {
	return &FilterError{Expr: p.expr, Reason: fmt.Sprintf(format, a...)}
}

func (p *parser) unsupported(word string) error {
	return &FilterError{Expr: p.expr, Err: ErrUnsupported, Reason: fmt.Sprintf("%v word %q (sockit knows host, net, mask, port, portrange, src, dst, ip, ip6, arp, rarp, tcp, udp, icmp, icmp6, vlan, and, or, not and parentheses)", ErrUnsupported, word)}
}

func (p *parser) peek(k int) string {
	if p.pos+k < len(p.toks) {
		return strings.ToLower(p.toks[p.pos+k])
	}
	return ""
}

func (p *parser) next() string {
	t := p.peek(0)
	p.pos++
	return t
}

// parseExpr: term { (and|or) term }, left to right with equal precedence.
func (p *parser) parseExpr() (node, error) {
	left, err := p.parseTerm()
	if err != nil {
		return nil, err
	}
	for {
		switch p.peek(0) {
		case "and", "&&":
			p.pos++
			right, err := p.parseTerm()
			if err != nil {
				return nil, err
			}
			left = andNode{left, right}
		case "or", "||":
			p.pos++
			right, err := p.parseTerm()
			if err != nil {
				return nil, err
			}
			left = orNode{left, right}
		default:
			return left, nil
		}
	}
}

func (p *parser) parseTerm() (node, error) {
	switch t := p.peek(0); t {
	case "":
		return nil, p.fail("expression ends where a primitive was expected")
	case "not", "!":
		p.pos++
		n, err := p.parseTerm()
		if err != nil {
			return nil, err
		}
		return notNode{n}, nil
	case "(":
		p.pos++
		n, err := p.parseExpr()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, p.fail("missing ')'")
		}
		return n, nil
	case ")":
		return nil, p.fail("unexpected ')'")
	}
	return p.parsePrimitive()
}

var protoWords = map[string]bool{"ip": true, "ip6": true, "arp": true, "rarp": true, "tcp": true, "udp": true, "icmp": true, "icmp6": true, "vlan": true}
var typeWords = map[string]bool{"host": true, "net": true, "port": true, "portrange": true}

func (p *parser) parsePrimitive() (node, error) {
	var q qual
	start := p.pos
	if w := p.peek(0); protoWords[w] {
		p.pos++
		if w == "vlan" {
			return p.vlan()
		}
		q.proto = w
	}
	switch p.peek(0) {
	case "src", "dst":
		q.dir = p.next()
		// "src or dst" and "src and dst" are directions when a type or an
		// id follows, not boolean operators.
		if c := p.peek(0); (c == "or" || c == "and") && p.peek(1) == map[string]string{"src": "dst", "dst": "src"}[q.dir] {
			q.dir = "src " + c + " dst"
			p.pos += 2
		}
	}
	if w := p.peek(0); typeWords[w] {
		p.pos++
		q.typ = w
	}
	if q.dir == "" && q.typ == "" {
		if q.proto != "" {
			p.last = nil
			return protoNode(q.proto, p.shift)
		}
		// A bare id: it takes the previous primitive's qualifiers.
		w := p.peek(0)
		if w == "" || isKeyword(w) || p.last == nil && !looksLikeAddr(w) {
			if w == "" {
				return nil, p.fail("expression ends where a primitive was expected")
			}
			return nil, p.unsupported(p.toks[p.pos])
		}
		if p.last != nil {
			q = *p.last
		} else {
			q.typ = "host"
		}
	}
	if q.typ == "" {
		q.typ = "host"
	}
	id := p.next()
	if id == "" || isKeyword(id) || id == ")" || id == "(" {
		return nil, p.fail("%q wants a value after it", strings.Join(p.toks[start:p.pos-1], " "))
	}
	id = p.toks[p.pos-1]
	mask := ""
	if q.typ == "net" && p.peek(0) == "mask" {
		p.pos++
		mask = p.next()
		if mask == "" {
			return nil, p.fail("\"mask\" wants a netmask after it")
		}
	}
	saved := q
	p.last = &saved
	n, err := buildPrimitive(q, id, mask, p.shift)
	if err != nil {
		return nil, p.fail("%v", err)
	}
	return n, nil
}

func (p *parser) vlan() (node, error) {
	off := 12 + p.shift
	var n node = orNode{orNode{eq(off, 2, 0x8100), eq(off, 2, 0x88a8)}, eq(off, 2, 0x9100)}
	if w := p.peek(0); w != "" && w[0] >= '0' && w[0] <= '9' {
		p.pos++
		id, err := strconv.ParseUint(w, 0, 16)
		if err != nil || id > 4095 {
			return nil, p.fail("VLAN id %q is not a number from 0 to 4095", w)
		}
		n = andNode{n, atom{load: ld(off+2, 2), and: 0x0fff, cond: bpf.JumpEqual, val: uint32(id)}}
	}
	p.shift += 4
	p.last = nil
	return n, nil
}

func isKeyword(w string) bool {
	switch w {
	case "and", "or", "not", "&&", "||", "!", "(", ")", "src", "dst", "mask":
		return true
	}
	return protoWords[w] || typeWords[w]
}

func looksLikeAddr(w string) bool {
	if _, err := netip.ParseAddr(w); err == nil {
		return true
	}
	_, err := netip.ParsePrefix(w)
	return err == nil
}

// --- primitives as trees of tests ---

// node is a boolean expression over a frame.
type node interface{ isNode() }

type andNode struct{ a, b node }
type orNode struct{ a, b node }
type notNode struct{ a node }
type boolNode bool

// atom loads a value (optionally masked) and compares it with val.
type atom struct {
	load []bpf.Instruction
	and  uint32 // 0: no mask
	cond bpf.JumpTest
	val  uint32
}

func (andNode) isNode()  {}
func (orNode) isNode()   {}
func (notNode) isNode()  {}
func (boolNode) isNode() {}
func (atom) isNode()     {}

func ld(off, size uint32) []bpf.Instruction {
	return []bpf.Instruction{bpf.LoadAbsolute{Off: off, Size: int(size)}}
}

func eq(off, size, val uint32) node {
	return atom{load: ld(off, size), cond: bpf.JumpEqual, val: val}
}

func ors(ns ...node) node {
	n := ns[0]
	for _, m := range ns[1:] {
		n = orNode{n, m}
	}
	return n
}

// Offsets in an Ethernet frame, before any vlan shift.
const (
	offType = 12
	offNet  = 14
)

const (
	ethIPv4 = 0x0800
	ethIPv6 = 0x86dd
	ethARP  = 0x0806
	ethRARP = 0x8035
)

func linkType(t, s uint32) node { return eq(offType+s, 2, t) }

// ipProto is libpcap's gen_proto: for IPv6 the protocol may also sit behind
// one fragment header.
func ipProto(v4, v6 bool, proto uint32, s uint32) node {
	var ns []node
	if v4 {
		ns = append(ns, andNode{linkType(ethIPv4, s), eq(offNet+s+9, 1, proto)})
	}
	if v6 {
		ns = append(ns, andNode{linkType(ethIPv6, s), orNode{
			eq(offNet+s+6, 1, proto),
			andNode{eq(offNet+s+6, 1, 44), eq(offNet+s+40, 1, proto)},
		}})
	}
	return ors(ns...)
}

func protoNode(w string, s uint32) (node, error) {
	switch w {
	case "ip":
		return linkType(ethIPv4, s), nil
	case "ip6":
		return linkType(ethIPv6, s), nil
	case "arp":
		return linkType(ethARP, s), nil
	case "rarp":
		return linkType(ethRARP, s), nil
	case "tcp":
		return ipProto(true, true, 6, s), nil
	case "udp":
		return ipProto(true, true, 17, s), nil
	case "icmp":
		return ipProto(true, false, 1, s), nil
	case "icmp6":
		return ipProto(false, true, 58, s), nil
	}
	return nil, fmt.Errorf("%w word %q", ErrUnsupported, w)
}

// byDir combines a source test and a destination test as the direction says.
func byDir(dir string, src, dst node) node {
	switch dir {
	case "src":
		return src
	case "dst":
		return dst
	case "src and dst":
		return andNode{src, dst}
	}
	return orNode{src, dst}
}

func buildPrimitive(q qual, id, mask string, s uint32) (node, error) {
	switch q.typ {
	case "host", "net":
		return addrPrimitive(q, id, mask, s)
	case "port", "portrange":
		return portPrimitive(q, id, s)
	}
	return nil, fmt.Errorf("%w word %q", ErrUnsupported, q.typ)
}

func addrPrimitive(q qual, id, mask string, s uint32) (node, error) {
	pfx, err := parseNet(q.typ, id, mask)
	if err != nil {
		return nil, err
	}
	switch q.proto {
	case "", "ip", "ip6", "arp", "rarp":
	default:
		return nil, fmt.Errorf("'%s' modifier applied to %s", q.proto, q.typ)
	}
	a := pfx.Addr()
	if a.Is4() {
		if q.proto == "ip6" {
			return nil, fmt.Errorf("%s is not an IPv6 address", id)
		}
		want := binary.BigEndian.Uint32(a.AsSlice())
		m := uint32(0)
		if pfx.Bits() > 0 {
			m = ^uint32(0) << (32 - pfx.Bits())
		}
		word := func(off uint32) node {
			t := atom{load: ld(off, 4), cond: bpf.JumpEqual, val: want & m}
			if m != ^uint32(0) {
				t.and = m
			}
			return t
		}
		n := offNet + s
		ip := andNode{linkType(ethIPv4, s), byDir(q.dir, word(n+12), word(n+16))}
		arpish := byDir(q.dir, word(n+14), word(n+24))
		switch q.proto {
		case "ip":
			return ip, nil
		case "arp":
			return andNode{linkType(ethARP, s), arpish}, nil
		case "rarp":
			return andNode{linkType(ethRARP, s), arpish}, nil
		}
		return orNode{ip, andNode{orNode{linkType(ethARP, s), linkType(ethRARP, s)}, arpish}}, nil
	}
	if q.proto != "" && q.proto != "ip6" {
		return nil, fmt.Errorf("%s is not an IPv4 address", id)
	}
	b := a.As16()
	words := func(off uint32) node {
		var n node
		for i := 0; i < 4; i++ {
			bits := pfx.Bits() - 32*i
			if bits <= 0 {
				break
			}
			m := ^uint32(0)
			if bits < 32 {
				m <<= 32 - bits
			}
			t := atom{load: ld(off+uint32(4*i), 4), cond: bpf.JumpEqual, val: binary.BigEndian.Uint32(b[4*i:]) & m}
			if m != ^uint32(0) {
				t.and = m
			}
			if n == nil {
				n = t
			} else {
				n = andNode{n, t}
			}
		}
		if n == nil {
			return boolNode(true)
		}
		return n
	}
	n := offNet + s
	return andNode{linkType(ethIPv6, s), byDir(q.dir, words(n+8), words(n+24))}, nil
}

// parseNet reads a host address, or for net a CIDR prefix, an address with
// "mask", or tcpdump's short forms ("10", "192.168").
func parseNet(typ, id, mask string) (netip.Prefix, error) {
	if typ == "host" {
		a, err := netip.ParseAddr(id)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("host %q is not an IP address (sockit does not look names up in a filter)", id)
		}
		return netip.PrefixFrom(a.Unmap(), a.BitLen()), nil
	}
	if mask != "" {
		a, err := netip.ParseAddr(id)
		m, err2 := netip.ParseAddr(mask)
		if err != nil || err2 != nil || !a.Is4() || !m.Is4() {
			return netip.Prefix{}, fmt.Errorf("net %s mask %s: want IPv4 address and netmask", id, mask)
		}
		ones, bits := net.IPMask(m.AsSlice()).Size()
		if bits == 0 {
			return netip.Prefix{}, fmt.Errorf("mask %s is not a netmask", mask)
		}
		return checkNet(netip.PrefixFrom(a, ones))
	}
	if p, err := netip.ParsePrefix(id); err == nil {
		return checkNet(p)
	}
	if a, err := netip.ParseAddr(id); err == nil {
		return netip.PrefixFrom(a, a.BitLen()), nil
	}
	// tcpdump's short IPv4 networks: "10" is 10/8, "172.16" is 172.16/16.
	parts := strings.Split(strings.Split(id, "/")[0], ".")
	if len(parts) <= 3 {
		var b [4]byte
		ok := true
		for i, x := range parts {
			v, err := strconv.ParseUint(x, 10, 8)
			if err != nil {
				ok = false
				break
			}
			b[i] = byte(v)
		}
		if ok {
			bits := 8 * len(parts)
			if i := strings.IndexByte(id, '/'); i >= 0 {
				v, err := strconv.Atoi(id[i+1:])
				if err != nil || v < 0 || v > 32 {
					return netip.Prefix{}, fmt.Errorf("net %q: bad prefix length", id)
				}
				bits = v
			}
			return checkNet(netip.PrefixFrom(netip.AddrFrom4(b), bits))
		}
	}
	return netip.Prefix{}, fmt.Errorf("net %q is not an IP network", id)
}

// checkNet refuses host bits outside the mask, as tcpdump does.
func checkNet(p netip.Prefix) (netip.Prefix, error) {
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("non-network bits set in \"%s\"", p)
	}
	return p, nil
}

func portPrimitive(q qual, id string, s uint32) (node, error) {
	var protos []uint32
	switch q.proto {
	case "":
		protos = []uint32{132, 6, 17} // sctp, tcp, udp, in libpcap's order
	case "tcp":
		protos = []uint32{6}
	case "udp":
		protos = []uint32{17}
	default:
		return nil, fmt.Errorf("illegal qualifier of '%s' (%s)", q.typ, q.proto)
	}
	lo, hi, err := parsePorts(q.typ, id, q.proto)
	if err != nil {
		return nil, err
	}
	cmp := func(load []bpf.Instruction) node {
		if lo == hi {
			return atom{load: load, cond: bpf.JumpEqual, val: lo}
		}
		return andNode{
			atom{load: load, cond: bpf.JumpGreaterOrEqual, val: lo},
			notNode{atom{load: load, cond: bpf.JumpGreaterThan, val: hi}},
		}
	}
	n := offNet + s
	protoIs := func(off uint32) node {
		var ns []node
		for _, p := range protos {
			ns = append(ns, eq(off, 1, p))
		}
		return ors(ns...)
	}
	v6 := andNode{andNode{linkType(ethIPv6, s), protoIs(n + 6)},
		byDir(q.dir, cmp(ld(n+40, 2)), cmp(ld(n+42, 2)))}
	ind := func(off uint32) []bpf.Instruction {
		return []bpf.Instruction{bpf.LoadMemShift{Off: n}, bpf.LoadIndirect{Off: n + off, Size: 2}}
	}
	notFrag := notNode{atom{load: ld(n+6, 2), cond: bpf.JumpBitsSet, val: 0x1fff}}
	v4 := andNode{andNode{andNode{linkType(ethIPv4, s), protoIs(n + 9)}, notFrag},
		byDir(q.dir, cmp(ind(0)), cmp(ind(2)))}
	return orNode{v6, v4}, nil
}

func parsePorts(typ, id, proto string) (lo, hi uint32, err error) {
	one := func(s string) (uint32, error) {
		if v, err := strconv.ParseUint(s, 10, 16); err == nil {
			return uint32(v), nil
		}
		// Service names come from /etc/services, never from the network.
		if s == "" || s[0] <= '9' {
			return 0, fmt.Errorf("%s %q is not a port number or service name", typ, s)
		}
		for _, network := range []string{"tcp", "udp"} {
			if v, err := net.LookupPort(network, s); err == nil {
				if proto != "" && proto != network {
					if _, err := net.LookupPort(proto, s); err != nil {
						return 0, fmt.Errorf("port '%s' is %s", s, network)
					}
				}
				return uint32(v), nil
			}
		}
		return 0, fmt.Errorf("%s %q is not a port number or service name", typ, s)
	}
	if typ == "port" {
		v, err := one(id)
		return v, v, err
	}
	a, b, ok := strings.Cut(id, "-")
	if !ok {
		return 0, 0, fmt.Errorf("portrange %q: want LOW-HIGH", id)
	}
	if lo, err = one(a); err != nil {
		return
	}
	if hi, err = one(b); err != nil {
		return
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi, nil
}

// --- code generation ---

// label is a jump target; instructions refer to labels until layout.
type label int

type insn struct {
	ins    bpf.Instruction
	jt, jf label // for a conditional jump
	ja     label // for an unconditional jump (when ins is nil and ja > 0)
	at     label // a label placed here (ins nil, ja 0)
}

type gen struct {
	code   []insn
	labels label
}

func (g *gen) newLabel() label { g.labels++; return g.labels }
func (g *gen) place(l label)   { g.code = append(g.code, insn{at: l}) }

func (g *gen) emit(n node, t, f label) {
	switch n := n.(type) {
	case andNode:
		mid := g.newLabel()
		g.emit(n.a, mid, f)
		g.place(mid)
		g.emit(n.b, t, f)
	case orNode:
		mid := g.newLabel()
		g.emit(n.a, t, mid)
		g.place(mid)
		g.emit(n.b, t, f)
	case notNode:
		g.emit(n.a, f, t)
	case boolNode:
		to := f
		if n {
			to = t
		}
		g.code = append(g.code, insn{ja: to})
	case atom:
		for _, l := range n.load {
			g.code = append(g.code, insn{ins: l})
		}
		if n.and != 0 {
			g.code = append(g.code, insn{ins: bpf.ALUOpConstant{Op: bpf.ALUOpAnd, Val: n.and}})
		}
		g.code = append(g.code, insn{ins: bpf.JumpIf{Cond: n.cond, Val: n.val}, jt: t, jf: f})
	}
}

// generate lays the tree out as a program ending in accept and reject.
// Conditional jumps reach at most 255 instructions on; a farther target is
// reached through an unconditional jump placed after the test.
func generate(tree node) ([]bpf.Instruction, error) {
	g := &gen{}
	accept, reject := g.newLabel(), g.newLabel()
	g.emit(tree, accept, reject)
	g.place(accept)
	g.code = append(g.code, insn{ins: bpf.RetConstant{Val: Snaplen}})
	g.place(reject)
	g.code = append(g.code, insn{ins: bpf.RetConstant{Val: 0}})

	for {
		pos, out := layout(g.code)
		far := -1
		for i, c := range g.code {
			if _, ok := c.ins.(bpf.JumpIf); ok && (pos[c.jt]-out[i]-1 > 255 || pos[c.jf]-out[i]-1 > 255) {
				far = i
				break
			}
		}
		if far < 0 {
			prog := make([]bpf.Instruction, 0, len(g.code))
			for i, c := range g.code {
				switch ins := c.ins.(type) {
				case nil:
					if c.ja != 0 {
						prog = append(prog, bpf.Jump{Skip: uint32(pos[c.ja] - out[i] - 1)})
					}
				case bpf.JumpIf:
					ins.SkipTrue = uint8(pos[c.jt] - out[i] - 1)
					ins.SkipFalse = uint8(pos[c.jf] - out[i] - 1)
					prog = append(prog, ins)
				default:
					prog = append(prog, ins)
				}
			}
			if len(prog) > 4096 {
				return nil, fmt.Errorf("expression compiles to %d instructions (the kernel takes 4096)", len(prog))
			}
			return prog, nil
		}
		// jcond t f  ->  jcond +0 +1; ja t; ja f
		c := g.code[far]
		lt, lf := g.newLabel(), g.newLabel()
		rest := append([]insn{{ins: c.ins, jt: lt, jf: lf}, {at: lt}, {ja: c.jt}, {at: lf}, {ja: c.jf}}, g.code[far+1:]...)
		g.code = append(g.code[:far], rest...)
	}
}

// layout returns each label's instruction index and each entry's.
func layout(code []insn) (pos map[label]int, out []int) {
	pos = map[label]int{}
	out = make([]int, len(code))
	n := 0
	for i, c := range code {
		out[i] = n
		if c.ins == nil && c.ja == 0 {
			pos[c.at] = n
			continue
		}
		n++
	}
	return pos, out
}
