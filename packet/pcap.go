package packet

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Frame is one captured frame: when, its length on the wire, and the bytes
// kept (all of them unless the capture truncated it).
type Frame struct {
	Time   time.Time
	Length int
	Data   []byte
}

// Source yields frames until io.EOF.
type Source interface {
	Next() (Frame, error)
}

// FileReader reads frames from a pcap or pcapng file (tcpdump -w,
// Wireshark). Only Ethernet link types are decoded and filtered.
type FileReader struct {
	next func() ([]byte, gopacket.CaptureInfo, error)
	link layers.LinkType
	in   *countReader // pcap: the bytes read, for a truncated file's message
	off  int64        // pcap: where the next record starts
}

// ErrTruncated is wrapped by Next when the file ends inside a record (a
// capture cut short: tcpdump killed mid-write, a copy interrupted). Its
// message is libpcap's, as tcpdump -r prints it.
var ErrTruncated = errors.New("truncated dump file")

// countReader counts the bytes read from a pcap file. pcapgo reads ahead
// through its own buffer, but a truncated record is the file's end, so by
// then the count is the file's size.
type countReader struct {
	r io.Reader
	n int64
}

func (c *countReader) Read(p []byte) (int, error) {
	k, err := c.r.Read(p)
	c.n += int64(k)
	return k, err
}

// pcapng's section header block type, as its first four bytes.
var pcapngMagic = []byte{0x0a, 0x0d, 0x0d, 0x0a}

// NewFileReader detects pcap or pcapng from the first bytes of r.
func NewFileReader(r io.Reader) (*FileReader, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	head, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("not a pcap or pcapng file: %w", err)
	}
	if bytes.Equal(head, pcapngMagic) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("pcapng: %w", err)
		}
		return &FileReader{next: ng.ReadPacketData, link: ng.LinkType()}, nil
	}
	in := &countReader{r: br}
	pr, err := pcapgo.NewReader(in)
	if err != nil {
		return nil, fmt.Errorf("not a pcap or pcapng file: %w", err)
	}
	fr := &FileReader{next: pr.ReadPacketData, link: pr.LinkType(), off: 24}
	if head[0] != 0x1f { // not gzipped: the file's bytes are pcapgo's
		fr.in = in
	}
	return fr, nil
}

// truncated words the record the file ended inside as libpcap does: its
// 16-byte header cut short, or its captured bytes (ci, read from the
// header, says how many there should be).
func (r *FileReader) truncated(ci gopacket.CaptureInfo) error {
	if r.in == nil {
		return ErrTruncated
	}
	got := r.in.n - r.off
	if ci.CaptureLength == 0 && got < 16 {
		return fmt.Errorf("%w; tried to read 16 header bytes, only got %d", ErrTruncated, got)
	}
	return fmt.Errorf("%w; tried to read %d captured bytes, only got %d", ErrTruncated, ci.CaptureLength, got-16)
}

// LinkType is the file's link-layer header type (1 is Ethernet).
func (r *FileReader) LinkType() layers.LinkType { return r.link }

// Next returns the next frame, or io.EOF at the end of the file. A file
// that ends inside a record gives an error wrapping ErrTruncated, worded
// as tcpdump -r words it ("truncated dump file; tried to read 74 captured
// bytes, only got 60"): the frames before it are good, but the capture was
// cut short, and tcpdump exits 1 for it.
func (r *FileReader) Next() (Frame, error) {
	data, ci, err := r.next()
	if err != nil {
		// io.EOF with a header read: the file ended before the record's
		// data.
		if err == io.ErrUnexpectedEOF || err == io.EOF && ci.CaptureLength > 0 {
			return Frame{}, r.truncated(ci)
		}
		return Frame{}, err
	}
	r.off += 16 + int64(len(data))
	return Frame{Time: ci.Timestamp, Length: ci.Length, Data: data}, nil
}

// FileWriter writes frames as a pcap file with microsecond timestamps and
// Ethernet link type, which every tcpdump and Wireshark reads. Records
// gather in one buffer of fileBuffer bytes that goes out in one write when
// full (and on Flush), so a flood costs a system call per megabyte.
type FileWriter struct {
	w   io.Writer
	buf []byte // records not yet written
	err error  // the first write error; every later call returns it
}

// fileBuffer is how many bytes of records a FileWriter gathers per write:
// large enough that a flood makes few system calls, more than a frame at
// the largest snapshot length.
const fileBuffer = 1 << 20

// NewFileWriter writes the pcap file header to w.
func NewFileWriter(w io.Writer) (*FileWriter, error) {
	var head bytes.Buffer
	if err := pcapgo.NewWriter(&head).WriteFileHeader(Snaplen, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	fw := &FileWriter{w: w, buf: make([]byte, 0, fileBuffer)}
	fw.buf = append(fw.buf, head.Bytes()...)
	return fw, nil
}

// Write appends one frame. A zero Time is written as now, as pcapgo does.
func (w *FileWriter) Write(f Frame) error {
	if f.Length < len(f.Data) {
		return fmt.Errorf("pcap record: %d bytes kept of a %d-byte frame", len(f.Data), f.Length)
	}
	t := f.Time
	if t.IsZero() {
		t = time.Now()
	}
	return w.record(uint32(t.Unix()), uint32(t.Nanosecond()/1000), f.Data, f.Length)
}

// record appends one record: its 16-byte header (seconds, microseconds,
// bytes kept, length on the wire; little-endian, as pcapgo writes them)
// and the bytes.
func (w *FileWriter) record(sec, usec uint32, data []byte, length int) error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf)+16+len(data) > cap(w.buf) {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	b := binary.LittleEndian.AppendUint32(w.buf, sec)
	b = binary.LittleEndian.AppendUint32(b, usec)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(length))
	w.buf = append(b, data...)
	return nil
}

// Flush writes what is buffered.
func (w *FileWriter) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) > 0 {
		if _, err := w.w.Write(w.buf); err != nil {
			w.err = err
			return err
		}
	}
	w.buf = w.buf[:0]
	return nil
}
