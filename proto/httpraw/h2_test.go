package httpraw_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/server/promrecorder"
	"github.com/sockit/sockit/sockittest"
)

// TestH2SameAnswers: over HTTP/2 the responder answers as over HTTP/1.1 —
// the same status, body and header values for files from memory and by
// file, ranges, conditional requests, redirects and errors — on every
// engine, all the requests on one connection.
func TestH2SameAnswers(t *testing.T) {
	_, root, big := filesRoot(t)
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr := serveOn(t, engine, &httpraw.Responder{Root: root})
			etag := roundTrips(t, addr, getReq("/a.txt"))[0].header["ETag"]
			reqs := []struct {
				method, path string
				fields       []string
			}{
				{"GET", "/a.txt", nil},
				{"HEAD", "/a.txt", nil},
				{"GET", "/big.bin", nil},
				{"HEAD", "/big.bin", []string{"range", "bytes=0-0"}},
				{"GET", "/big.bin", []string{"range", "bytes=1000000-2999999"}},
				{"GET", "/a.txt", []string{"range", "bytes=2-4"}},
				{"GET", "/a.txt", []string{"range", "bytes=10-"}},
				{"GET", "/a.txt", []string{"range", "bytes=0-0", "if-range", etag}},
				{"GET", "/a.txt", []string{"if-none-match", etag}},
				{"GET", "/big.bin", []string{"if-none-match", "*"}},
				{"GET", "/sub", nil},
				{"GET", "/sub/", nil},
				{"GET", "/nope", nil},
				{"HEAD", "/nope", nil},
				{"GET", "/../../etc/passwd", nil},
				{"DELETE", "/a.txt", nil},
				{"GET", "/%zz", nil},
			}
			p := dialH2(t, addr)
			for i, q := range reqs {
				raw := q.method + " " + q.path + " HTTP/1.1\r\nHost: localhost\r\n" // the :authority roundTrip sends
				for j := 0; j+1 < len(q.fields); j += 2 {
					raw += q.fields[j] + ": " + q.fields[j+1] + "\r\n"
				}
				h1 := roundTrips(t, addr, raw+"\r\n")[0]
				h2 := p.roundTrip(uint32(2*i+1), q.method, q.path, q.fields...)
				name := q.method + " " + q.path + " " + strings.Join(q.fields, " ")
				if h2.wasRST || h2.status != h1.status || !bytes.Equal(h2.body, h1.body) {
					t.Errorf("%s: HTTP/2 %d (reset %v) with %d bytes, HTTP/1.1 %d with %d bytes", name, h2.status, h2.wasRST, len(h2.body), h1.status, len(h1.body))
				}
				for k, v := range h1.header {
					if got := h2.header[strings.ToLower(k)]; got != v {
						t.Errorf("%s: %s is %q over HTTP/2, %q over HTTP/1.1", name, k, got, v)
					}
				}
				if h2.header["server"] != "sockit" || h2.header["date"] == "" {
					t.Errorf("%s: no server or date: %v", name, h2.header)
				}
				if q.path == "/big.bin" && q.method == "GET" && len(q.fields) == 0 && !bytes.Equal(h2.body, big) {
					t.Errorf("the 8 MiB file came back changed")
				}
			}
		})
	}
}

// TestH2Streams: many streams at once on one connection, their bodies
// interleaved through the flow-control windows, each whole.
func TestH2Streams(t *testing.T) {
	_, root, big := filesRoot(t)
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr := serveOn(t, engine, &httpraw.Responder{Root: root})
			p := dialH2(t, addr)
			var ids []uint32
			for i := range 20 {
				id := uint32(2*i + 1)
				path := "/a.txt"
				if i%10 == 0 {
					path = "/big.bin"
				}
				p.request(id, "GET", path)
				ids = append(ids, id)
			}
			got := p.responses(ids...)
			for i, id := range ids {
				want := []byte("0123456789")
				if i%10 == 0 {
					want = big
				}
				if r := got[id]; r.status != 200 || !bytes.Equal(r.body, want) {
					t.Errorf("stream %d: %d, %d bytes, want %d", id, r.status, len(r.body), len(want))
				}
			}
		})
	}
}

