package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/sockit/sockit/packet"
	"github.com/sockit/sockit/sockittest"
)

// sockitIn runs this test binary as sockit (see TestMain) inside a
// namespace.
func sockitIn(s sockittest.NetnsSide, args ...string) *exec.Cmd {
	cmd := s.Exec(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
	return cmd
}

var listeningRE = regexp.MustCompile(`^(tcpdump: )?listening on \S+, link-type EN10MB`)

// startCapture starts a capture (sockit's or tcpdump's: both print the same
// readiness line) and waits until it listens; wait returns its stdout.
func startCapture(t *testing.T, cmd *exec.Cmd) (wait func() (string, string)) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout = &out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	br := bufio.NewReader(stderr)
	first, err := br.ReadString('\n')
	if err != nil || !listeningRE.MatchString(first) {
		t.Fatalf("capture did not start: %q %v", first, err)
	}
	rest := make(chan string, 1)
	go func() { b, _ := io.ReadAll(br); rest <- string(b) }()
	return func() (string, string) {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("capture: %v", err)
			}
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatalf("capture did not end; so far:\n%s", out.String())
		}
		return out.String(), <-rest
	}
}

// udpFrame builds an Ethernet/IPv4/UDP frame from one side to the other.
func udpFrame(t *testing.T, from, to sockittest.NetnsSide, sport, dport int, payload string) []byte {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.ParseIP(from.IP).To4(), DstIP: net.ParseIP(to.IP).To4()}
	udp := &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
	_ = udp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
		&layers.Ethernet{SrcMAC: from.MAC, DstMAC: to.MAC, EthernetType: layers.EthernetTypeIPv4}, ip, udp, gopacket.Payload(payload))
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCaptureAcrossVeth: sockit captures, in one namespace, what ping,
// ncat and sockit packet send produce from the other, frame by frame.
func TestCaptureAcrossVeth(t *testing.T) {
	a, b := sockittest.VethPair(t)
	sockittest.RequireTool(t, "ping")
	sockittest.RequireTool(t, "ncat")

	// ping: 2 requests, 2 replies; ncat: a TCP session on 7777 (frames vary
	// in number, so counted by content); sockit send: one UDP frame to 9.
	wait := startCapture(t, sockitIn(a, "packet", "capture", "-i", a.Link, "-c", "5", "icmp or udp port 9"))
	if out, err := b.Exec("ping", "-c", "2", "-i", "0.2", "-W", "5", a.IP).CombinedOutput(); err != nil {
		t.Fatalf("ping: %v\n%s", err, out)
	}
	frame := udpFrame(t, b, a, 40000, 9, "hello there")
	if out, err := sockitIn(b, "packet", "send", "-i", b.Link, "--hex", hex.EncodeToString(frame)).CombinedOutput(); err != nil {
		t.Fatalf("send: %v\n%s", err, out)
	}
	out, stderr := wait()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{
		`IPv4 10.77.0.2 > 10.77.0.1 ICMP EchoRequest id \d+ seq 1$`,
		`IPv4 10.77.0.1 > 10.77.0.2 ICMP EchoReply id \d+ seq 1$`,
		`IPv4 10.77.0.2 > 10.77.0.1 ICMP EchoRequest id \d+ seq 2$`,
		`IPv4 10.77.0.1 > 10.77.0.2 ICMP EchoReply id \d+ seq 2$`,
		`^\d\d:\d\d:\d\d\.\d{6} 60 B eth IPv4 10.77.0.2.40000 > 10.77.0.1.9 UDP len 11: discard 11 B "hello there"$`,
	}
	if len(lines) != len(want) {
		t.Fatalf("got %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("line %d = %q, want %s", i+1, lines[i], re)
		}
	}
	if !regexp.MustCompile(`(?m)^5 packets captured\n\d+ packets received by filter\n0 packets dropped by kernel$`).MatchString(stderr) {
		t.Errorf("stderr counts: %q", stderr)
	}

	// ncat: a TCP session to port 7777; its payload is decoded on its line.
	port := "7777"
	wait = startCapture(t, sockitIn(a, "packet", "capture", "-i", a.Link, "--json", "tcp port "+port))
	srv := a.Exec("ncat", "-l", port)
	var got bytes.Buffer
	srv.Stdout = &got
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Process.Kill(); _ = srv.Wait() })
	// ncat -l cannot say when it listens: try until the connect succeeds.
	sockittest.Eventually(t, 10*time.Second, "ncat connects", func() bool {
		cl := b.Exec("ncat", a.IP, port)
		cl.Stdin = strings.NewReader("hello there\n")
		return cl.Run() == nil
	})
	_ = srv.Wait() // ncat -l ends with its one connection
	if got.String() != "hello there\n" {
		t.Errorf("ncat -l got %q", got.String())
	}
	// End the capture by signal, as a person would.
	stopCapture(t, a)
	out, _ = wait()
	var syn, data, fin int
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		var s packet.Summary
		if err := json.Unmarshal([]byte(l), &s); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		switch {
		case strings.HasPrefix(s.Info, "[S]"):
			syn++
		case s.Payload > 0:
			data++
			if s.DPort != 7777 || s.Payload != 12 || s.Src != b.IP {
				t.Errorf("data frame %+v", s)
			}
		case strings.HasPrefix(s.Info, "[F"):
			fin++
		}
	}
	if syn < 1 || data != 1 || fin != 2 {
		t.Errorf("want a SYN, 1 data frame, 2 FINs; got %d, %d, %d:\n%s", syn, data, fin, out)
	}
}

