//go:build !linux

package main

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"
)

// inputPending returns the bytes waiting to be read on fd: FIONREAD,
// _IOR('f', 127, int) in sys/filio.h (x/sys/unix does not name it here).
func inputPending(fd int) (int, error) { return unix.IoctlGetInt(fd, 0x4004667f) }

// smallPipe: pipe sizes are set the Linux way (F_SETPIPE_SZ) only.
func smallPipe(t *testing.T) (r, w *os.File, size int) {
	t.Skip("the tests size pipes the Linux way (F_SETPIPE_SZ) only")
	return nil, nil, 0
}
