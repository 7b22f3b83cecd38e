//go:build !linux

package main

import (
	"os"
	"testing"
)

// openPTY: the tests open pseudo-terminals Linux's way only.
func openPTY(t *testing.T) (ptmx, tty *os.File) {
	t.Skip("pseudo-terminals are opened the Linux way (/dev/pts) only")
	return nil, nil
}
