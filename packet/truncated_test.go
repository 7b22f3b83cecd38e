package packet_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockit/sockit/packet"
	"github.com/sockit/sockit/sockittest"
)

// truncatedPcap is a little-endian pcap of one whole 74-byte frame and a
// second one cut short: its header whole and cut bytes of its data, or
// (cut < 0) only 16+cut bytes of its header.
func truncatedPcap(cut int) []byte {
	var b bytes.Buffer
	le := binary.LittleEndian
	for _, v := range []any{uint32(0xa1b2c3d4), uint16(2), uint16(4), int32(0), uint32(0), uint32(262144), uint32(1)} {
		binary.Write(&b, le, v)
	}
	frame := append([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0, 1, 0x88, 0xb5}, bytes.Repeat([]byte("x"), 60)...)
	record := func(sec uint32) []byte {
		var r bytes.Buffer
		for _, v := range []uint32{sec, 0, uint32(len(frame)), uint32(len(frame))} {
			binary.Write(&r, le, v)
		}
		return append(r.Bytes(), frame...)
	}
	b.Write(record(1))
	b.Write(record(2)[:16+cut])
	return b.Bytes()
}

// A pcap that ends inside a record: the frames before it are read, then
// Next says what libpcap says, and tcpdump -r, reading the same file,
// prints the same words (and exits 1, as sockit packet read does: see
// cmd/sockit's TestPacketReadTruncated).
func TestTruncatedFile(t *testing.T) {
	for _, tc := range []struct {
		cut  int
		want string
	}{
		{60, "truncated dump file; tried to read 74 captured bytes, only got 60"},
		{0, "truncated dump file; tried to read 74 captured bytes, only got 0"},
		{-6, "truncated dump file; tried to read 16 header bytes, only got 10"},
	} {
		file := truncatedPcap(tc.cut)
		r, err := packet.NewFileReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		if f, err := r.Next(); err != nil || f.Length != 74 {
			t.Fatalf("cut %d: first frame %d bytes, %v", tc.cut, f.Length, err)
		}
		_, err = r.Next()
		if !errors.Is(err, packet.ErrTruncated) || err.Error() != tc.want {
			t.Errorf("cut %d: second Next: %v, want %q", tc.cut, err, tc.want)
		}
		// A whole file still ends with io.EOF.
		whole := truncatedPcap(74)
		r, _ = packet.NewFileReader(bytes.NewReader(whole))
		r.Next()
		r.Next()
		if _, err := r.Next(); err != io.EOF {
			t.Errorf("a whole file ends with %v, want io.EOF", err)
		}
	}
	tcpdump := sockittest.RequireTool(t, "tcpdump")
	for _, tc := range []struct {
		cut  int
		want string
	}{
		{60, "truncated dump file; tried to read 74 captured bytes, only got 60"},
		{0, "truncated dump file; tried to read 74 captured bytes, only got 0"},
		{-6, "truncated dump file; tried to read 16 header bytes, only got 10"},
	} {
		path := filepath.Join(t.TempDir(), "cut.pcap")
		if err := os.WriteFile(path, truncatedPcap(tc.cut), 0o644); err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd := exec.Command(tcpdump, "-nr", path)
		cmd.Stderr = &stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 1 {
			t.Errorf("tcpdump -r of a truncated file: %v, want exit 1", err)
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("tcpdump says %q; sockit's words %q are not in it", stderr.String(), tc.want)
		}
	}
}
