package packet

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sockit/sockit/proto"
)

// Summary is one frame, decoded: what `sockit packet` prints as a line or,
// with --json, as an object.
type Summary struct {
	Time   time.Time `json:"time"`
	Length int       `json:"len"`
	// Link is "eth", with the VLAN ids in VLAN.
	Link string   `json:"link"`
	VLAN []uint16 `json:"vlan,omitempty"`
	// Net is IPv4, IPv6, ARP, or the EtherType in hex.
	Net   string `json:"net"`
	Src   string `json:"src,omitempty"`
	Dst   string `json:"dst,omitempty"`
	Proto string `json:"proto,omitempty"` // TCP, UDP, ICMP, ICMPv6, or the IP protocol number
	SPort int    `json:"sport,omitempty"`
	DPort int    `json:"dport,omitempty"`
	// Info is the transport's summary: TCP flags, sequence numbers and
	// window; the ICMP type; an ARP question or answer.
	Info    string `json:"info,omitempty"`
	Payload int    `json:"payload"`
	// App names the service a port or the payload shows (echo, daytime,
	// http...) and AppInfo is its one-liner ("echo 11 B", "GET /").
	App     string `json:"app,omitempty"`
	AppInfo string `json:"app_info,omitempty"`

	transport bool // a TCP or UDP header was decoded
}

// Decoder turns frames into Summaries, reusing its layers between frames
// (gopacket's DecodingLayerParser: no allocation per layer).
type Decoder struct {
	// Services maps a port to the name of a registered protocol (echo,
	// discard, chargen, qotd, daytime, time: package proto), which
	// describes the payloads to and from it; nil decodes HTTP only.
	Services map[uint16]string

	parser  *gopacket.DecodingLayerParser
	eth     layers.Ethernet
	dot1q   layers.Dot1Q
	ip4     layers.IPv4
	ip6     layers.IPv6
	ip6frag layers.IPv6Fragment
	tcp     layers.TCP
	udp     layers.UDP
	icmp4   layers.ICMPv4
	icmp6   layers.ICMPv6
	arp     layers.ARP
	payload gopacket.Payload
	decoded []gopacket.LayerType
}

// NewDecoder returns a Decoder that knows the given service ports.
func NewDecoder(services map[uint16]string) *Decoder {
	d := &Decoder{Services: services}
	d.parser = gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet,
		&d.eth, &d.dot1q, &d.ip4, &d.ip6, &d.ip6frag, &d.tcp, &d.udp, &d.icmp4, &d.icmp6, &d.arp, &d.payload)
	d.parser.IgnoreUnsupported = true
	return d
}

// Decode summarises one frame. A frame cut short decodes as far as it goes.
func (d *Decoder) Decode(f Frame) Summary {
	s := Summary{Time: f.Time, Length: f.Length, Link: "eth"}
	d.decoded = d.decoded[:0]
	_ = d.parser.DecodeLayers(f.Data, &d.decoded)
	var app []byte
	for _, lt := range d.decoded {
		switch lt {
		case layers.LayerTypeEthernet:
			s.Net = fmt.Sprintf("0x%04x", uint16(d.eth.EthernetType))
			if d.eth.EthernetType < 0x0600 {
				s.Net = "802.3"
			}
		case layers.LayerTypeDot1Q:
			// The parser reuses one Dot1Q layer for stacked tags; the ids
			// are read from the frame below.
			s.Net = fmt.Sprintf("0x%04x", uint16(d.dot1q.Type))
		case layers.LayerTypeIPv4:
			s.Net, s.Src, s.Dst = "IPv4", d.ip4.SrcIP.String(), d.ip4.DstIP.String()
			s.Proto = protoName(d.ip4.Protocol)
			if d.ip4.FragOffset != 0 {
				s.Info = fmt.Sprintf("fragment offset %d", int(d.ip4.FragOffset)*8)
			}
		case layers.LayerTypeIPv6:
			s.Net, s.Src, s.Dst = "IPv6", d.ip6.SrcIP.String(), d.ip6.DstIP.String()
			s.Proto = protoName(d.ip6.NextHeader)
			if d.ip6.HopByHop != nil {
				// Hop-by-hop options first (MLD reports): name what follows.
				s.Proto = protoName(d.ip6.HopByHop.NextHeader)
			}
		case layers.LayerTypeIPv6Fragment:
			s.Proto = protoName(d.ip6frag.NextHeader)
			s.Info = fmt.Sprintf("fragment offset %d", int(d.ip6frag.FragmentOffset)*8)
		case layers.LayerTypeTCP:
			t := &d.tcp
			s.SPort, s.DPort = int(t.SrcPort), int(t.DstPort)
			s.Info = fmt.Sprintf("[%s] seq %d", tcpFlags(t), t.Seq)
			if t.ACK {
				s.Info += fmt.Sprintf(" ack %d", t.Ack)
			}
			s.Info += fmt.Sprintf(" win %d", t.Window)
			app = t.Payload
			s.transport = true
		case layers.LayerTypeUDP:
			s.transport = true
			s.SPort, s.DPort = int(d.udp.SrcPort), int(d.udp.DstPort)
			app = d.udp.Payload
		case layers.LayerTypeICMPv4:
			s.Info = d.icmp4.TypeCode.String()
			if t := d.icmp4.TypeCode.Type(); t == layers.ICMPv4TypeEchoRequest || t == layers.ICMPv4TypeEchoReply {
				s.Info += fmt.Sprintf(" id %d seq %d", d.icmp4.Id, d.icmp4.Seq)
			}
		case layers.LayerTypeICMPv6:
			s.Info = d.icmp6.TypeCode.String()
		case layers.LayerTypeARP:
			s.Net = "ARP"
			a := &d.arp
			s.Src, s.Dst = net.IP(a.SourceProtAddress).String(), net.IP(a.DstProtAddress).String()
			switch a.Operation {
			case layers.ARPRequest:
				s.Info = fmt.Sprintf("who-has %s tell %s", s.Dst, s.Src)
			case layers.ARPReply:
				s.Info = fmt.Sprintf("reply %s is-at %s", s.Src, net.HardwareAddr(a.SourceHwAddress))
			default:
				s.Info = fmt.Sprintf("operation %d", a.Operation)
			}
		}
	}
	s.VLAN = vlanIDs(f.Data)
	s.Payload = len(app)
	if s.transport {
		s.App, s.AppInfo = d.application(s, app)
	}
	return s
}