// TestH2FlowControl: the responder sends no more than the windows allow —
// a stream window of 1 gets one byte, a window opened later gets the rest,
// SETTINGS_INITIAL_WINDOW_SIZE changes the open streams' windows — and
// waits as long as the client keeps them closed.
func TestH2FlowControl(t *testing.T) {
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr := serveOn(t, engine, &httpraw.Responder{})
			page := httpraw.Page()
			p := dialH2(t, addr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1})
			p.autoWindow = false
			p.request(1, "GET", "/")
			var body []byte
			for len(body) < 1 {
				switch f := p.read().(type) {
				case *http2.DataFrame:
					body = append(body, f.Data()...)
				case nil:
					t.Fatal("connection ended")
				}
			}
			if len(body) != 1 {
				t.Fatalf("%d bytes through a window of 1", len(body))
			}
			// Nothing more while the window stays shut: a PING comes back
			// alone.
			p.fr.WritePing(false, [8]byte{1})
			if f, ok := p.read().(*http2.PingFrame); !ok || !f.IsAck() {
				t.Fatalf("after the 1-byte window: %v, want the PING's ACK", f)
			}
			// A new initial window applies to the open stream (RFC 9113
			// §6.9.2): 1 → 101 opens 100 bytes.
			p.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 101})
			for len(body) < 101 {
				if f, ok := p.read().(*http2.DataFrame); ok {
					body = append(body, f.Data()...)
				}
			}
			p.fr.WritePing(false, [8]byte{2})
			for {
				f := p.read()
				if pf, ok := f.(*http2.PingFrame); ok && pf.IsAck() {
					break
				}
				if d, ok := f.(*http2.DataFrame); ok && len(d.Data()) > 0 {
					t.Fatalf("DATA past the window: %d bytes after %d", len(d.Data()), len(body))
				}
			}
			p.fr.WriteWindowUpdate(1, 1<<20)
			for {
				f, ok := p.read().(*http2.DataFrame)
				if !ok {
					continue
				}
				body = append(body, f.Data()...)
				if f.StreamEnded() {
					break
				}
			}
			if !bytes.Equal(body, page) {
				t.Fatalf("body %d bytes, want the page's %d", len(body), len(page))
			}
		})
	}
}

// TestH2RequestBody: a request body (POST) is read and dropped, its window
// given back, and the request answered once it ends (405 here); a body
// that breaks its content-length resets the stream.
func TestH2RequestBody(t *testing.T) {
	addr := serveOn(t, "", &httpraw.Responder{})
	p := dialH2(t, addr)
	body := bytes.Repeat([]byte("b"), 200_000) // three times the initial window
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: p.block("POST", "/", "content-length", strconv.Itoa(len(body))), EndHeaders: true})
	sent := 0
	window := int64(65535)
	for sent < len(body) {
		n := min(16384, len(body)-sent, int(window))
		if n == 0 {
			// Wait for the server to give the window back.
			if f, ok := p.read().(*http2.WindowUpdateFrame); ok && f.StreamID == 0 {
				window += int64(f.Increment)
			}
			continue
		}
		p.fr.WriteData(1, sent+n == len(body), body[sent:sent+n])
		sent += n
		window -= int64(n)
	}
	r := p.responses(1)[1]
	if r.status != 405 || r.header["allow"] != "GET, HEAD" {
		t.Fatalf("POST: %d %v", r.status, r.header)
	}
	// Declared 10, sent 11.
	p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: p.block("POST", "/", "content-length", "10"), EndHeaders: true})
	p.fr.WriteData(3, true, []byte("01234567890"))
	if r := p.responses(3)[3]; !r.wasRST || r.reset != http2.ErrCodeProtocol {
		t.Fatalf("content-length mismatch: %+v, want RST_STREAM PROTOCOL_ERROR", r)
	}
	if r := p.roundTrip(5, "GET", "/"); r.status != 200 {
		t.Fatalf("the connection after a reset stream: %d", r.status)
	}
}

