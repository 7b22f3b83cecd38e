package httpraw_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
)

// h2get sends one request through c and returns the exchange and body.
func h2get(t *testing.T, c *httpraw.Client, method, rawURL string, fields ...string) (*httpraw.Exchange, []byte, error) {
	t.Helper()
	u, err := httpraw.ParseURL(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	req := &httpraw.Request{Method: method, URL: u}
	for i := 0; i+1 < len(fields); i += 2 {
		req.Header = append(req.Header, httpraw.Field{Name: fields[i], Value: fields[i+1]})
	}
	var body bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ex, err := c.Do(ctx, req, &body, nil, 0)
	return ex, body.Bytes(), err
}

// TestH2ClientResponder: the client with prior knowledge gets from the
// responder over h2c what HTTP/1.1 gets — the page, an 8 MiB file past
// every window, a range, 304, 404, HEAD — every request a new stream on
// the one connection, heads shown as curl shows them.
func TestH2ClientResponder(t *testing.T) {
	_, root, big := filesRoot(t)
	for _, engine := range server.Engines() {
		t.Run(engine, func(t *testing.T) {
			addr := serveOn(t, engine, &httpraw.Responder{Root: root})
			var info []string
			c := &httpraw.Client{HTTPVersion: httpraw.HTTP2PriorKnowledge, OnInfo: func(s string) { info = append(info, s) }}
			defer c.Close()
			h1 := &httpraw.Client{}
			defer h1.Close()
			base := "http://" + addr
			cases := []struct {
				method, path string
				fields       []string
				status       int
				body         []byte
			}{
				{"GET", "/a.txt", nil, 200, []byte("0123456789")},
				{"GET", "/big.bin", nil, 200, big},
				{"GET", "/a.txt", []string{"Range", "bytes=2-4"}, 206, []byte("234")},
				{"HEAD", "/big.bin", nil, 200, nil},
				{"GET", "/nope", nil, 404, nil},
				{"GET", "/sub", nil, 301, nil},
				{"POST", "/a.txt", nil, 405, nil},
			}
			for i, tc := range cases {
				ex, body, err := h2get(t, c, tc.method, base+tc.path, tc.fields...)
				if err != nil {
					t.Fatalf("%s %s: %v", tc.method, tc.path, err)
				}
				r := ex.Response
				if r.Proto != "HTTP/2" || r.Status != tc.status || tc.body != nil && !bytes.Equal(body, tc.body) {
					t.Fatalf("%s %s: %s %d, %d bytes", tc.method, tc.path, r.Proto, r.Status, len(body))
				}
				if ex.Timings.Reused != (i > 0) {
					t.Errorf("%s %s: reused %v", tc.method, tc.path, ex.Timings.Reused)
				}
				if want := "HTTP/2 " + strconv.Itoa(tc.status) + " \r\nserver: sockit\r\n"; !strings.HasPrefix(string(r.Head), want) || !strings.HasSuffix(string(r.Head), "\r\n\r\n") {
					t.Errorf("head %q, want it to start %q", r.Head, want)
				}
				// The same answer as over HTTP/1.1.
				ex1, body1, err := h2get(t, h1, tc.method, base+tc.path, tc.fields...)
				if err != nil || ex1.Response.Proto != "HTTP/1.1" || ex1.Response.Status != r.Status || !bytes.Equal(body1, body) {
					t.Errorf("%s %s over HTTP/1.1: %v %+v, %d bytes", tc.method, tc.path, err, ex1.Response, len(body1))
				}
			}
			opened := 0
			for _, s := range info {
				if strings.Contains(s, "OPENED stream") {
					opened++
				}
			}
			if opened != len(cases) || !strings.Contains(strings.Join(info, "\n"), "[HTTP/2] [13] OPENED stream for "+base+"/a.txt\n[HTTP/2] [13] [:method: POST]") {
				t.Errorf("streams opened: %d, info:\n%s", opened, strings.Join(info, "\n"))
			}
		})
	}
}

// TestH2ClientMaxBody: a body over the bound resets only its stream; the
// connection carries the next request.
func TestH2ClientMaxBody(t *testing.T) {
	_, root, _ := filesRoot(t)
	addr := serveOn(t, "", &httpraw.Responder{Root: root})
	c := &httpraw.Client{HTTPVersion: httpraw.HTTP2PriorKnowledge}
	defer c.Close()
	u, _ := httpraw.ParseURL("http://" + addr + "/big.bin")
	if _, err := c.Do(context.Background(), &httpraw.Request{Method: "GET", URL: u}, io.Discard, nil, 1000); !errors.Is(err, httpraw.ErrBodyTooLarge) {
		t.Fatalf("8 MiB under a 1000-byte bound: %v", err)
	}
	ex, body, err := h2get(t, c, "GET", "http://"+addr+"/a.txt")
	if err != nil || string(body) != "0123456789" || !ex.Timings.Reused {
		t.Fatalf("after the reset stream: %v %q reused %v", err, body, ex != nil && ex.Timings.Reused)
	}
}

// h2script answers one stream of a fake server: id is the stream, conn
// counts the connections accepted before this one; true closes the
// connection.
type h2script func(fr *http2.Framer, enc func(...string) []byte, id uint32, conn int) (close bool)

// fakeH2 is an HTTP/2 server that answers each stream by script: to test
// what the client does with a server that breaks the rules.
func fakeH2(t *testing.T, script h2script) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := 0; ; n++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				c.SetDeadline(time.Now().Add(20 * time.Second))
				preface := make([]byte, len(http2.ClientPreface))
				if _, err := io.ReadFull(c, preface); err != nil {
					return
				}
				fr := http2.NewFramer(c, c)
				fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
				var buf bytes.Buffer
				e := hpack.NewEncoder(&buf)
				enc := func(kv ...string) []byte {
					buf.Reset()
					for i := 0; i+1 < len(kv); i += 2 {
						e.WriteField(hpack.HeaderField{Name: kv[i], Value: kv[i+1]})
					}
					return bytes.Clone(buf.Bytes())
				}
				fr.WriteSettings()
				for {
					f, err := fr.ReadFrame()
					if err != nil {
						return
					}
					if h, ok := f.(*http2.MetaHeadersFrame); ok && script(fr, enc, h.StreamID, n) {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// ok200 answers "ok".
func ok200(fr *http2.Framer, enc func(...string) []byte, id uint32) {
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: enc(":status", "200", "content-length", "2"), EndHeaders: true})
	fr.WriteData(id, true, []byte("ok"))
}

// TestH2ClientHostileServer: what a server that breaks HTTP/2 gets from
// the client: an error naming the fault (never a hang, never a cut body
// taken for whole), and a retry on a new connection only where RFC 9113
// says the request was not processed.
func TestH2ClientHostileServer(t *testing.T) {
	isH2 := func(stream bool, code http2.ErrCode) func(error) bool {
		return func(err error) bool {
			var he *httpraw.H2Error
			return errors.As(err, &he) && he.Stream == stream && he.Code == code
		}
	}
	is431 := func(err error) bool {
		var me *httpraw.MalformedError
		return errors.As(err, &me) && me.Status == 431
	}
	for _, tc := range []struct {
		name   string
		script h2script
		check  func(error) bool
	}{
		{"content-length longer than the DATA", func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: enc(":status", "200", "content-length", "10"), EndHeaders: true})
			fr.WriteData(id, true, []byte("short"))
			return false
		}, isH2(true, http2.ErrCodeProtocol)},
		{"close in the body", func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: enc(":status", "200"), EndHeaders: true})
			fr.WriteData(id, false, []byte("part"))
			return true
		}, func(err error) bool {
			var ce *httpraw.ClosedError
			return errors.As(err, &ce) && !ce.Empty
		}},
		{"close before a response", func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
			return true
		}, func(err error) bool {
			var ce *httpraw.ClosedError
			return errors.As(err, &ce) && ce.Empty
		}},
		{"PUSH_PROMISE though push is off", func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
			fr.WritePushPromise(http2.PushPromiseParam{StreamID: id, PromiseID: 2, BlockFragment: enc(":method", "GET", ":path", "/x", ":scheme", "http", ":authority", "a"), EndHeaders: true})
			ok200(fr, enc, id)
			return false
		}, isH2(false, http2.ErrCodeProtocol)},
		{"status not three digits", func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: enc(":status", "2000"), EndHeaders: true, EndStream: true})
			return false
		}, isH2(true, http2.ErrCodeProtocol)},
		{"a request pseudo-field in a response", func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: enc(":status", "200", ":path", "/"), EndHeaders: true, EndStream: true})
			return false
		}, isH2(true, http2.ErrCodeProtocol)},
		{"a field over the header bound", func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: enc(":status", "200", "x-big", strings.Repeat("a", 5000)), EndHeaders: true, EndStream: true})
			return false
		}, is431},
		{"many fields over the header bound", func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
			kv := []string{":status", "200"}
			for i := range 200 {
				kv = append(kv, "x-f"+strconv.Itoa(i), strings.Repeat("v", 40))
			}
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: enc(kv...), EndHeaders: true, EndStream: true})
			return false
		}, is431},
		{"a field past four times the bound (HPACK bomb)", func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
			fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: enc(":status", "200", "x-big", strings.Repeat("a", 20000)), EndHeaders: true, EndStream: true})
			return false
		}, isH2(false, http2.ErrCodeCompression)},
		{"DATA on a stream of the server's", func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
			fr.WriteData(2, true, []byte("x"))
			ok200(fr, enc, id)
			return false
		}, isH2(false, http2.ErrCodeProtocol)},
		{"window past 2^31-1", func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
			fr.WriteWindowUpdate(0, 1<<31-1)
			ok200(fr, enc, id)
			return false
		}, isH2(false, http2.ErrCodeFlowControl)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := fakeH2(t, tc.script)
			c := &httpraw.Client{HTTPVersion: httpraw.HTTP2PriorKnowledge, MaxHeaderBytes: 4096}
			defer c.Close()
			_, body, err := h2get(t, c, "GET", "http://"+addr+"/")
			if !tc.check(err) {
				t.Fatalf("got %v (%T), body %q", err, err, body)
			}
		})
	}
}

