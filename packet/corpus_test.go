package packet

import (
	"net"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// corpus builds frames that exercise every primitive's edge: IP options,
// IPv4 fragments, IPv6 fragment headers, SCTP, ARP and RARP, VLAN and QinQ
// tags, a truncated frame and an 802.3 length frame.
func corpus(t testing.TB) []Frame {
	t.Helper()
	macA, _ := net.ParseMAC("02:00:00:00:00:01")
	macB, _ := net.ParseMAC("02:00:00:00:00:02")
	var frames [][]byte
	ser := func(ls ...gopacket.SerializableLayer) {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		frames = append(frames, append([]byte(nil), buf.Bytes()...))
	}
	eth := func(et layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: et}
	}
	v4 := func(src, dst string, p layers.IPProtocol) *layers.IPv4 {
		return &layers.IPv4{Version: 4, TTL: 64, Protocol: p, SrcIP: net.ParseIP(src).To4(), DstIP: net.ParseIP(dst).To4()}
	}
	v6 := func(src, dst string, p layers.IPProtocol) *layers.IPv6 {
		return &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: p, SrcIP: net.ParseIP(src), DstIP: net.ParseIP(dst)}
	}
	tcp := func(ip gopacket.NetworkLayer, sp, dp int) *layers.TCP {
		l := &layers.TCP{SrcPort: layers.TCPPort(sp), DstPort: layers.TCPPort(dp), SYN: true, Window: 1024}
		_ = l.SetNetworkLayerForChecksum(ip)
		return l
	}
	udp := func(ip gopacket.NetworkLayer, sp, dp int) *layers.UDP {
		l := &layers.UDP{SrcPort: layers.UDPPort(sp), DstPort: layers.UDPPort(dp)}
		_ = l.SetNetworkLayerForChecksum(ip)
		return l
	}
	payload := gopacket.Payload("hello there")

	// IPv4 TCP, both directions, and a service port.
	ip := v4("10.0.0.1", "10.0.0.2", layers.IPProtocolTCP)
	ser(eth(layers.EthernetTypeIPv4), ip, tcp(ip, 40000, 80))
	ip = v4("10.0.0.2", "10.0.0.1", layers.IPProtocolTCP)
	ser(eth(layers.EthernetTypeIPv4), ip, tcp(ip, 80, 40000), payload)
	ip = v4("127.0.0.1", "127.0.0.1", layers.IPProtocolTCP)
	ser(eth(layers.EthernetTypeIPv4), ip, tcp(ip, 51000, 8001), payload)
	// IPv4 UDP.
	ip = v4("192.168.1.5", "192.168.1.255", layers.IPProtocolUDP)
	ser(eth(layers.EthernetTypeIPv4), ip, udp(ip, 5353, 53), payload)
	ip = v4("172.16.5.4", "10.9.8.7", layers.IPProtocolUDP)
	ser(eth(layers.EthernetTypeIPv4), ip, udp(ip, 17, 50017), gopacket.Payload("a quote"))
	// ICMP echo.
	ip = v4("10.1.2.3", "192.0.2.1", layers.IPProtocolICMPv4)
	ser(eth(layers.EthernetTypeIPv4), ip, &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(8, 0), Id: 1, Seq: 1}, payload)
	// A later IPv4 fragment whose first bytes look like ports 80 -> 80.
	ip = v4("10.0.0.1", "10.0.0.2", layers.IPProtocolUDP)
	ip.FragOffset = 185
	ser(eth(layers.EthernetTypeIPv4), ip, gopacket.Payload([]byte{0, 80, 0, 80, 0, 8, 0, 0}))
	// IPv4 with options (IHL 6): the ports sit 4 bytes further on.
	ip = v4("10.0.0.3", "10.0.0.4", layers.IPProtocolTCP)
	ip.Options = []layers.IPv4Option{{OptionType: 1}, {OptionType: 1}, {OptionType: 1}, {OptionType: 0}}
	ser(eth(layers.EthernetTypeIPv4), ip, tcp(ip, 7, 33000), payload)
	// SCTP (proto 132) to port 80.
	ip = v4("10.0.0.5", "10.0.0.6", layers.IPProtocolSCTP)
	ser(eth(layers.EthernetTypeIPv4), ip, gopacket.Payload([]byte{0x1f, 0x90, 0, 80, 0, 0, 0, 0, 0, 0, 0, 0}))
	// IPv6 TCP, UDP and ICMPv6.
	ip6 := v6("fe80::1", "2001:db8::2", layers.IPProtocolTCP)
	ser(eth(layers.EthernetTypeIPv6), ip6, tcp(ip6, 40001, 443), payload)
	ip6 = v6("::1", "::1", layers.IPProtocolUDP)
	ser(eth(layers.EthernetTypeIPv6), ip6, udp(ip6, 50001, 8017))
	ip6 = v6("2001:db8::2", "fe80::1", layers.IPProtocolICMPv6)
	icmp6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(128, 0)}
	_ = icmp6.SetNetworkLayerForChecksum(ip6)
	ser(eth(layers.EthernetTypeIPv6), ip6, icmp6, payload)
	// IPv6 with a fragment header before UDP (port 53) and before ICMPv6.
	ip6 = v6("2001:db8::5", "2001:db8::6", layers.IPProtocolIPv6Fragment)
	ser(eth(layers.EthernetTypeIPv6), ip6, gopacket.Payload([]byte{17, 0, 0, 1, 0, 0, 0, 1, 0x30, 0x39, 0, 53, 0, 8, 0, 0}))
	ip6 = v6("2001:db8::5", "2001:db8::6", layers.IPProtocolIPv6Fragment)
	ser(eth(layers.EthernetTypeIPv6), ip6, gopacket.Payload([]byte{58, 0, 0, 1, 0, 0, 0, 2, 128, 0, 0, 0, 0, 0, 0, 0}))
	// ARP and RARP between 10.0.0.1 and 10.0.0.2.
	arp := &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
		Operation: 1, SourceHwAddress: macA, SourceProtAddress: net.ParseIP("10.0.0.1").To4(), DstHwAddress: make([]byte, 6), DstProtAddress: net.ParseIP("10.0.0.2").To4()}
	ser(eth(layers.EthernetTypeARP), arp)
	ser(eth(layers.EthernetType(0x8035)), arp)
	// VLAN 5 IPv4 TCP to port 80, VLAN 100 IPv6 UDP, QinQ around IPv4.
	ip = v4("10.0.0.7", "10.0.0.8", layers.IPProtocolTCP)
	ser(eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 5, Type: layers.EthernetTypeIPv4}, ip, tcp(ip, 41000, 80))
	ip6 = v6("2001:db8::7", "2001:db8::8", layers.IPProtocolUDP)
	ser(eth(layers.EthernetTypeDot1Q), &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv6}, ip6, udp(ip6, 5000, 13))
	ip = v4("10.0.0.9", "10.0.0.10", layers.IPProtocolUDP)
	ser(eth(layers.EthernetTypeQinQ), &layers.Dot1Q{VLANIdentifier: 7, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 8, Type: layers.EthernetTypeIPv4}, ip, udp(ip, 37, 45000), gopacket.Payload([]byte{0xe9, 0x0, 0x0, 0x0}))
	// Truncated: an IPv4 type with four bytes after it.
	frames = append(frames, append(append(append([]byte{}, macB...), macA...), 0x08, 0x00, 0x45, 0, 0, 20))
	// 802.3 with an LLC header (the type field is a length).
	frames = append(frames, append(append(append([]byte{}, macB...), macA...), 0x00, 0x06, 0x42, 0x42, 0x03, 0, 0, 0))

	out := make([]Frame, len(frames))
	for i, f := range frames {
		out[i] = Frame{Time: time.Unix(int64(1000+i), 0), Length: len(f), Data: f}
	}
	return out
}