// TestH2AccessLogAndMetrics: an HTTP/2 exchange is logged as nginx logs
// it ("GET / HTTP/2.0") and counted by status like HTTP/1.1's.
func TestH2AccessLogAndMetrics(t *testing.T) {
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			lg := &lineLog{}
			rec := promrecorder.New()
			addr := serveOn(t, engine, &httpraw.Responder{AccessLog: lg, Statuses: rec.Statuses("http")})
			p := dialH2(t, addr)
			p.roundTrip(1, "GET", "/", "user-agent", "h2test/1", "referer", "http://r.example/")
			p.roundTrip(3, "GET", "/nope")
			p.roundTrip(5, "HEAD", "/")
			lines := lg.all()
			want := []string{
				`"GET / HTTP/2.0" 200 ` + strconv.Itoa(len(httpraw.Page())) + ` "http://r.example/" "h2test/1"`,
				`"GET /nope HTTP/2.0" 404 10 "-" "-"`,
				`"HEAD / HTTP/2.0" 200 0 "-" "-"`,
			}
			if len(lines) != len(want) {
				t.Fatalf("%d lines: %q", len(lines), lines)
			}
			for i, w := range want {
				re := regexp.MustCompile(`^127\.0\.0\.1 - - \[[^]]+\] ` + regexp.QuoteMeta(w) + "\n$")
				if !re.MatchString(lines[i]) {
					t.Errorf("line %d: %q, want %s", i, lines[i], w)
				}
			}
			if n := metricValue(t, rec, "sockit_http_responses_total", map[string]string{"code": "200"}); n != 2 {
				t.Errorf("200s counted: %v", n)
			}
			if n := metricValue(t, rec, "sockit_http_responses_total", map[string]string{"code": "404"}); n != 1 {
				t.Errorf("404s counted: %v", n)
			}
		})
	}
}

// metricValue sums a metric's samples whose labels include want.
func metricValue(t *testing.T, rec *promrecorder.Recorder, name string, want map[string]string) float64 {
	t.Helper()
	fams, err := rec.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for k, v := range want {
				found := false
				for _, l := range m.GetLabel() {
					found = found || l.GetName() == k && l.GetValue() == v
				}
				if !found {
					continue next
				}
			}
			if m.Counter != nil {
				sum += m.Counter.GetValue()
			}
		}
	}
	return sum
}

// TestH2Drain: Shutdown sends GOAWAY with the last stream taken; a stream
// opened after it is ignored, the one open completes (here an 8 MiB file
// that waited on a shut window), then the connection closes and Shutdown
// returns nil — on every engine.
func TestH2Drain(t *testing.T) {
	_, root, big := filesRoot(t)
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			srv := server.New(server.Config{Engine: engine, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			addr := sockittest.Serve(t, srv, "tcp", httpraw.Service(&httpraw.Responder{Root: root})).String()
			p := dialH2(t, addr)
			p.autoWindow = false
			p.request(1, "GET", "/big.bin")
			var body []byte
			for len(body) < 65535 {
				if f, ok := p.read().(*http2.DataFrame); ok {
					body = append(body, f.Data()...)
				}
			}
			done := make(chan error, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				done <- srv.Shutdown(ctx)
			}()
			for p.goaway == nil {
				if p.read() == nil {
					t.Fatal("closed before GOAWAY")
				}
			}
			if p.goaway.ErrCode != http2.ErrCodeNo || p.goaway.LastStreamID != 1 {
				t.Fatalf("GOAWAY %v last stream %d, want NO_ERROR 1", p.goaway.ErrCode, p.goaway.LastStreamID)
			}
			p.request(3, "GET", "/a.txt") // after the GOAWAY: ignored
			p.autoWindow = true
			p.fr.WriteWindowUpdate(0, 1<<30)
			p.fr.WriteWindowUpdate(1, 1<<30)
			for len(body) < len(big) {
				f := p.read()
				if f == nil {
					t.Fatalf("closed after %d bytes of %d", len(body), len(big))
				}
				if f.Header().StreamID == 3 {
					t.Fatalf("stream 3, opened after GOAWAY, was answered: %v", f)
				}
				if d, ok := f.(*http2.DataFrame); ok {
					body = append(body, d.Data()...)
				}
			}
			if !bytes.Equal(body, big) {
				t.Fatalf("body %d bytes, want %d", len(body), len(big))
			}
			// The server closes its side once the last stream is done; a
			// client closes then, as curl and nghttp2 do after GOAWAY.
			if f := p.read(); f != nil {
				t.Fatalf("after the last stream: %v, want the end", f)
			}
			p.c.(*net.TCPConn).CloseWrite()
			if err := <-done; err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
		})
	}
}

