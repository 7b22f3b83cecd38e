package httpraw_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
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

// BenchmarkResponderH2GET is BenchmarkResponderGET over HTTP/2: one GET of
// the brief's page on a new stream of a connection already open, as
// h2load sends it (its fields indexed in HPACK's dynamic table after the
// first request), answered with HEADERS and DATA; the input also gives
// back the connection window the answer used.
func BenchmarkResponderH2GET(b *testing.B) {
	r := &httpraw.Responder{}
	sess := r.Open(netip.MustParseAddrPort("127.0.0.1:40000"))
	var wire bytes.Buffer
	fr := http2.NewFramer(&wire, nil)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	block := func() []byte {
		hb.Reset()
		for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "localhost:8080"}, {":path", "/"}, {"user-agent", "h2load nghttp2/1.52.0"}, {"accept-encoding", "gzip, deflate"}} {
			enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
		}
		return bytes.Clone(hb.Bytes())
	}
	wire.WriteString(http2.ClientPreface)
	fr.WriteSettings()
	fr.WriteSettingsAck()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(), EndStream: true, EndHeaders: true})
	buf := make([]byte, 0, 16<<10)
	if out, _ := sess.Receive(wire.Bytes(), buf); len(out) < 400 {
		b.Fatalf("first reply: %d bytes", len(out))
	}
	page := uint32(len(httpraw.Page()))
	wire.Reset()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block(), EndStream: true, EndHeaders: true})
	fr.WriteWindowUpdate(0, page)
	req := bytes.Clone(wire.Bytes())
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	id := uint32(3)
	for b.Loop() {
		binary.BigEndian.PutUint32(req[5:9], id)
		id += 2
		out, closeAfter := sess.Receive(req, buf)
		if closeAfter || len(out) < int(page) {
			b.Fatalf("bad reply: %d bytes, close %v", len(out), closeAfter)
		}
	}
}

// BenchmarkH2IdleConn reports the live heap an HTTP/2 connection keeps
// once it has answered a GET and gone idle (its Framer, HPACK tables,
// stream map), over 1,000 such sessions.
func BenchmarkH2IdleConn(b *testing.B) {
	var wire bytes.Buffer
	fr := http2.NewFramer(&wire, nil)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "localhost:8080"}, {":path", "/"}, {"user-agent", "h2load nghttp2/1.52.0"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	wire.WriteString(http2.ClientPreface)
	fr.WriteSettings()
	fr.WriteSettingsAck()
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	in := wire.Bytes()
	r := &httpraw.Responder{}
	buf := make([]byte, 0, 16<<10)
	const n = 1000
	for b.Loop() {
		sessions := make([]server.Session, n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i := range sessions {
			sessions[i] = r.Open(netip.AddrPort{})
			if out, _ := sessions[i].Receive(in, buf); len(out) < 400 {
				b.Fatalf("reply of %d bytes", len(out))
			}
			for {
				if out, _ := sessions[i].(server.Producer).More(buf); len(out) == 0 {
					break
				}
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/conn")
		runtime.KeepAlive(sessions)
	}
}
