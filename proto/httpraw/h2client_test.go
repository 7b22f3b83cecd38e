package httpraw_test

import (
	"bytes"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
)

// h2peer is a test's HTTP/2 client: raw frames through x/net's Framer, so
// a test can send what no well-behaved client would.
type h2peer struct {
	t    *testing.T
	c    net.Conn
	fr   *http2.Framer
	enc  *hpack.Encoder
	ebuf bytes.Buffer
	// autoWindow gives back the window of every DATA frame read.
	autoWindow bool
	goaway     *http2.GoAwayFrame
}

// dialH2 connects with prior knowledge: the preface and a SETTINGS frame
// holding settings.
func dialH2(t *testing.T, addr string, settings ...http2.Setting) *h2peer {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	p := &h2peer{t: t, c: c, autoWindow: true}
	p.fr = http2.NewFramer(c, c)
	p.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	p.fr.MaxHeaderListSize = 1 << 20
	p.enc = hpack.NewEncoder(&p.ebuf)
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	if err := p.fr.WriteSettings(settings...); err != nil {
		t.Fatal(err)
	}
	return p
}

// block encodes a request's header block: the pseudo-fields of method and
// path, then fields as name, value pairs.
func (p *h2peer) block(method, path string, fields ...string) []byte {
	p.ebuf.Reset()
	p.enc.WriteField(hpack.HeaderField{Name: ":method", Value: method})
	p.enc.WriteField(hpack.HeaderField{Name: ":scheme", Value: "http"})
	p.enc.WriteField(hpack.HeaderField{Name: ":authority", Value: "localhost"})
	p.enc.WriteField(hpack.HeaderField{Name: ":path", Value: path})
	for i := 0; i+1 < len(fields); i += 2 {
		p.enc.WriteField(hpack.HeaderField{Name: fields[i], Value: fields[i+1]})
	}
	return bytes.Clone(p.ebuf.Bytes())
}

// request sends a request without a body on stream id.
func (p *h2peer) request(id uint32, method, path string, fields ...string) {
	p.t.Helper()
	err := p.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: p.block(method, path, fields...), EndStream: true, EndHeaders: true})
	if err != nil {
		p.t.Fatal(err)
	}
}

// h2resp is a response as read off the wire.
type h2resp struct {
	status int
	header map[string]string
	body   []byte
	reset  http2.ErrCode // the stream was reset with this code instead
	wasRST bool
}

// read returns the next frame, answering the server's SETTINGS and giving
// back the window of DATA when autoWindow; nil at the end of the
// connection. A GOAWAY is kept in p.goaway.
func (p *h2peer) read() http2.Frame {
	p.t.Helper()
	for {
		f, err := p.fr.ReadFrame()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
				return nil
			}
			p.t.Fatalf("reading a frame: %v", err)
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				p.fr.WriteSettingsAck()
			}
			continue
		case *http2.DataFrame:
			if p.autoWindow && f.Length > 0 {
				p.fr.WriteWindowUpdate(0, f.Length)
				if !f.StreamEnded() {
					p.fr.WriteWindowUpdate(f.StreamID, f.Length)
				}
			}
		case *http2.GoAwayFrame:
			p.goaway = f
		}
		return f
	}
}

// responses reads until every stream in ids has its response (or reset).
func (p *h2peer) responses(ids ...uint32) map[uint32]*h2resp {
	p.t.Helper()
	out := map[uint32]*h2resp{}
	done := 0
	want := map[uint32]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for done < len(ids) {
		f := p.read()
		if f == nil {
			p.t.Fatalf("connection ended with %d of %d responses", done, len(ids))
		}
		id := f.Header().StreamID
		if !want[id] {
			continue
		}
		r := out[id]
		if r == nil {
			r = &h2resp{header: map[string]string{}}
			out[id] = r
		}
		ended := false
		switch f := f.(type) {
		case *http2.MetaHeadersFrame:
			for _, hf := range f.Fields {
				if hf.Name == ":status" {
					r.status, _ = strconv.Atoi(hf.Value)
				} else {
					r.header[hf.Name] = hf.Value
				}
			}
			ended = f.StreamEnded()
		case *http2.DataFrame:
			r.body = append(r.body, f.Data()...)
			ended = f.StreamEnded()
		case *http2.RSTStreamFrame:
			r.reset, r.wasRST, ended = f.ErrCode, true, true
		}
		if ended {
			done++
			delete(want, id)
		}
	}
	return out
}

