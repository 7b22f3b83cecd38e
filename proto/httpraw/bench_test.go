package httpraw_test

import (
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server/promrecorder"
)

// BenchmarkResponderGET is the responder's hot path: one keep-alive GET of
// the brief's page, parsed and answered. The aim is zero allocations.
func BenchmarkResponderGET(b *testing.B) { benchGET(b, &httpraw.Responder{}) }

// BenchmarkResponderGETCounted is BenchmarkResponderGET with every
// response counted by status, as serve --metrics does: still no
// allocation.
func BenchmarkResponderGETCounted(b *testing.B) {
	benchGET(b, &httpraw.Responder{Statuses: promrecorder.New().Statuses("http")})
}

// BenchmarkResponderGETLogged is BenchmarkResponderGET with the access
// log on (its lines written to io.Discard: the formatting, not the file).
func BenchmarkResponderGETLogged(b *testing.B) {
	benchGET(b, &httpraw.Responder{AccessLog: io.Discard})
}

func benchGET(b *testing.B, r *httpraw.Responder) {
	sess := r.Open(netip.MustParseAddrPort("127.0.0.1:40000"))
	req := []byte("GET / HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	buf := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		out, closeAfter := sess.Receive(req, buf)
		if closeAfter || len(out) < 400 {
			b.Fatalf("bad reply: %d bytes, close %v", len(out), closeAfter)
		}
	}
}

// BenchmarkResponderCachedFile is a GET of a small file under Root, served
// from the responder's cache.
func BenchmarkResponderCachedFile(b *testing.B) {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.html"), []byte("<p>a small page</p>\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	r := &httpraw.Responder{Root: root}
	sess := r.Open(netip.AddrPort{})
	req := []byte("GET /a.html HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: wrk\r\nAccept: */*\r\n\r\n")
	buf := make([]byte, 0, 16<<10)
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for b.Loop() {
		out, closeAfter := sess.Receive(req, buf)
		if closeAfter || len(out) < 200 {
			b.Fatalf("bad reply: %d bytes, close %v", len(out), closeAfter)
		}
	}
}
