package packet

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// syntheticBlock lays out frames as the kernel does in a TPACKET_V3 block
// (header, then each frame at its Mac offset, Next_offset apart) and
// returns the block and the first frame's offset. tags[i] != 0 marks frame
// i as one whose VLAN tag the kernel took off.
func syntheticBlock(frames [][]byte, tags []uint16) ([]byte, int) {
	const first, mac = 48, 82
	block := make([]byte, 128<<10)
	off := first
	for i, f := range frames {
		next := (mac + len(f) + 15) &^ 15
		h := (*unix.Tpacket3Hdr)(unsafe.Pointer(&block[off]))
		if i < len(frames)-1 {
			h.Next_offset = uint32(next)
		}
		h.Sec, h.Nsec = 1795650000+uint32(i), uint32(i)*1001
		h.Snaplen, h.Len, h.Mac = uint32(len(f)), uint32(len(f)+i%2), mac
		if tags != nil && tags[i] != 0 {
			h.Status = unix.TP_STATUS_VLAN_VALID
			h.Hv1.Vlan_tci = uint32(tags[i])
		}
		copy(block[off+mac:], f)
		off += next
	}
	binary.LittleEndian.PutUint32(block[12:], uint32(len(frames)))
	binary.LittleEndian.PutUint32(block[16:], first)
	return block, first
}

func testFrame(i int) []byte {
	f := make([]byte, 60+i%40)
	for j := range f {
		f[j] = byte(i + j)
	}
	return f
}

// The ring-to-file path writes, byte for byte, what writing each frame as
// Next returns it writes (VLAN tags put back included), and pcapgo reads
// the frames back.
func TestWriteFramesMatchesWrite(t *testing.T) {
	var frames [][]byte
	var tags []uint16
	for i := range 50 {
		frames = append(frames, testFrame(i))
		tags = append(tags, uint16(i%3)*7) // every third frame untagged
	}
	block, off := syntheticBlock(frames, tags)

	var fast, slow bytes.Buffer
	fw, err := NewFileWriter(&fast)
	if err != nil {
		t.Fatal(err)
	}
	var scratch []byte
	if _, done, err := fw.writeFrames(block, off, len(frames), &scratch); err != nil || done != len(frames) {
		t.Fatalf("writeFrames: %d, %v", done, err)
	}
	sw, _ := NewFileWriter(&slow)
	for range frames {
		h, data, length := frameAt(block, off, &scratch)
		if err := sw.Write(Frame{Time: time.Unix(int64(h.Sec), int64(h.Nsec)), Length: length, Data: data}); err != nil {
			t.Fatal(err)
		}
		off += int(h.Next_offset)
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := sw.Flush(); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(fast.Bytes(), slow.Bytes()) {
		t.Fatalf("the block path wrote %d bytes, the frame path %d, and they differ", fast.Len(), slow.Len())
	}
	r, err := NewFileReader(&fast)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range frames {
		got, err := r.Next()
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if tags[i] != 0 {
			tag := []byte{0x81, 0x00, byte(tags[i] >> 8), byte(tags[i])}
			want = append(append(append([]byte(nil), want[:12]...), tag...), want[12:]...)
		}
		if !bytes.Equal(got.Data, want) || got.Time.Nanosecond() != i*1001/1000*1000 || got.Length < len(got.Data) {
			t.Fatalf("frame %d: %+v", i, got)
		}
	}
	if _, err := r.Next(); err != io.EOF {
		t.Fatalf("after the frames: %v", err)
	}
}

// BenchmarkWriteBlock is capture -w's per-block path: one full 128 KiB
// ring block of 60-byte frames (as a UDP flood fills it) into the pcap
// buffer, with its writes to io.Discard. It must allocate nothing.
func BenchmarkWriteBlock(b *testing.B) {
	frame := testFrame(0)
	n := (128<<10 - 48) / ((82 + len(frame) + 15) &^ 15)
	frames := make([][]byte, n)
	for i := range frames {
		frames[i] = frame
	}
	block, off := syntheticBlock(frames, nil)
	fw, err := NewFileWriter(io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	var scratch []byte
	b.ReportAllocs()
	b.SetBytes(int64(n * (16 + len(frame))))
	for b.Loop() {
		if _, _, err := fw.writeFrames(block, off, n, &scratch); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/frame")
}
