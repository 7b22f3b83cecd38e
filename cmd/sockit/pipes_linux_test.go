package main

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// inputPending returns the bytes waiting to be read on fd (FIONREAD).
func inputPending(fd int) (int, error) { return unix.IoctlGetInt(fd, unix.TIOCINQ) }

// smallPipe returns a pipe of the smallest size, so that it fills soon,
// and its size; both ends close when the test ends.
func smallPipe(t *testing.T) (r, w *os.File, size int) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 4096)
	if size, err = unix.FcntlInt(r.Fd(), unix.F_GETPIPE_SZ, 0); err != nil {
		t.Fatal(err)
	}
	return r, w, size
}
