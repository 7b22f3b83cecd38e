package packet

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockit/sockit/sockittest"
)

// parityExprs is the corpus of expressions whose selections must equal
// tcpdump's over corpus().
var parityExprs = []string{
	"",
	"ip", "ip6", "arp", "rarp", "tcp", "udp", "icmp", "icmp6", "vlan",
	"host 10.0.0.1", "src host 10.0.0.1", "dst host 10.0.0.1", "host 10.0.0.2",
	"src or dst host 10.0.0.2", "src and dst host 127.0.0.1",
	"ip host 10.0.0.1", "arp host 10.0.0.2", "rarp host 10.0.0.1", "arp src host 10.0.0.1",
	"host ::1", "ip6 host fe80::1", "src host 2001:db8::2", "dst host 2001:db8::6",
	"net 10.0.0.0/8", "net 10", "src net 172.16", "dst net 192.168.1.0/24",
	"net 10.0.0.0 mask 255.255.255.0", "ip6 net 2001:db8::/32", "net fe80::/10", "dst net 2001:db8::/64",
	"port 80", "port 7", "src port 80", "dst port 80", "tcp port 80", "udp port 53", "tcp dst port 443",
	"port 53", "port 8001", "udp port 8017", "portrange 1-100", "tcp portrange 8000-8100", "src portrange 30-40",
	"dst portrange 8000-8040", "port 80 or 443", "host 10.0.0.1 or 10.0.0.5", "tcp port 80 or 443",
	"port echo", "tcp port qotd",
	"tcp and port 80", "tcp and not port 80", "not tcp", "! ip", "udp || arp", "ip && tcp",
	"tcp or udp and host 10.0.0.1", "(tcp or udp) and not host 10.0.0.1", "tcp or (udp and host 10.0.0.1)",
	"not (ip or ip6)", "icmp or icmp6 or arp", "ip6 and udp", "ip and not icmp",
	"vlan 5", "vlan 100", "vlan and ip", "vlan 5 and tcp port 80", "vlan and ip6 and udp port 13",
	"vlan 7 and vlan 8 and udp", "vlan and vlan and ip", "not vlan", "vlan or tcp", "tcp or vlan",
	"host 10.0.0.1 and not arp", "not not udp",
}

func TestFilterParityWithTcpdump(t *testing.T) {
	tcpdump := sockittest.RequireTool(t, "tcpdump")
	dir := t.TempDir()
	in := filepath.Join(dir, "corpus.pcap")
	frames := corpus(t)
	writePcap(t, in, frames)

	for _, expr := range parityExprs {
		t.Run(expr, func(t *testing.T) {
			f, err := Compile(expr)
			if err != nil {
				t.Fatalf("Compile: %v", err)
			}
			var ours []int64
			for _, fr := range frames {
				if f.Match(fr.Data) {
					ours = append(ours, fr.Time.Unix())
				}
			}
			out := filepath.Join(dir, "out.pcap")
			args := []string{"-r", in, "-w", out}
			if expr != "" {
				args = append(args, expr)
			}
			if b, err := exec.Command(tcpdump, args...).CombinedOutput(); err != nil {
				t.Fatalf("tcpdump %s: %v\n%s", strings.Join(args, " "), err, b)
			}
			theirs := readTimes(t, out)
			if fmt.Sprint(ours) != fmt.Sprint(theirs) {
				t.Errorf("frames selected (by second):\n sockit  %v\n tcpdump %v\nprogram: %v", ours, theirs, f.Program)
			}
		})
	}
}

func writePcap(t testing.TB, path string, frames []Frame) {
	t.Helper()
	fh, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	w, err := NewFileWriter(fh)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := w.Write(f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}

func readTimes(t testing.TB, path string) []int64 {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r, err := NewFileReader(fh)
	if err != nil {
		t.Fatal(err)
	}
	var ts []int64
	for {
		f, err := r.Next()
		if err == io.EOF {
			return ts
		}
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, f.Time.Unix())
	}
}

func TestFilterErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"greater 100":            `unsupported word "greater"`,
		"tcp[13] & 2 != 0":       `unsupported word "tcp[13]"`,
		"ether host 1:2:3:4:5:6": `unsupported word "ether"`,
		"host example.com":       "does not look names up",
		"tcp host 10.0.0.1":      "'tcp' modifier applied to host",
		"port":                   "wants a value",
		"port 99999":             "not a port number",
		"(tcp":                   "missing ')'",
		"tcp)":                   `unexpected ")"`,
		"tcp and":                "expression ends",
		"net 10.0.0.1/8":         "non-network bits",
		"vlan 5000":              "0 to 4095",
		"ip6 host 10.0.0.1":      "not an IPv6 address",
		"ip host ::1":            "not an IPv4 address",
		"portrange 80":           "LOW-HIGH",
		"udp port qotd":          "port 'qotd' is tcp",
		"broadcast":              `unsupported word "broadcast"`,
	} {
		_, err := Compile(expr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Compile(%q) = %v, want an error containing %s", expr, err, want)
		}
		var fe *FilterError
		if err != nil && !errors.As(err, &fe) {
			t.Errorf("Compile(%q) error is %T, want *FilterError", expr, err)
		}
	}
	_, err := Compile("less 10")
	if !errors.Is(err, ErrUnsupported) {
		t.Errorf("Compile(less 10) = %v, want ErrUnsupported", err)
	}
}

// A long expression needs jumps beyond a conditional's 255-instruction
// reach; it must still compile and agree with a short equivalent.
func TestFilterLongJumps(t *testing.T) {
	var parts []string
	for i := range 60 {
		parts = append(parts, fmt.Sprintf("host 10.9.%d.%d", i/250, i%250+1))
	}
	long, err := Compile("(" + strings.Join(parts, " or ") + ") or tcp port 80")
	if err != nil {
		t.Fatal(err)
	}
	if len(long.Program) < 300 {
		t.Fatalf("program has %d instructions; the test wants one past 255", len(long.Program))
	}
	short, _ := Compile("tcp port 80")
	for i, f := range corpus(t) {
		if long.Match(f.Data) != short.Match(f.Data) {
			t.Errorf("frame %d: long %v, short %v", i, long.Match(f.Data), short.Match(f.Data))
		}
	}
}