// TestH2Curl: curl --http2-prior-knowledge fetches the page, a file by
// the file path (8 MiB, past the cache) and a range, over HTTP/2. One URL
// per curl: curl 7.88.1 fails a second URL on a reused prior-knowledge
// connection ("Error in the HTTP2 framing layer", exit 16) before sending
// it, against x/net/http2's h2c server too.
func TestH2Curl(t *testing.T) {
	curl := sockittest.RequireTool(t, "curl")
	_, root, big := filesRoot(t)
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr := serveOn(t, engine, &httpraw.Responder{Root: root})
			for _, tc := range []struct {
				path, rng string
				want      []byte
				code      string
			}{
				{"/", "", httpraw.Page(), "200"},
				{"/big.bin", "", big, "200"},
				{"/a.txt", "2-4", []byte("234"), "206"},
			} {
				args := []string{"-sS", "--http2-prior-knowledge", "-w", "\n%{http_version} %{http_code}", "http://" + addr + tc.path}
				if tc.rng != "" {
					args = append(args, "-r", tc.rng)
				}
				out, err := exec.Command(curl, args...).Output()
				if err != nil {
					t.Fatalf("curl %s: %v", tc.path, err)
				}
				want := append(append([]byte{}, tc.want...), "\n2 "+tc.code...)
				if !bytes.Equal(out, want) {
					t.Errorf("curl %s printed %d bytes (tail %q), want %d", tc.path, len(out), out[max(0, len(out)-40):], len(want))
				}
			}
		})
	}
}

// TestH2Load: h2load's requests over several connections and streams all
// succeed, on every engine.
func TestH2Load(t *testing.T) {
	h2load := sockittest.RequireTool(t, "h2load")
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr := serveOn(t, engine, &httpraw.Responder{})
			out, err := exec.Command(h2load, "-n", "4000", "-c", "8", "-m", "10", "http://"+addr+"/").CombinedOutput()
			if err != nil {
				t.Fatalf("h2load: %v\n%s", err, out)
			}
			if !regexp.MustCompile(`requests: 4000 total, 4000 started, 4000 done, 4000 succeeded, 0 failed, 0 errored, 0 timeout`).Match(out) ||
				!regexp.MustCompile(`status codes: 4000 2xx`).Match(out) {
				t.Fatalf("h2load:\n%s", out)
			}
		})
	}
}

// TestH2Spec runs h2spec's whole suite against the responder over h2c on
// every engine. Every test passes but one, 3.5/2 ("Sends invalid
// connection preface"), which no server that speaks HTTP/1.1 and h2c on
// one port can pass: the bytes it sends, "INVALID CONNECTION PREFACE\r\n\r\n",
// are an invalid HTTP/1.1 request line as well, which the responder
// answers 400 and closes, as HTTP/1.1 asks (RFC 9112 §3); h2spec wants the
// close without a byte before it.
func TestH2Spec(t *testing.T) {
	h2spec := sockittest.RequireTool(t, "h2spec")
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr := serveOn(t, engine, &httpraw.Responder{})
			_, port, _ := strings.Cut(addr, ":")
			out, _ := exec.Command(h2spec, "-h", "127.0.0.1", "-p", port, "-o", "5").CombinedOutput()
			checkH2Spec(t, out)
		})
	}
}

// checkH2Spec checks h2spec's output: all passed but 3.5/2.
func checkH2Spec(t *testing.T, out []byte) {
	t.Helper()
	checkH2SpecFailing(t, out, "Sends invalid connection preface")
}

// checkH2SpecAll checks h2spec's output: every test passed.
func checkH2SpecAll(t *testing.T, out []byte) {
	t.Helper()
	checkH2SpecFailing(t, out)
}

// checkH2SpecFailing checks h2spec's output: at least 145 tests, every
// one passed but those named (by their description).
func checkH2SpecFailing(t *testing.T, out []byte, want ...string) {
	t.Helper()
	m := regexp.MustCompile(`(\d+) tests, (\d+) passed, (\d+) skipped, (\d+) failed`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no summary from h2spec:\n%s", out)
	}
	total, _ := strconv.Atoi(string(m[1]))
	passed, _ := strconv.Atoi(string(m[2]))
	_, failures, _ := bytes.Cut(out, []byte("Failures:"))
	var failed []string
	for _, f := range regexp.MustCompile(`× (\d+): (.*)`).FindAllSubmatch(failures, -1) {
		failed = append(failed, string(f[2]))
	}
	t.Logf("h2spec: %d tests, %d passed", total, passed)
	if total < 145 || passed != total-len(want) || !slices.Equal(failed, want) {
		t.Fatalf("h2spec: %d of %d passed; failures:\n%s", passed, total, failures)
	}
}