// stopCapture interrupts sockit's capture in a namespace the way ^C does.
func stopCapture(t *testing.T, s sockittest.NetnsSide) {
	t.Helper()
	out, _ := exec.Command("ip", "netns", "pids", s.NS).Output()
	for _, pid := range strings.Fields(string(out)) {
		cmdline, _ := os.ReadFile("/proc/" + pid + "/cmdline")
		if bytes.Contains(cmdline, []byte("packet\x00capture")) {
			_ = exec.Command("kill", "-INT", pid).Run()
		}
	}
}

// TestInjectSeenByTcpdump: tcpdump, in one namespace, captures exactly
// the frames sockit packet send replays from a pcap file in the other.
func TestInjectSeenByTcpdump(t *testing.T) {
	a, b := sockittest.VethPair(t)
	tcpdump := sockittest.RequireTool(t, "tcpdump")
	dir := t.TempDir()
	var frames [][]byte
	for i := range 20 {
		frames = append(frames, udpFrame(t, b, a, 40000+i, 8013, fmt.Sprintf("frame %02d %s", i, strings.Repeat("x", i*50))))
	}
	in := filepath.Join(dir, "in.pcap")
	fh, _ := os.Create(in)
	w, _ := packet.NewFileWriter(fh)
	for _, f := range frames {
		_ = w.Write(packet.Frame{Time: time.Now(), Length: len(f), Data: f})
	}
	_ = w.Flush()
	fh.Close()

	got := filepath.Join(dir, "got.pcap")
	wait := startCapture(t, a.Exec(tcpdump, "-i", a.Link, "-U", "-c", fmt.Sprint(len(frames)), "-w", got, "udp port 8013"))
	// sockit capture -w beside it, on the same frames.
	mine := filepath.Join(dir, "mine.pcap")
	waitMine := startCapture(t, sockitIn(a, "packet", "capture", "-i", a.Link, "-c", fmt.Sprint(len(frames)), "-w", mine, "udp port 8013"))
	out, err := sockitIn(b, "packet", "send", "-i", b.Link, in).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "20 frames sent") {
		t.Fatalf("send: %v\n%s", err, out)
	}
	wait()
	if _, stderr := waitMine(); !strings.Contains(stderr, "20 packets captured") {
		t.Errorf("capture -w: %s", stderr)
	}
	samePcap(t, got, mine)
	gh, err := os.Open(got)
	if err != nil {
		t.Fatal(err)
	}
	defer gh.Close()
	r, err := packet.NewFileReader(gh)
	if err != nil {
		t.Fatal(err)
	}
	for i := range frames {
		f, err := r.Next()
		if err != nil {
			t.Fatalf("tcpdump caught %d frames of %d: %v", i, len(frames), err)
		}
		if !bytes.Equal(f.Data, frames[i]) {
			t.Errorf("frame %d differs:\n sent %x\n seen %x", i, frames[i], f.Data)
		}
	}
	// And the other way: sockit reads tcpdump's file into the same lines.
	res := sockitRun(t, "", "packet", "read", got, "udp", "dst", "port", "8013")
	if n := strings.Count(res.stdout, "\n"); n != len(frames) || res.code != 0 {
		t.Errorf("packet read: exit %d, %d lines:\n%s%s", res.code, n, res.stdout, res.stderr)
	}
	if !strings.Contains(res.stdout, "10.77.0.2.40003 > 10.77.0.1.8013 UDP len 159: daytime request 159 B") {
		t.Errorf("packet read lines:\n%s", res.stdout)
	}
}