// roundTrip sends one request on stream id and reads its response.
func (p *h2peer) roundTrip(id uint32, method, path string, fields ...string) *h2resp {
	p.t.Helper()
	p.request(id, method, path, fields...)
	return p.responses(id)[id]
}

// untilGoAway reads until the server's GOAWAY and then the end of the
// connection; it returns the GOAWAY and how many frames came before it.
func (p *h2peer) untilGoAway() (*http2.GoAwayFrame, int) {
	p.t.Helper()
	n := 0
	for {
		f := p.read()
		if f == nil {
			if p.goaway == nil {
				p.t.Fatalf("the connection ended without GOAWAY after %d frames", n)
			}
			return p.goaway, n
		}
		if _, ok := f.(*http2.GoAwayFrame); !ok && p.goaway == nil {
			n++
		}
	}
}

// FuzzH2Session feeds the responder's HTTP/2 session whatever follows the
// client preface, whole and then in pieces of a few bytes, and reads
// every output with x/net's Framer and HPACK decoder: no panic, and every
// call's output is whole, valid frames (their header blocks decodable in
// order), nothing after the session asked to close.
func FuzzH2Session(f *testing.F) {
	var seed bytes.Buffer
	fr := http2.NewFramer(&seed, nil)
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, hf := range []hpack.HeaderField{{Name: ":method", Value: "GET"}, {Name: ":scheme", Value: "http"}, {Name: ":path", Value: "/"}, {Name: ":authority", Value: "a"}} {
		enc.WriteField(hf)
	}
	fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: hb.Bytes(), EndStream: true, EndHeaders: true})
	fr.WriteWindowUpdate(1, 100)
	fr.WritePing(false, [8]byte{1})
	f.Add(seed.Bytes(), uint8(3))
	fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: hb.Bytes()[:3]})
	fr.WriteContinuation(3, true, hb.Bytes()[3:])
	fr.WriteData(3, true, []byte("body"))
	fr.WriteRSTStream(5, http2.ErrCodeCancel)
	f.Add(seed.Bytes(), uint8(1))
	f.Fuzz(func(t *testing.T, in []byte, step uint8) {
		for _, size := range []int{len(in), int(step%16) + 1} {
			sess := (&httpraw.Responder{}).Open(netip.AddrPort{})
			dec := hpack.NewDecoder(4096, nil)
			check := func(out []byte, closed bool) {
				rd := http2.NewFramer(nil, bytes.NewReader(out))
				rd.ReadMetaHeaders = dec
				rd.MaxHeaderListSize = 1 << 20
				for {
					_, err := rd.ReadFrame()
					if err == io.EOF {
						return
					}
					if err != nil {
						t.Fatalf("output not whole frames: %v", err)
					}
				}
			}
			feed := append([]byte(http2.ClientPreface), in...)
			closed := false
			for len(feed) > 0 && !closed {
				n := min(size, len(feed))
				if size == 0 {
					n = len(feed)
				}
				out, c := sess.Receive(feed[:n], make([]byte, 0, 16<<10))
				check(out, closed)
				closed = c
				feed = feed[n:]
				for !closed {
					out, c := sess.(server.Producer).More(make([]byte, 0, 16<<10))
					if len(out) == 0 && !c {
						break
					}
					check(out, closed)
					closed = c
				}
			}
			sess.(server.Ender).End()
		}
	})
}
