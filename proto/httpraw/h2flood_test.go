package httpraw_test

import (
	"bytes"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/server/promrecorder"
	"github.com/sockit/sockit/sockittest"
)

// floodServer runs r on every engine with a Prometheus recorder, so a
// test can see the drop its flood is counted as.
func floodServer(t *testing.T, engine string, r *httpraw.Responder) (string, *promrecorder.Recorder) {
	t.Helper()
	rec := promrecorder.New()
	srv := server.New(server.Config{Engine: engine, Recorder: rec, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	return sockittest.Serve(t, srv, "tcp", httpraw.Service(r)).String(), rec
}

// flooder writes frames from a goroutine of its own (through a Framer of
// its own) while the test reads: at most n rounds of write, until a write
// fails.
type flooder struct {
	fr     *http2.Framer
	rounds atomic.Int64
	done   chan struct{}
}

func startFlood(p *h2peer, n int, write func(fr *http2.Framer, i int) error) *flooder {
	// The reading side answers nothing from now on: one writer only.
	p.fr = newReadOnlyFramer(p)
	f := &flooder{fr: http2.NewFramer(p.c, nil), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for i := range n {
			if write(f.fr, i) != nil {
				return
			}
			f.rounds.Add(1)
		}
	}()
	return f
}

func newReadOnlyFramer(p *h2peer) *http2.Framer {
	fr := http2.NewFramer(io.Discard, p.c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = 1 << 20
	p.autoWindow = false
	return fr
}

// stop ends the flood: the connection closes, the writer sees it fail.
func (f *flooder) stop(p *h2peer) {
	p.c.Close()
	<-f.done
}

// expectCalm reads to the server's GOAWAY, checks its code and that the
// connection ended, and waits for the drop to be counted under reason.
func expectGoAway(t *testing.T, p *h2peer, rec *promrecorder.Recorder, code http2.ErrCode, reason string) *http2.GoAwayFrame {
	t.Helper()
	g, _ := p.untilGoAway()
	if g.ErrCode != code {
		t.Fatalf("GOAWAY %v (%q), want %v", g.ErrCode, g.DebugData(), code)
	}
	if reason != "" {
		sockittest.Eventually(t, 10*time.Second, "the drop counted as "+reason, func() bool {
			return metricValue(t, rec, "sockit_drops_total", map[string]string{"reason": reason}) == 1
		})
	}
	return g
}

// TestH2RapidReset: CVE-2023-44487. A client opens streams and resets
// them at once, 10,000 times; the server ends the connection with
// ENHANCE_YOUR_CALM once the allowance (200, refilled at 100/s) is spent,
// and counts it. Its twin, where malformed requests make the server reset
// the streams, ends the same way.
func TestH2RapidReset(t *testing.T) {
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr, rec := floodServer(t, engine, &httpraw.Responder{})
			p := dialH2(t, addr)
			block := p.block("GET", "/")
			f := startFlood(p, 10000, func(fr *http2.Framer, i int) error {
				id := uint32(2*i + 1)
				if err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block, EndHeaders: true}); err != nil {
					return err
				}
				return fr.WriteRSTStream(id, http2.ErrCodeCancel)
			})
			g := expectGoAway(t, p, rec, http2.ErrCodeEnhanceYourCalm, "h2-rapid-reset")
			f.stop(p)
			streams := (g.LastStreamID + 1) / 2
			t.Logf("cut off after %d of 10000 reset streams", streams)
			if streams > 400 {
				t.Fatalf("%d streams reset before GOAWAY, want about 200", streams)
			}
		})
	}
	t.Run("made to reset", func(t *testing.T) {
		addr, rec := floodServer(t, "", &httpraw.Responder{})
		p := dialH2(t, addr)
		bad := p.block("GET", "/", "connection", "close") // malformed in HTTP/2 (§8.2.2)
		f := startFlood(p, 10000, func(fr *http2.Framer, i int) error {
			return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: bad, EndStream: true, EndHeaders: true})
		})
		g := expectGoAway(t, p, rec, http2.ErrCodeEnhanceYourCalm, "h2-rapid-reset")
		f.stop(p)
		t.Logf("cut off after %d malformed requests", (g.LastStreamID+1)/2)
	})
}

// TestH2ContinuationFlood: the 2024 class (CVE-2024-27316 and kin). A
// HEADERS frame without END_HEADERS followed by CONTINUATION frames that
// never end the block, of 4 KiB and of no bytes at all: the server buffers
// the block up to its bound (about 39 KiB with the default limits),
// decodes none of it, and ends the connection with ENHANCE_YOUR_CALM.
func TestH2ContinuationFlood(t *testing.T) {
	for _, size := range []int{4096, 0} {
		for _, engine := range server.Engines() {
			t.Run(engine+"/"+strings.Repeat("x", min(size, 1))+"frames of "+itoa(size), func(t *testing.T) {
				addr, rec := floodServer(t, engine, &httpraw.Responder{})
				p := dialH2(t, addr)
				frag := bytes.Repeat([]byte{0x40}, size) // never decoded
				first := p.block("GET", "/")
				f := startFlood(p, 100000, func(fr *http2.Framer, i int) error {
					if i == 0 {
						return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: first, EndStream: true})
					}
					return fr.WriteContinuation(1, false, frag)
				})
				expectGoAway(t, p, rec, http2.ErrCodeEnhanceYourCalm, "h2-continuation-flood")
				f.stop(p)
				in := metricValue(t, rec, "sockit_bytes_total", map[string]string{"direction": "in"})
				t.Logf("CONTINUATION frames of %d bytes: the server read %.0f bytes in all, then GOAWAY", size, in)
				if in > 128<<10 {
					t.Fatalf("the server read %.0f bytes of a flood it bounds at about 39 KiB (and one read more)", in)
				}
			})
		}
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestH2HPACKBomb: one HEADERS frame of about 8 KiB that decodes to about
// 20 MB (a 4,000-byte field added to the dynamic table, then referred to
// 5,000 times in a byte each). The decoded list is bounded by
// SETTINGS_MAX_HEADER_LIST_SIZE: the server keeps no fields past it,
// answers 431 and ends the connection with ENHANCE_YOUR_CALM; it
// allocates far less than the decoded size while it does.
func TestH2HPACKBomb(t *testing.T) {
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr, rec := floodServer(t, engine, &httpraw.Responder{})
			p := dialH2(t, addr)
			p.ebuf.Reset()
			for _, hf := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/"}} {
				p.enc.WriteField(hf)
			}
			bomb := hpack.HeaderField{Name: "x-bomb", Value: strings.Repeat("b", 4000)}
			for range 5001 {
				p.enc.WriteField(bomb)
			}
			block := p.ebuf.Bytes()
			if len(block) > 16384 {
				t.Fatalf("block of %d bytes does not fit a frame", len(block))
			}
			decoded := 5001 * int(bomb.Size())
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block, EndStream: true, EndHeaders: true})
			r := p.responses(1)[1]
			runtime.ReadMemStats(&after)
			if r.status != 431 {
				t.Fatalf("bomb answered %d, want 431", r.status)
			}
			expectGoAway(t, p, rec, http2.ErrCodeEnhanceYourCalm, "h2-header-list-too-large")
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("a %d-byte block decoding to %d bytes: 431, GOAWAY; %d bytes allocated in the process meanwhile", len(block), decoded, alloc)
			if alloc > uint64(decoded)/4 {
				t.Fatalf("%d bytes allocated for a %d-byte bomb", alloc, decoded)
			}
		})
	}
}

// TestH2ControlFloods: SETTINGS, PING and PRIORITY frames, 100,000 of
// each as fast as they can be written: each costs the server a reply no
// larger than itself (or none), the replies stop at the allowance, and the
// connection ends with ENHANCE_YOUR_CALM.
func TestH2ControlFloods(t *testing.T) {
	floods := []struct {
		name, reason string
		write        func(fr *http2.Framer, i int) error
		isReply      func(http2.Frame) bool
		allowance    int
	}{
		{"settings", "h2-settings-flood",
			func(fr *http2.Framer, i int) error { return fr.WriteSettings() },
			func(f http2.Frame) bool { s, ok := f.(*http2.SettingsFrame); return ok && s.IsAck() }, 100},
		{"ping", "h2-ping-flood",
			func(fr *http2.Framer, i int) error { return fr.WritePing(false, [8]byte{byte(i)}) },
			func(f http2.Frame) bool { _, ok := f.(*http2.PingFrame); return ok }, 100},
		{"priority", "h2-control-flood",
			func(fr *http2.Framer, i int) error {
				return fr.WritePriority(uint32(2*i+1), http2.PriorityParam{StreamDep: 0, Weight: 15})
			},
			func(f http2.Frame) bool { return false }, 1000},
	}
	for _, fl := range floods {
		for _, engine := range server.Engines() {
			t.Run(fl.name+"/"+engine, func(t *testing.T) {
				addr, rec := floodServer(t, engine, &httpraw.Responder{})
				p := dialH2(t, addr)
				f := startFlood(p, 100000, fl.write)
				replies := 0
				for {
					fr, err := p.fr.ReadFrame()
					if err != nil {
						t.Fatalf("the connection ended without GOAWAY: %v", err)
					}
					if g, ok := fr.(*http2.GoAwayFrame); ok {
						if g.ErrCode != http2.ErrCodeEnhanceYourCalm {
							t.Fatalf("GOAWAY %v", g.ErrCode)
						}
						break
					}
					if fl.isReply(fr) {
						replies++
					}
				}
				p.goaway = &http2.GoAwayFrame{ErrCode: http2.ErrCodeEnhanceYourCalm}
				expectGoAway(t, p, rec, http2.ErrCodeEnhanceYourCalm, fl.reason)
				f.stop(p)
				t.Logf("%d replies, then GOAWAY", replies)
				if replies > fl.allowance+50 {
					t.Fatalf("%d replies, allowance %d", replies, fl.allowance)
				}
			})
		}
	}
}