// samePcap checks that sockit's pcap file (capture -w) holds what
// tcpdump's does: the same file header, and record by record the same
// lengths and bytes (timestamps aside: each tool's clock reading).
func samePcap(t *testing.T, tcpdumps, sockits string) {
	t.Helper()
	want, err := os.ReadFile(tcpdumps)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(sockits)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) || len(got) < 24 {
		t.Fatalf("sockit's pcap has %d bytes, tcpdump's %d", len(got), len(want))
	}
	if !bytes.Equal(got[:24], want[:24]) {
		t.Errorf("file headers differ:\n tcpdump %x\n sockit  %x", want[:24], got[:24])
	}
	for off := 24; off+16 <= len(got); {
		n := int(binary.LittleEndian.Uint32(got[off+8:]))
		if !bytes.Equal(got[off+8:off+16+n], want[off+8:off+16+n]) {
			t.Fatalf("record at byte %d differs:\n tcpdump %x\n sockit  %x", off, want[off:off+16+n], got[off:off+16+n])
		}
		off += 16 + n
	}
}

// TestCaptureWithoutCapNetRaw drops CAP_NET_RAW (setpriv) and expects a
// plain message and a non-zero exit.
func TestCaptureWithoutCapNetRaw(t *testing.T) {
	sockittest.RequireRoot(t)
	setpriv := sockittest.RequireTool(t, "setpriv")
	for _, args := range [][]string{
		{"packet", "capture", "-i", "lo", "-c", "1"},
		{"packet", "send", "-i", "lo", "--hex", "ffffffffffff02000000000188b5"},
	} {
		cmd := exec.Command(setpriv, append([]string{"--bounding-set", "-net_raw", "--inh-caps", "-net_raw", os.Args[0]}, args...)...)
		cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if err == nil || !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("%v: err %v, want exit status 1\n%s", args, err, out)
		}
		if !strings.Contains(string(out), "need root or the CAP_NET_RAW capability") || !strings.Contains(string(out), "EPERM") {
			t.Errorf("%v: message %q", args, out)
		}
	}
}

func TestPacketUsage(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"packet", "capture"}, "-i IFACE is required"},
		{[]string{"packet", "capture", "-i", "lo", "greater", "10"}, `unsupported word "greater"`},
		{[]string{"packet", "read"}, "wants a FILE"},
		{[]string{"packet", "read", "/dev/null", "host", "nope"}, "not an IP address"},
		{[]string{"packet", "send", "-i", "lo"}, "either FILE or --hex"},
		{[]string{"packet", "send", "-i", "lo", "--hex", "zz"}, `'z' is not a hex digit`},
	} {
		res := sockitRun(t, "", tt.args...)
		if res.code != exitUsage || !strings.Contains(res.stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tt.args, res.code, res.stderr, tt.want)
		}
	}
}

func TestInterfacesJSON(t *testing.T) {
	res := sockitRun(t, "", "interfaces", "--json")
	var ifs []packet.Interface
	if err := json.Unmarshal([]byte(res.stdout), &ifs); err != nil || res.code != 0 {
		t.Fatalf("exit %d, %v\n%s", res.code, err, res.stdout)
	}
	for _, in := range ifs {
		if in.Name == "lo" {
			if in.Link != "loopback" || in.MTU == 0 || !strings.Contains(strings.Join(in.Addrs, " "), "127.0.0.1/8") ||
				strings.Join(in.Families, " ") != "packet inet inet6" && strings.Join(in.Families, " ") != "packet inet" {
				t.Errorf("lo: %+v", in)
			}
			return
		}
	}
	t.Errorf("no lo in %s", res.stdout)
}

// The families this kernel lacks: a plain message with the errno, exit 1.
func TestFamiliesTheKernelLacksCLI(t *testing.T) {
	for _, tt := range []struct {
		args  []string
		words string
	}{
		{[]string{"connect", "rfcomm://AA:BB:CC:DD:EE:FF/3"}, "connect to AA:BB:CC:DD:EE:FF/3 (rfcomm): this kernel has no Bluetooth support (socket(AF_BLUETOOTH) failed with EAFNOSUPPORT"},
		{[]string{"listen", "l2cap://00:00:00:00:00:00/4097"}, "sockit listen: listen on 00:00:00:00:00:00/4097 (l2cap): this kernel has no Bluetooth support"},
		{[]string{"serve", "echo=rfcomm://00:00:00:00:00:00/1"}, "listen on 00:00:00:00:00:00/1 (rfcomm): this kernel has no Bluetooth support"},
		{[]string{"connect", "ipx://00000001:0000c0a80001:0451"}, "Linux removed IPX in 4.18 (2018); this kernel cannot open it (socket(AF_IPX) failed with EAFNOSUPPORT"},
	} {
		res := sockitRun(t, "", tt.args...)
		if strings.Contains(res.stderr, "failed with") && !strings.Contains(res.stderr, "EAFNOSUPPORT") {
			t.Logf("%v: this kernel has the family: %s", tt.args, res.stderr)
			continue
		}
		if res.code != 1 || !strings.Contains(res.stderr, tt.words) {
			t.Errorf("%v: exit %d, stderr %q; want 1 and %q", tt.args, res.code, res.stderr, tt.words)
		}
	}
}

