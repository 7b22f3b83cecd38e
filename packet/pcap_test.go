package packet

import (
	"io"
	"testing"
)

// A write error sticks, as bufio's does: nothing after it is written.
func TestFileWriterErrorSticks(t *testing.T) {
	fw, err := NewFileWriter(failWriter{})
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Flush(); err != io.ErrClosedPipe {
		t.Fatalf("Flush: %v", err)
	}
	if err := fw.Write(Frame{Length: 3, Data: []byte{1, 2, 3}}); err != io.ErrClosedPipe {
		t.Fatalf("Write after the error: %v", err)
	}
	if err := fw.Write(Frame{Length: 1, Data: []byte{1, 2}}); err == nil {
		t.Fatal("a frame keeping more bytes than its length was written")
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }
