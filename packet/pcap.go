package packet

import (
	"bufio"
	"bytes"
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
	pr, err := pcapgo.NewReader(br)
	if err != nil {
		return nil, fmt.Errorf("not a pcap or pcapng file: %w", err)
	}
	return &FileReader{next: pr.ReadPacketData, link: pr.LinkType()}, nil
}

// LinkType is the file's link-layer header type (1 is Ethernet).
func (r *FileReader) LinkType() layers.LinkType { return r.link }

// Next returns the next frame, or io.EOF at the end of the file.
func (r *FileReader) Next() (Frame, error) {
	data, ci, err := r.next()
	if err != nil {
		if err == io.ErrUnexpectedEOF {
			// A capture cut short (tcpdump killed mid-write) ends here,
			// as tcpdump -r treats it.
			return Frame{}, io.EOF
		}
		return Frame{}, err
	}
	return Frame{Time: ci.Timestamp, Length: ci.Length, Data: data}, nil
}

// FileWriter writes frames as a pcap file with microsecond timestamps and
// Ethernet link type, which every tcpdump and Wireshark reads.
type FileWriter struct {
	w  *pcapgo.Writer
	bw *bufio.Writer
}

// NewFileWriter writes the pcap file header to w.
func NewFileWriter(w io.Writer) (*FileWriter, error) {
	bw := bufio.NewWriterSize(w, 1<<16)
	pw := pcapgo.NewWriter(bw)
	if err := pw.WriteFileHeader(Snaplen, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	return &FileWriter{w: pw, bw: bw}, nil
}

// Write appends one frame.
func (w *FileWriter) Write(f Frame) error {
	return w.w.WritePacket(gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: f.Length}, f.Data)
}

// Flush writes what is buffered.
func (w *FileWriter) Flush() error { return w.bw.Flush() }
