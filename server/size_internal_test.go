package server

import (
	"testing"
	"unsafe"
)

// TestEconnSize: a loop connection's state stays within the allocator's
// 128-byte class, most of what an idle connection costs (issue 15: 15,000
// idle connections at most 0.15 KiB each).
func TestEconnSize(t *testing.T) {
	if n := unsafe.Sizeof(econn{}); n > 128 {
		t.Fatalf("econn is %d bytes, want at most 128", n)
	}
}
