package packet

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

var testPorts = map[uint16]string{7: "echo", 8001: "echo", 9: "discard", 13: "daytime", 17: "qotd", 19: "chargen", 37: "time", 8017: "qotd"}

func TestDecodeLines(t *testing.T) {
	frames := corpus(t)
	d := NewDecoder(testPorts)
	want := map[int]string{
		0:  "60 B eth IPv4 10.0.0.1.40000 > 10.0.0.2.80 TCP [S] seq 0 win 1024 len 0",
		2:  `65 B eth IPv4 127.0.0.1.51000 > 127.0.0.1.8001 TCP [S] seq 0 win 1024 len 11: echo 11 B "hello there"`,
		4:  `60 B eth IPv4 172.16.5.4.17 > 10.9.8.7.50017 UDP len 7: qotd "a quote"`,
		5:  "60 B eth IPv4 10.1.2.3 > 192.0.2.1 ICMP EchoRequest id 1 seq 1",
		6:  "60 B eth IPv4 10.0.0.1 > 10.0.0.2 UDP fragment offset 1480",
		10: "62 B eth IPv6 ::1.50001 > ::1.8017 UDP len 0: qotd request 0 B",
		14: "60 B eth ARP who-has 10.0.0.2 tell 10.0.0.1",
		16: "60 B eth vlan 5 IPv4 10.0.0.7.41000 > 10.0.0.8.80 TCP [S] seq 0 win 1024 len 0",
		18: "60 B eth vlan 7 vlan 8 IPv4 10.0.0.9.37 > 10.0.0.10.45000 UDP len 4: time 2023-11-16T02:42:08Z",
		19: "18 B eth 0x0800",
		20: "20 B eth 802.3",
	}
	for i, f := range frames {
		line := d.Decode(f).Line()
		// The time is local; the rest is fixed.
		if _, err := time.Parse("15:04:05.000000", line[:15]); err != nil {
			t.Errorf("frame %d: time %q", i, line[:15])
		}
		if w, ok := want[i]; ok && line[16:] != w {
			t.Errorf("frame %d:\n got %s\nwant %s", i, line[16:], w)
		}
		var s Summary
		if err := json.Unmarshal([]byte(d.Decode(f).JSON()), &s); err != nil {
			t.Errorf("frame %d: JSON: %v", i, err)
		}
	}
}

func TestDecodeHTTPAndHostileBytes(t *testing.T) {
	d := NewDecoder(nil)
	for payload, want := range map[string]string{
		"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n":  ": GET /index.html HTTP/1.1",
		"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n": ": HTTP/1.1 200 OK",
		"GET /no-crlf": " len 12",
		"\x1b[2J\r\n":  " len 6",
	} {
		f := tcpFrame(t, 40000, 8080, payload)
		line := d.Decode(f).Line()
		if !strings.HasSuffix(line, want) {
			t.Errorf("%q: %s, want suffix %q", payload, line, want)
		}
	}
	// Terminal escapes in a payload shown by a service decoder stay quoted.
	d = NewDecoder(testPorts)
	line := d.Decode(tcpFrame(t, 40000, 7, "\x1b[2Jhi\n")).Line()
	if strings.ContainsRune(line, 0x1b) || !strings.HasSuffix(line, `echo 7 B "\x1b[2Jhi\n"`) {
		t.Errorf("escape not quoted: %q", line)
	}
}

func tcpFrame(t *testing.T, sport, dport int, payload string) Frame {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: []byte{127, 0, 0, 1}, DstIP: []byte{127, 0, 0, 1}}
	tcp := &layers.TCP{SrcPort: layers.TCPPort(sport), DstPort: layers.TCPPort(dport), PSH: true, ACK: true}
	_ = tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: make([]byte, 6), DstMAC: make([]byte, 6), EthernetType: layers.EthernetTypeIPv4}, ip, tcp, gopacket.Payload(payload)); err != nil {
		t.Fatal(err)
	}
	return Frame{Time: time.Now(), Length: len(buf.Bytes()), Data: buf.Bytes()}
}