// The demo's packet step: as root it prints its own echo exchange,
// decoded; without CAP_NET_RAW it says why it skips and the demo passes.
func TestDemoPacketStep(t *testing.T) {
	sockittest.RequireRoot(t)
	r := sockitRun(t, "", "demo")
	i := strings.Index(r.stdout, "Packets: the echo exchange")
	if i < 0 {
		t.Fatalf("no packet step:\n%s", r.stdout)
	}
	step := r.stdout[i:]
	tally := regexp.MustCompile(`\nok\n\n(\d+) of (\d+) steps ok`).FindStringSubmatch(step)
	if r.code != 0 || !regexp.MustCompile(`(?m)TCP \[P\.\] .* len 8: echo 8 B "captured"$`).MatchString(step) ||
		!regexp.MustCompile(`(?m)TCP \[P\.\] .* len 8: echo reply 8 B "captured"$`).MatchString(step) ||
		tally == nil || tally[1] != tally[2] {
		t.Errorf("demo: exit %d\n%s", r.code, r.stdout)
	}
	setpriv := sockittest.RequireTool(t, "setpriv")
	cmd := exec.Command(setpriv, "--bounding-set", "-net_raw", "--inh-caps", "-net_raw", os.Args[0], "demo")
	cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "skipped: packet sockets need root or the CAP_NET_RAW capability: socket(AF_PACKET) failed with EPERM") ||
		strings.Contains(string(out), "FAILED") {
		t.Errorf("demo without CAP_NET_RAW: %v\n%s", err, out)
	}
}

// send --loop N replays the frames N times, in order: a bounded flood.
func TestSendLoop(t *testing.T) {
	a, b := sockittest.VethPair(t)
	wait := startCapture(t, sockitIn(a, "packet", "capture", "-i", a.Link, "-c", "6", "udp"))
	out, err := sockitIn(b, "packet", "send", "-i", b.Link, "--loop", "3",
		"--hex", hex.EncodeToString(udpFrame(t, b, a, 40001, 9, "one")),
		"--hex", hex.EncodeToString(udpFrame(t, b, a, 40002, 9, "two"))).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "6 frames sent") {
		t.Fatalf("send: %v\n%s", err, out)
	}
	lines, _ := wait()
	got := regexp.MustCompile(`10\.77\.0\.2\.(4000\d) >`).FindAllStringSubmatch(lines, -1)
	var ports []string
	for _, m := range got {
		ports = append(ports, m[1])
	}
	if strings.Join(ports, " ") != "40001 40002 40001 40002 40001 40002" {
		t.Errorf("frames in order of source port: %v\n%s", ports, lines)
	}
}

// TestPacketReadTruncated: a pcap cut short inside its second record (74
// bytes captured, 60 in the file) prints the first frame, then tcpdump's
// words for it, and exits 1 as tcpdump -r does (packet's TestTruncatedFile
// checks the words against tcpdump itself). It exited 0, silent.
func TestPacketReadTruncated(t *testing.T) {
	var b bytes.Buffer
	le := binary.LittleEndian
	for _, v := range []any{uint32(0xa1b2c3d4), uint16(2), uint16(4), int32(0), uint32(0), uint32(262144), uint32(1)} {
		binary.Write(&b, le, v)
	}
	frame := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5}, bytes.Repeat([]byte("x"), 60)...)
	for sec := range uint32(2) {
		for _, v := range []uint32{sec + 1, 0, uint32(len(frame)), uint32(len(frame))} {
			binary.Write(&b, le, v)
		}
		b.Write(frame)
	}
	file := b.Bytes()[:b.Len()-14]
	res := sockitRun(t, string(file), "packet", "read", "-")
	const want = "sockit packet read: -: truncated dump file; tried to read 74 captured bytes, only got 60\n"
	if res.code != 1 || res.stderr != want || strings.Count(res.stdout, "\n") != 1 {
		t.Errorf("packet read of a truncated file: exit %d, stdout %q, stderr %q; want 1, one frame, %q", res.code, res.stdout, res.stderr, want)
	}
}
