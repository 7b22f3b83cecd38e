package server

import (
	"testing"
	"unsafe"
)

// TestEconnSize: a loop connection's state, held by value in the loop's
// connTable, is most of what an idle connection costs (issue 15: 15,000
// idle connections at most 0.15 KiB each). 112 bytes on 64-bit platforms.
func TestEconnSize(t *testing.T) {
	if n := unsafe.Sizeof(econn{}); n > 112 {
		t.Fatalf("econn is %d bytes, want at most 112", n)
	}
}