// pcapng (Wireshark's format) reads like pcap; a file cut mid-frame gives
// its whole frames, then ErrTruncated.
func TestReadPcapngAndTruncated(t *testing.T) {
	frames := corpus(t)
	var ng bytes.Buffer
	w, err := pcapgo.NewNgWriter(&ng, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: f.Length, InterfaceIndex: 0}, f.Data); err != nil {
			t.Fatal(err)
		}
	}
	_ = w.Flush()
	var pc bytes.Buffer
	pw, _ := NewFileWriter(&pc)
	for _, f := range frames {
		_ = pw.Write(f)
	}
	_ = pw.Flush()
	for name, data := range map[string][]byte{"pcapng": ng.Bytes(), "pcap": pc.Bytes(), "pcap cut": pc.Bytes()[:pc.Len()-5]} {
		r, err := NewFileReader(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		n := 0
		for {
			f, err := r.Next()
			if err == io.EOF {
				break
			}
			if name == "pcap cut" && errors.Is(err, ErrTruncated) {
				break // after the whole frames, as tcpdump -r (truncated_test.go)
			}
			if err != nil {
				t.Fatalf("%s: frame %d: %v", name, n, err)
			}
			if !bytes.Equal(f.Data, frames[n].Data) || !f.Time.Equal(frames[n].Time) {
				t.Errorf("%s: frame %d differs", name, n)
			}
			n++
		}
		want := len(frames)
		if name == "pcap cut" {
			want--
		}
		if n != want {
			t.Errorf("%s: %d frames, want %d", name, n, want)
		}
	}
	if _, err := NewFileReader(strings.NewReader("not a capture at all")); err == nil {
		t.Error("garbage read as a capture")
	}
}

// FuzzDecode: any bytes decode to a line without panicking, and a filter
// runs over them without error.
func FuzzDecode(f *testing.F) {
	for _, fr := range corpus(f) {
		f.Add(fr.Data)
	}
	d := NewDecoder(testPorts)
	filt, err := Compile("vlan and (tcp port 80 or udp portrange 1-100) or host 10.0.0.1 or ip6 net 2001:db8::/32")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = d.Decode(Frame{Time: time.Unix(0, 0), Length: len(b), Data: b}).Line()
		if _, err := filt.vm.Run(b); err != nil {
			t.Fatalf("filter: %v", err)
		}
	})
}

// FuzzCompile: any expression compiles or is refused with a FilterError;
// never a panic, never a program the kernel would refuse.
func FuzzCompile(f *testing.F) {
	for _, e := range parityExprs {
		f.Add(e)
	}
	f.Add("((((tcp")
	f.Add("src or dst or")
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Compile(expr)
		if err != nil {
			if _, ok := err.(*FilterError); !ok {
				t.Fatalf("%q: error %T %v", expr, err, err)
			}
			return
		}
		if len(flt.Raw()) == 0 || len(flt.Raw()) > 4096 {
			t.Fatalf("%q: %d instructions", expr, len(flt.Raw()))
		}
	})
}

// An MLD report comes behind a hop-by-hop header: the line names ICMPv6.
func TestDecodeHopByHop(t *testing.T) {
	ip6 := &layers.IPv6{Version: 6, HopLimit: 1, NextHeader: layers.IPProtocolIPv6HopByHop, SrcIP: make([]byte, 16), DstIP: []byte{0xff, 2, 15: 0x16}}
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true},
		&layers.Ethernet{SrcMAC: make([]byte, 6), DstMAC: make([]byte, 6), EthernetType: layers.EthernetTypeIPv6}, ip6,
		gopacket.Payload([]byte{58, 0, 5, 2, 0, 0, 1, 0, 143, 0, 0, 0, 0, 0, 0, 0}))
	if err != nil {
		t.Fatal(err)
	}
	line := NewDecoder(nil).Decode(Frame{Time: time.Now(), Length: len(buf.Bytes()), Data: buf.Bytes()}).Line()
	if !strings.Contains(line, "IPv6 :: > ff02::16 ICMPv6 143(0)") {
		t.Errorf("line %q", line)
	}
}