// TestH2ZeroWindowStreams: a client that sets its initial window to zero
// and opens streams it never reads: the server holds at most 100 (their
// responses' HEADERS sent, the bodies waiting), refuses the rest with
// REFUSED_STREAM, and ends the connection with ENHANCE_YOUR_CALM when the
// refusals pass their allowance (100, refilled at 10/s).
func TestH2ZeroWindowStreams(t *testing.T) {
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr, rec := floodServer(t, engine, &httpraw.Responder{})
			p := dialH2(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
			block := p.block("GET", "/")
			f := startFlood(p, 5000, func(fr *http2.Framer, i int) error {
				return fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: block, EndStream: true, EndHeaders: true})
			})
			heads, refused, data := 0, 0, 0
			for {
				fr := p.read()
				if fr == nil {
					t.Fatal("the connection ended without GOAWAY")
				}
				switch fr := fr.(type) {
				case *http2.MetaHeadersFrame:
					heads++
				case *http2.RSTStreamFrame:
					if fr.ErrCode == http2.ErrCodeRefusedStream {
						refused++
					}
				case *http2.DataFrame:
					data += len(fr.Data())
				}
				if _, ok := fr.(*http2.GoAwayFrame); ok {
					break
				}
			}
			expectGoAway(t, p, rec, http2.ErrCodeEnhanceYourCalm, "h2-refused-streams")
			f.stop(p)
			t.Logf("%d streams answered (HEADERS, body held), %d refused, %d DATA bytes", heads, refused, data)
			if heads != 100 || data != 0 || refused < 100 || refused > 200 {
				t.Fatalf("%d streams held, %d refused, %d DATA bytes through a zero window", heads, refused, data)
			}
		})
	}
}

// TestH2WindowNeverRead: a client that takes the first 64 KiB of a large
// file and never opens its window again, while keeping the connection
// alive with PINGs: after 30 s on the responder's clock the connection
// ends with ENHANCE_YOUR_CALM.
func TestH2WindowNeverRead(t *testing.T) {
	_, root, _ := filesRoot(t)
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			clk := &clock{}
			clk.ns.Store(time.Now().UnixNano())
			addr, rec := floodServer(t, engine, &httpraw.Responder{Root: root, Now: clk.now})
			p := dialH2(t, addr)
			p.autoWindow = false
			p.request(1, "GET", "/big.bin")
			got := 0
			for got < 65535 {
				if d, ok := p.read().(*http2.DataFrame); ok {
					got += len(d.Data())
				}
			}
			ping := func(b byte) http2.Frame {
				p.fr.WritePing(false, [8]byte{b})
				for {
					f := p.read()
					if _, ok := f.(*http2.PingFrame); ok || f == nil {
						return f
					}
					if _, ok := f.(*http2.GoAwayFrame); ok {
						return f
					}
				}
			}
			// A PING answered first: the server has seen the shut window by
			// then, on the clock before it moves.
			if _, ok := ping(0).(*http2.PingFrame); !ok {
				t.Fatal("no PING answer")
			}
			clk.advance(20 * time.Second)
			if f := ping(1); f == nil {
				t.Fatal("closed after 20 s")
			} else if _, ok := f.(*http2.PingFrame); !ok {
				t.Fatalf("after 20 s: %v", f)
			}
			clk.advance(11 * time.Second)
			ping(2)
			expectGoAway(t, p, rec, http2.ErrCodeEnhanceYourCalm, "h2-window-stalled")
		})
	}
}