// vlanIDs lists the frame's VLAN tags, outermost first.
func vlanIDs(b []byte) []uint16 {
	var ids []uint16
	for off := 12; off+4 <= len(b); off += 4 {
		switch binary.BigEndian.Uint16(b[off:]) {
		case 0x8100, 0x88a8, 0x9100:
			ids = append(ids, binary.BigEndian.Uint16(b[off+2:])&0x0fff)
		default:
			return ids
		}
	}
	return ids
}

func protoName(p layers.IPProtocol) string {
	switch p {
	case layers.IPProtocolTCP:
		return "TCP"
	case layers.IPProtocolUDP:
		return "UDP"
	case layers.IPProtocolICMPv4:
		return "ICMP"
	case layers.IPProtocolICMPv6:
		return "ICMPv6"
	case layers.IPProtocolSCTP:
		return "SCTP"
	}
	return "proto " + strconv.Itoa(int(p))
}

// tcpFlags writes the flags as tcpdump does: S F R P U E W, "." for ACK.
func tcpFlags(t *layers.TCP) string {
	var b []byte
	for _, f := range []struct {
		on bool
		c  byte
	}{{t.SYN, 'S'}, {t.FIN, 'F'}, {t.RST, 'R'}, {t.PSH, 'P'}, {t.URG, 'U'}, {t.ECE, 'E'}, {t.CWR, 'W'}, {t.ACK, '.'}} {
		if f.on {
			b = append(b, f.c)
		}
	}
	if len(b) == 0 {
		return "none"
	}
	return string(b)
}

var httpMethods = []string{"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "OPTIONS ", "PATCH ", "CONNECT ", "TRACE "}

// application names what the payload carries: HTTP by its first line,
// else a small service by its port. A request (to the service's port) and
// a reply (from it) read differently.
func (d *Decoder) application(s Summary, p []byte) (app, info string) {
	if line, ok := firstLine(p); ok {
		if bytes.HasPrefix(p, []byte("HTTP/1.")) {
			return "http", line
		}
		for _, m := range httpMethods {
			if bytes.HasPrefix(p, []byte(m)) && bytes.Contains([]byte(line), []byte(" HTTP/")) {
				return "http", line
			}
		}
	}
	name, toService := d.Services[uint16(s.DPort)], true
	if name == "" {
		name, toService = d.Services[uint16(s.SPort)], false
	}
	if name == "" || len(p) == 0 && s.Proto == "TCP" {
		return "", ""
	}
	// The protocol describes its own payloads (proto.Protocol.Describe).
	pr, ok := proto.Lookup(name)
	if !ok {
		pr = proto.Protocol{Name: name}
	}
	return name, pr.Summary(p, toService)
}

// firstLine returns the payload's first line if it ends in CRLF within
// the first 256 bytes.
func firstLine(p []byte) (string, bool) {
	head := p[:min(len(p), 256)]
	i := bytes.Index(head, []byte("\r\n"))
	if i <= 0 {
		return "", false
	}
	return string(head[:i]), true
}

// Line formats a Summary as one line, tcpdump-like:
//
//	22:16:17.123456 77 B eth IPv4 127.0.0.1.51000 > 127.0.0.1.8001 TCP [P.] seq 1 ack 1 win 512 len 11: echo 11 B "hello there"
func (s Summary) Line() string {
	var b strings.Builder
	b.WriteString(s.Time.Format("15:04:05.000000"))
	fmt.Fprintf(&b, " %d B %s", s.Length, s.Link)
	for _, v := range s.VLAN {
		fmt.Fprintf(&b, " vlan %d", v)
	}
	b.WriteString(" " + s.Net)
	switch {
	case s.Net == "ARP":
	case s.SPort != 0 || s.DPort != 0:
		fmt.Fprintf(&b, " %s.%d > %s.%d", s.Src, s.SPort, s.Dst, s.DPort)
	case s.Src != "":
		fmt.Fprintf(&b, " %s > %s", s.Src, s.Dst)
	}
	if s.Proto != "" {
		b.WriteString(" " + s.Proto)
	}
	if s.Info != "" {
		b.WriteString(" " + s.Info)
	}
	if s.transport {
		fmt.Fprintf(&b, " len %d", s.Payload)
	}
	if s.AppInfo != "" {
		b.WriteString(": " + s.AppInfo)
	}
	return b.String()
}

// JSON formats a Summary as one JSON object (no newline).
func (s Summary) JSON() string {
	b, _ := json.Marshal(s)
	return string(b)
}