// TestH2ClientRetry: a kept connection that the server ends with GOAWAY
// naming an earlier stream, or whose stream it refuses, did not process
// the request (RFC 9113 §6.8, §8.7): the client sends it again, on a new
// connection after GOAWAY.
func TestH2ClientRetry(t *testing.T) {
	for name, refuse := range map[string]func(fr *http2.Framer, id uint32) bool{
		"GOAWAY": func(fr *http2.Framer, id uint32) bool {
			fr.WriteGoAway(id-2, http2.ErrCodeNo, nil)
			return true
		},
		"REFUSED_STREAM": func(fr *http2.Framer, id uint32) bool {
			fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
			return false
		},
	} {
		t.Run(name, func(t *testing.T) {
			addr := fakeH2(t, func(fr *http2.Framer, enc func(...string) []byte, id uint32, n int) bool {
				if n == 0 && id == 3 {
					return refuse(fr, id)
				}
				ok200(fr, enc, id)
				return false
			})
			c := &httpraw.Client{HTTPVersion: httpraw.HTTP2PriorKnowledge}
			defer c.Close()
			for i := range 2 {
				ex, body, err := h2get(t, c, "GET", "http://"+addr+"/")
				if err != nil || string(body) != "ok" {
					t.Fatalf("request %d: %v %q", i, err, body)
				}
				if name == "GOAWAY" && i == 1 && ex.Timings.Reused {
					t.Errorf("the retry went on the connection gone away")
				}
			}
		})
	}
}
