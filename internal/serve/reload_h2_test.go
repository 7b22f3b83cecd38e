package serve_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sockit/sockit/internal/serve"
	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

// h2Get opens an HTTP/2 connection with prior knowledge and asks for path
// on stream 1; the client's windows stay as they are (64 KiB) until the
// caller opens them.
func h2Get(t *testing.T, addr, path string) (net.Conn, *http2.Framer) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	io.WriteString(c, http2.ClientPreface)
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.WriteSettings()
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", "a"}, {":path", path}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	return c, fr
}

// TestReloadSendsGoAway: a reload while an HTTP/2 stream is half sent
// (its body waiting on the client's window) gives the old generation's
// connection GOAWAY with NO_ERROR naming stream 1; the stream still
// completes byte for byte once the window opens, the connection then
// closes, and a new connection on the same port is the new generation's.
// On every engine.
func TestReloadSendsGoAway(t *testing.T) {
	dir := t.TempDir()
	big := sockittest.RandomBytes(2<<20, 24)
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	sp, err := serve.ParseSpec("http=tcp://127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			opt := serve.Options{
				Runtime: proto.Runtime{Values: map[string]any{"http_root": root}},
				Server:  server.Config{Engine: engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))},
			}
			ctx, cancel := context.WithCancel(context.Background())
			g, err := serve.StartGroup(ctx, []serve.Spec{sp}, opt)
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				cancel()
				if err := g.Wait(ctx, func() time.Duration { return time.Second }); err != nil {
					t.Errorf("Wait: %v", err)
				}
			}()
			addr := g.Current().Addrs[0].String()

			c, fr := h2Get(t, addr, "/big.bin")
			var body []byte
			for len(body) < 65535 {
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatal(err)
				}
				if d, ok := f.(*http2.DataFrame); ok {
					body = append(body, d.Data()...)
				}
			}
			if err := g.Reload(ctx, []serve.Spec{sp}, opt, nil); err != nil {
				t.Fatal(err)
			}
			var goaway *http2.GoAwayFrame
			for goaway == nil {
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatalf("before GOAWAY: %v", err)
				}
				if g, ok := f.(*http2.GoAwayFrame); ok {
					goaway = g
				}
			}
			if goaway.ErrCode != http2.ErrCodeNo || goaway.LastStreamID != 1 {
				t.Fatalf("GOAWAY %v, last stream %d; want NO_ERROR, 1", goaway.ErrCode, goaway.LastStreamID)
			}
			fr.WriteWindowUpdate(0, 1<<30)
			fr.WriteWindowUpdate(1, 1<<30)
			for len(body) < len(big) {
				f, err := fr.ReadFrame()
				if err != nil {
					t.Fatalf("after %d of %d bytes: %v", len(body), len(big), err)
				}
				if d, ok := f.(*http2.DataFrame); ok {
					body = append(body, d.Data()...)
				}
			}
			if !bytes.Equal(body, big) {
				t.Fatal("the body changed across the reload")
			}
			c.(*net.TCPConn).CloseWrite()
			if _, err := fr.ReadFrame(); err != io.EOF {
				t.Fatalf("after the last stream: %v, want EOF", err)
			}

			_, fr2 := h2Get(t, addr, "/big.bin")
			for {
				f, err := fr2.ReadFrame()
				if err != nil {
					t.Fatalf("the new generation: %v", err)
				}
				if h, ok := f.(*http2.MetaHeadersFrame); ok {
					if s := h.PseudoValue("status"); s != "200" {
						t.Fatalf("the new generation answered %s", s)
					}
					break
				}
			}
		})
	}
}
