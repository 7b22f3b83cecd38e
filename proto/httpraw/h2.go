package httpraw

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/sockit/sockit/server"
)

// HTTP/2 in the responder (RFC 9113), cleartext with prior knowledge: a
// connection that opens with the client preface ("PRI * HTTP/2.0 …",
// h2c as curl --http2-prior-knowledge and h2load send it) becomes an
// h2conn for the rest of its life. It is the same byte-in, byte-out state
// machine as HTTP/1.1: frames are parsed (golang.org/x/net/http2's Framer,
// HPACK from its hpack package) from whatever bytes have arrived, whole
// units only — a frame, or a HEADERS frame with the CONTINUATION frames of
// its header block — and every frame the connection sends is written by the
// Framer into the output of the call. Requests are answered by the same
// Responder.answer as HTTP/1.1's (the page, files, 304, Range, errors), as
// soon as a request is complete; only the writing differs.
//
// Flow control, both ways (RFC 9113 §5.2, §6.9): a response's body goes out
// in DATA frames as far as the stream's and the connection's send windows
// allow, in pieces of at most about the runtime's buffer per call
// (server.Producer: the runtime asks for the next piece once the last is
// written); a file is read there in chunks of at most 16 KiB (sendfile(2)
// cannot frame). Request bodies (a GET/HEAD server reads none) are dropped
// as they come and their window given back, the connection's once 16 KiB
// are owed, a stream's too while it stays open. The peer's SETTINGS
// (header table size, initial window, maximum frame size) apply at once
// and are acknowledged; PING is answered; PRIORITY is accepted and
// ignored, as RFC 9113 §5.3.2 allows; GOAWAY from the peer changes
// nothing here (the server opens no streams): the peer closes when done.
//
// Shutdown and reload (server.Idler.Drain): GOAWAY with NO_ERROR and the
// last stream the connection took, which is exact because every request is
// answered (or refused) as it arrives; streams already open complete, later
// ones are ignored (the client may retry them elsewhere), and the
// connection closes once the last stream is done.
//
// Bounds. Every attack below costs a bounded amount of memory and CPU,
// ends the connection with GOAWAY, and is counted as a drop under its
// reason (server.Ender): sockit_drops_total{reason="h2-…"}.
//
//   - Frames over 16 KiB (SETTINGS_MAX_FRAME_SIZE, not raised): FRAME_SIZE_ERROR
//     before their payload is buffered.
//   - CONTINUATION without END_HEADERS (CVE-2024-27316 class): a header block
//     is buffered whole before it is decoded, up to twice the header list
//     bound plus a frame; beyond that, ENHANCE_YOUR_CALM
//     (h2-continuation-flood).
//   - HPACK bombs (a small block that decodes to a huge list): the decoded
//     list is bounded by SETTINGS_MAX_HEADER_LIST_SIZE, advertised as
//     MaxRequestBytes plus 32 bytes for each of MaxHeaders fields (HTTP/1.1's
//     bounds, counted the RFC 7541 way); past it the decoder keeps HPACK's
//     state but no fields, the request is answered 431 and the connection
//     ends with ENHANCE_YOUR_CALM (h2-header-list-too-large), as HTTP/1.1
//     answers 431 and closes. A single string over the bound is a
//     COMPRESSION_ERROR.
//   - Rapid reset (CVE-2023-44487), and its twin where the client makes the
//     server reset streams (malformed requests): streams reset either way
//     draw on an allowance of 200, refilled at 100 a second; past it,
//     ENHANCE_YOUR_CALM (h2-rapid-reset).
//   - More than 100 streams at once (SETTINGS_MAX_CONCURRENT_STREAMS): each
//     extra one is refused (REFUSED_STREAM) from an allowance of 100,
//     refilled at 10 a second; past it, ENHANCE_YOUR_CALM
//     (h2-refused-streams). This is what ends a client that opens streams
//     with a zero window and never reads them: it holds at most 100.
//   - SETTINGS and PING floods: 100 of each at once, refilled at 10 a
//     second (h2-settings-flood, h2-ping-flood); other frames that do no
//     work (PRIORITY, empty DATA, unknown types, unasked-for ACKs): 1,000,
//     refilled at 1,000 a second (h2-control-flood). Every reply such a
//     frame asks for is smaller than it, and the runtime reads no more
//     input while output is unsent, so a client that does not read holds
//     back its own flood.
//   - A client that never reads its window: a response waiting on a closed
//     window for 30 s (the server's default write timeout) ends the
//     connection with ENHANCE_YOUR_CALM (h2-window-stalled) at the next
//     frame; a client that sends nothing meanwhile meets the idle timeout.
//   - Request bodies past the window we gave: FLOW_CONTROL_ERROR.
const (
	h2MaxStreams   = 100
	h2MaxFrame     = 16 << 10 // our SETTINGS_MAX_FRAME_SIZE (the default) and the largest DATA we send
	h2Window       = 65535    // the initial windows, ours and the peer's
	h2MaxWindow    = 1<<31 - 1
	h2ReturnAt     = 16 << 10 // request body bytes owed before a WINDOW_UPDATE
	h2StallTimeout = 30 * time.Second
)

// Drop reasons (server.Ender) of the HTTP/2 floods.
const (
	h2BlameContinuation = "h2-continuation-flood"
	h2BlameHeaderList   = "h2-header-list-too-large"
	h2BlameReset        = "h2-rapid-reset"
	h2BlameRefused      = "h2-refused-streams"
	h2BlameSettings     = "h2-settings-flood"
	h2BlamePing         = "h2-ping-flood"
	h2BlameControl      = "h2-control-flood"
	h2BlameStalled      = "h2-window-stalled"
)

// h2Flood ends the connection with GOAWAY(code) and blames the peer.
type h2Flood struct {
	reason string
	code   http2.ErrCode
	debug  string
}

func (e *h2Flood) Error() string { return e.debug }

func calm(reason, debug string) error {
	return &h2Flood{reason: reason, code: http2.ErrCodeEnhanceYourCalm, debug: debug}
}

// allowance is a token bucket on the connection's clock: burst tokens,
// refilled at rate a second.
type allowance struct {
	tokens int32
	last   int64 // ns: when the tokens were last counted
	primed bool
}

func (a *allowance) take(now int64, burst, rate int32) bool {
	if !a.primed {
		a.tokens, a.last, a.primed = burst, now, true
	}
	if add := (now - a.last) * int64(rate) / int64(time.Second); add > 0 {
		a.tokens = int32(min(int64(burst), int64(a.tokens)+add))
		a.last += add * int64(time.Second) / int64(rate)
	}
	if a.tokens <= 0 {
		return false
	}
	a.tokens--
	return true
}

// byteSource is the Framer's reader: the bytes of one unit.
type byteSource struct{ b []byte }

func (s *byteSource) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, s.b)
	s.b = s.b[n:]
	return n, nil
}

// byteSink is the Framer's writer: the output of the current call.
type byteSink struct{ b []byte }

func (s *byteSink) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}

// h2stream is one request and its response.
type h2stream struct {
	id       uint32
	ended    bool  // the request is complete (half-closed, remote)
	window   int64 // what the peer lets us send on it
	inWindow int64 // what we let the peer send on it
	owed     int64 // request body bytes not yet given back
	declared int64 // the request's content-length, -1 for none
	got      int64 // request body bytes received

	// The request until it is answered.
	method, path, ifNoneMatch, ifModifiedSince, rng, ifRange, referer, userAgent string
	authority                                                                    string // :authority, for a redirect's Location

	// The response body still to send: bytes, or a file range.
	body   []byte
	file   *os.File
	off    int64
	left   int64
	queued bool
}

// h2block is a header block as it is decoded: its frame's flags and the
// fields so far (bounded by SETTINGS_MAX_HEADER_LIST_SIZE: past it,
// truncated, and no more are kept).
type h2block struct {
	active     bool
	id         uint32
	endStream  bool
	dep        uint32 // the priority's stream dependency, if any
	hasPrio    bool
	fields     []hpack.HeaderField
	size       uint32 // RFC 7541 §4.1 size of the fields kept
	truncated  bool
	invalid    bool // a field name or value HTTP/2 forbids, or a pseudo-field after a regular one
	sawRegular bool
}

// h2conn is an HTTP/2 connection's state.
type h2conn struct {
	r    *Responder
	peer netip.AddrPort
	fr   *http2.Framer
	src  byteSource // what the Framer reads
	peek byteSource // frame headers looked at before a unit is whole
	sink byteSink
	henc *hpack.Encoder
	hbuf bytes.Buffer

	piece            *[]byte // the buffer of the last piece More wrote, until the next call
	pending          []byte  // bytes received, not yet a whole unit
	unitLen, unitSID uint32  // the header block scanned so far in pending, and its stream

	streams  map[uint32]*h2stream
	sendq    []*h2stream // streams with body bytes to send, in turn
	maxID    uint32      // the highest stream the client opened
	goawayID uint32      // the last stream a graceful GOAWAY let in

	settingsSeen bool // the client's preface SETTINGS arrived
	unacked      int  // our SETTINGS frames not yet acknowledged

	peerWindow   uint32 // the peer's SETTINGS_INITIAL_WINDOW_SIZE
	peerMaxFrame uint32
	window       int64 // connection send window
	inWindow     int64 // connection receive window
	owed         int64 // connection receive window to give back

	draining, goawaySent, closing bool
	failed                        bool // closing for an error
	blame                         string

	clockNs    int64 // this call's clock reading, 0 until read
	stallSince int64

	resets, refused, settings, pings, junk allowance

	// The header block being decoded (HEADERS and its CONTINUATION
	// frames): HPACK state is the connection's, so every block is decoded,
	// also those of streams refused or ignored.
	dec           *hpack.Decoder // emits to c.emit, bound once
	blk           h2block
	q             request     // the request being answered, in reused buffers
	free          []*h2stream // streams done with, for the next ones
	logRef, logUA []byte
	listLimit     uint32 // SETTINGS_MAX_HEADER_LIST_SIZE
	blockLimit    uint32 // the most a header block may take, encoded
	maxFields     int
}

func newH2(r *Responder, peer netip.AddrPort, draining bool) *h2conn {
	c := &h2conn{r: r, peer: peer, streams: map[uint32]*h2stream{}, draining: draining,
		peerWindow: h2Window, peerMaxFrame: h2MaxFrame, window: h2Window, inWindow: h2Window}
	c.listLimit = uint32(r.maxRequest() + 32*r.maxHeaders())
	c.blockLimit = 2*c.listLimit + h2MaxFrame + 9
	c.maxFields = r.maxHeaders()
	c.fr = http2.NewFramer(&c.sink, &c.src)
	c.fr.SetMaxReadFrameSize(h2MaxFrame)
	c.fr.SetReuseFrames()
	c.dec = hpack.NewDecoder(4096, c.emit)
	c.dec.SetMaxStringLength(int(c.listLimit))
	c.henc = hpack.NewEncoder(&c.hbuf)
	return c
}

// clock is this call's time, read once.
func (c *h2conn) clock() int64 {
	if c.clockNs == 0 {
		c.clockNs = c.r.now().UnixNano()
	}
	return c.clockNs
}

// start writes the server's connection preface: its SETTINGS.
func (c *h2conn) start() {
	c.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: h2MaxStreams},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: c.listLimit},
	)
	c.unacked++
}

// receive handles the bytes in: every whole unit, then what can be sent.
func (c *h2conn) receive(in, out []byte) ([]byte, bool) {
	c.releasePiece()
	c.sink.b = out
	if !c.closing {
		if c.stallSince != 0 && c.clock()-c.stallSince > int64(h2StallTimeout) {
			c.fail(calm(h2BlameStalled, "flow-control window closed for 30s"))
		}
	}
	if !c.closing {
		data := in
		if len(c.pending) > 0 {
			c.pending = append(c.pending, in...)
			data = c.pending
		}
		data = c.frames(data)
		if len(data) == 0 {
			c.pending = c.pending[:0]
			if cap(c.pending) > 4<<10 {
				c.pending = nil
			}
		} else if len(c.pending) == 0 || &data[0] != &c.pending[0] {
			c.pending = append(c.pending[:0], data...)
		}
		c.giveBack()
	}
	return c.finish(cap(out))
}

// h2Piece is the most body one More call writes: four frames, in a buffer
// of the session's own while the runtime's is smaller (the loops lend 16
// KiB: a piece each would cost a write(2) a frame).
const h2Piece = 64 << 10

var pieces = sync.Pool{New: func() any { b := make([]byte, 0, h2Piece+4*9); return &b }}

// more is server.Producer's More: the next piece of body, or GOAWAY.
func (c *h2conn) more(out []byte) ([]byte, bool) {
	c.releasePiece()
	if len(c.sendq) > 0 && c.window > 0 && cap(out) < h2Piece {
		c.piece = pieces.Get().(*[]byte)
		out = (*c.piece)[:0]
	}
	c.sink.b = out
	out, closeAfter := c.finish(h2Piece)
	if len(out) == 0 {
		c.releasePiece()
	}
	return out, closeAfter
}

// releasePiece gives back the buffer the last More wrote into: by the next
// call, the runtime is done with it.
func (c *h2conn) releasePiece() {
	if c.piece != nil {
		pieces.Put(c.piece)
		c.piece = nil
	}
}

// finish writes what the windows let through, up to about room bytes in
// all, and hands the output over.
func (c *h2conn) finish(room int) ([]byte, bool) {
	if !c.closing {
		if c.draining && !c.goawaySent {
			c.goawaySent, c.goawayID = true, c.maxID
			c.fr.WriteGoAway(c.maxID, http2.ErrCodeNo, nil)
		}
		c.writeData(max(room, h2MaxFrame+9))
		if c.goawaySent && len(c.streams) == 0 && len(c.pending) == 0 {
			c.closing = true
		}
	}
	out := c.sink.b
	c.sink.b, c.clockNs = nil, 0
	return out, c.closing
}

// idle reports a connection with nothing left to do: drained, no stream.
func (c *h2conn) idle() bool {
	return c.goawaySent && len(c.streams) == 0 && len(c.pending) == 0
}

// end releases the streams' files and says whom to blame.
func (c *h2conn) end() string {
	c.releasePiece()
	for _, st := range c.streams {
		if st.file != nil {
			st.file.Close()
			st.file = nil
		}
	}
	return c.blame
}

// frames reads and handles every whole unit at the start of data and
// returns what is left.
func (c *h2conn) frames(data []byte) []byte {
	for !c.closing && len(data) > 0 {
		n, err := c.unit(data)
		if err != nil {
			c.fail(err)
			break
		}
		if n == 0 {
			break
		}
		c.src.b = data[:n]
		for len(c.src.b) > 0 && !c.closing {
			f, err := c.fr.ReadFrame()
			if err == nil {
				err = c.process(f)
			}
			if err != nil {
				c.fail(err)
			}
		}
		data = data[n-len(c.src.b):]
		c.src.b = nil
		c.unitLen, c.unitSID = 0, 0
	}
	return data
}

var errFrameSize = http2.ConnectionError(http2.ErrCodeFrameSize)

// unit returns the length of the next unit at the start of p, 0 when more
// bytes are needed: a frame, or a HEADERS frame without END_HEADERS and the
// CONTINUATION frames that end its block (the Framer decodes a block whole),
// or up to the header of the first frame that breaks the block off (the
// Framer refuses it there). The part of a block already scanned is kept in
// unitLen, so a block arriving in small pieces is scanned once.
func (c *h2conn) unit(p []byte) (int, error) {
	for {
		n := int(c.unitLen)
		if len(p)-n < 9 {
			return 0, nil
		}
		c.peek.b = p[n : n+9]
		fh, err := http2.ReadFrameHeader(&c.peek)
		if err != nil {
			return 0, err
		}
		if fh.Length > h2MaxFrame {
			return 0, errFrameSize
		}
		if n > 0 && (fh.Type != http2.FrameContinuation || fh.StreamID != c.unitSID) {
			return n + 9, nil
		}
		end := n + 9 + int(fh.Length)
		if n > 0 || fh.Type == http2.FrameHeaders {
			if end > int(c.blockLimit) {
				return 0, calm(h2BlameContinuation, "header block too large")
			}
		}
		if len(p) < end {
			return 0, nil
		}
		if n == 0 && fh.Type != http2.FrameHeaders || fh.Flags.Has(http2.FlagHeadersEndHeaders) {
			return end, nil
		}
		c.unitLen, c.unitSID = uint32(end), fh.StreamID
	}
}

// fail acts on an error: a stream error resets the stream, anything else
// ends the connection with GOAWAY.
func (c *h2conn) fail(err error) {
	var se http2.StreamError
	var ce http2.ConnectionError
	var fl *h2Flood
	switch {
	case errors.As(err, &se):
		c.reset(se.StreamID, se.Code)
		if !c.resets.take(c.clock(), 200, 100) {
			c.fail(calm(h2BlameReset, "too many streams reset"))
		}
	case errors.As(err, &fl):
		c.blame = fl.reason
		c.goAway(fl.code, fl.debug)
	case errors.As(err, &ce):
		debug := ""
		if d := c.fr.ErrorDetail(); d != nil {
			debug = d.Error()
		}
		c.goAway(http2.ErrCode(ce), debug)
	default:
		c.goAway(http2.ErrCodeProtocol, err.Error())
	}
}

// goAway ends the connection with an error.
func (c *h2conn) goAway(code http2.ErrCode, debug string) {
	if c.closing {
		return
	}
	c.fr.WriteGoAway(c.maxID, code, []byte(debug))
	c.goawaySent, c.closing, c.failed = true, true, true
}

// reset sends RST_STREAM and forgets the stream.
func (c *h2conn) reset(id uint32, code http2.ErrCode) {
	c.fr.WriteRSTStream(id, code)
	if st := c.streams[id]; st != nil {
		c.closeStream(st)
	}
}

// newStream returns a stream for id, reusing one done with.
func (c *h2conn) newStream(id uint32) *h2stream {
	var st *h2stream
	if n := len(c.free); n > 0 {
		st, c.free = c.free[n-1], c.free[:n-1]
	} else {
		st = new(h2stream)
	}
	*st = h2stream{id: id, window: int64(c.peerWindow), inWindow: h2Window, declared: -1}
	return st
}

// hasPseudo reports a pseudo-field among fields.
func hasPseudo(fields []hpack.HeaderField) bool {
	for _, hf := range fields {
		if strings.HasPrefix(hf.Name, ":") {
			return true
		}
	}
	return false
}

// closeStream forgets st: its request and what is left of its body.
func (c *h2conn) closeStream(st *h2stream) {
	delete(c.streams, st.id)
	if st.queued {
		for i, q := range c.sendq {
			if q == st {
				c.sendq = append(c.sendq[:i], c.sendq[i+1:]...)
				break
			}
		}
		st.queued = false
	}
	if st.file != nil {
		st.file.Close()
		st.file = nil
	}
	if len(c.streams) == 0 && cap(c.sendq) > 2*h2MaxStreams {
		c.sendq = nil
	}
	if len(c.free) < 4 {
		st.body = nil
		c.free = append(c.free, st)
	}
}

// isIdle reports a stream the client has not opened yet (RFC 9113 §5.1).
func (c *h2conn) isIdle(id uint32) bool { return id > c.maxID }

func (c *h2conn) process(f http2.Frame) error {
	if !c.settingsSeen {
		if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
			return http2.ConnectionError(http2.ErrCodeProtocol) // §3.4: the preface ends with SETTINGS
		}
		c.settingsSeen = true
	}
	if id := f.Header().StreamID; c.goawaySent && id > c.goawayID {
		// A stream opened after our GOAWAY: ignored (§6.8), but its DATA
		// still counts against the connection's window.
		if d, ok := f.(*http2.DataFrame); ok {
			if int64(d.Length) > c.inWindow {
				return http2.ConnectionError(http2.ErrCodeFlowControl)
			}
			c.inWindow -= int64(d.Length)
			c.owed += int64(d.Length)
		}
		return nil
	}
	switch f := f.(type) {
	case *http2.HeadersFrame:
		c.blk = h2block{active: true, id: f.StreamID, endStream: f.StreamEnded(), hasPrio: f.HasPriority(),
			dep: f.Priority.StreamDep, fields: c.blk.fields[:0]}
		return c.fragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.ContinuationFrame:
		if !c.blk.active {
			return http2.ConnectionError(http2.ErrCodeProtocol) // the block's HEADERS was refused: HPACK cannot follow
		}
		return c.fragment(f.HeaderBlockFragment(), f.HeadersEnded())
	case *http2.DataFrame:
		return c.data(f)
	case *http2.SettingsFrame:
		return c.settingsFrame(f)
	case *http2.WindowUpdateFrame:
		return c.windowUpdate(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return c.noWork() // we send no PING
		}
		if !c.pings.take(c.clock(), 100, 10) {
			return calm(h2BlamePing, "too many PINGs")
		}
		return c.fr.WritePing(true, f.Data)
	case *http2.RSTStreamFrame:
		if c.isIdle(f.StreamID) {
			return http2.ConnectionError(http2.ErrCodeProtocol) // §6.4
		}
		if st := c.streams[f.StreamID]; st != nil {
			c.closeStream(st)
			if !c.resets.take(c.clock(), 200, 100) {
				return calm(h2BlameReset, "too many streams reset")
			}
		}
		return nil
	case *http2.PriorityFrame:
		if f.StreamDep == f.StreamID {
			return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeProtocol} // §5.3.1
		}
		return c.noWork()
	case *http2.GoAwayFrame:
		// The client opens no more streams; it closes the connection when
		// it has what it wants (closing first could reset frames it still
		// sends, a PING say).
		return nil
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(http2.ErrCodeProtocol) // §8.4: clients do not push
	}
	return c.noWork() // unknown types, PRIORITY_UPDATE, the CONTINUATION of a refused block
}

// noWork counts a frame that asks nothing of the server.
func (c *h2conn) noWork() error {
	if !c.junk.take(c.clock(), 1000, 1000) {
		return calm(h2BlameControl, "too many frames without work")
	}
	return nil
}

func (c *h2conn) settingsFrame(f *http2.SettingsFrame) error {
	if f.IsAck() {
		if c.unacked == 0 {
			return http2.ConnectionError(http2.ErrCodeProtocol)
		}
		c.unacked--
		return nil
	}
	if !c.settings.take(c.clock(), 100, 10) {
		return calm(h2BlameSettings, "too many SETTINGS")
	}
	err := f.ForeachSetting(func(s http2.Setting) error {
		if err := s.Valid(); err != nil {
			return err
		}
		switch s.ID {
		case http2.SettingHeaderTableSize:
			c.henc.SetMaxDynamicTableSizeLimit(s.Val)
		case http2.SettingInitialWindowSize:
			delta := int64(s.Val) - int64(c.peerWindow)
			c.peerWindow = s.Val
			for _, st := range c.streams {
				if st.window += delta; st.window > h2MaxWindow {
					return http2.ConnectionError(http2.ErrCodeFlowControl) // §6.9.2
				}
			}
		case http2.SettingMaxFrameSize:
			c.peerMaxFrame = s.Val
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.fr.WriteSettingsAck()
}

func (c *h2conn) windowUpdate(f *http2.WindowUpdateFrame) error {
	inc := int64(f.Increment)
	if f.StreamID == 0 {
		if c.window += inc; c.window > h2MaxWindow {
			return http2.ConnectionError(http2.ErrCodeFlowControl) // §6.9.1
		}
		return nil
	}
	st := c.streams[f.StreamID]
	if st == nil {
		if c.isIdle(f.StreamID) {
			return http2.ConnectionError(http2.ErrCodeProtocol) // §5.1
		}
		return nil // a closed stream: it may come after the end
	}
	if st.window += inc; st.window > h2MaxWindow {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeFlowControl}
	}
	return nil
}

func (c *h2conn) data(f *http2.DataFrame) error {
	n := int64(f.Length) // padding included: it counts against the window
	if n > c.inWindow {
		return http2.ConnectionError(http2.ErrCodeFlowControl)
	}
	c.inWindow -= n
	c.owed += n // dropped as it comes: given back at the end of the call
	st := c.streams[f.StreamID]
	if st == nil {
		if c.isIdle(f.StreamID) {
			return http2.ConnectionError(http2.ErrCodeProtocol) // §5.1
		}
		if c.goawaySent && f.StreamID > c.goawayID {
			return nil // a stream GOAWAY turned away
		}
		return http2.StreamError{StreamID: f.StreamID, Code: http2.ErrCodeStreamClosed}
	}
	if st.ended {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeStreamClosed} // §5.1 half-closed (remote)
	}
	if n > st.inWindow {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeFlowControl}
	}
	st.inWindow -= n
	st.owed += n
	st.got += int64(len(f.Data()))
	if st.declared >= 0 && st.got > st.declared {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol} // §8.1.1
	}
	if !f.StreamEnded() {
		if n == 0 {
			return c.noWork()
		}
		return nil
	}
	if st.declared >= 0 && st.got != st.declared {
		return http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	}
	st.ended = true
	c.respond(st)
	return nil
}

// giveBack returns the receive windows that request bodies used.
func (c *h2conn) giveBack() {
	if c.closing {
		return
	}
	if c.owed >= h2ReturnAt {
		c.fr.WriteWindowUpdate(0, uint32(c.owed))
		c.inWindow += c.owed
		c.owed = 0
	}
	for _, st := range c.streams {
		if !st.ended && st.owed >= h2ReturnAt {
			c.fr.WriteWindowUpdate(st.id, uint32(st.owed))
			st.inWindow += st.owed
			st.owed = 0
		}
	}
}

// fragment decodes a piece of the header block; at its end, the block is
// handled.
func (c *h2conn) fragment(p []byte, end bool) error {
	if _, err := c.dec.Write(p); err != nil {
		return http2.ConnectionError(http2.ErrCodeCompression)
	}
	if !end {
		return nil
	}
	c.blk.active = false
	if err := c.dec.Close(); err != nil {
		return http2.ConnectionError(http2.ErrCodeCompression)
	}
	c.dec.SetEmitEnabled(true)
	err := c.headers(&c.blk)
	clear(c.blk.fields) // let go of the strings
	return err
}

// emit takes one decoded field of the block: checked (RFC 9113 §8.2: a
// lower-case token name, a value without NUL, CR or LF, pseudo-fields
// first) and kept while the list fits SETTINGS_MAX_HEADER_LIST_SIZE. Past
// that, or once a field is invalid, the decoder goes on (HPACK's table
// must follow) without handing out more strings.
func (c *h2conn) emit(hf hpack.HeaderField) {
	b := &c.blk
	pseudo := strings.HasPrefix(hf.Name, ":")
	switch {
	case !httpguts.ValidHeaderFieldValue(hf.Value) || !pseudo && !validFieldName(hf.Name) || pseudo && b.sawRegular:
		b.invalid = true
	case b.size+hf.Size() > c.listLimit:
		b.truncated = true
	default:
		b.sawRegular = b.sawRegular || !pseudo
		b.size += hf.Size()
		b.fields = append(b.fields, hf)
		return
	}
	c.dec.SetEmitEnabled(false)
}

// validFieldName reports a field name HTTP/2 allows: a token, lower case.
func validFieldName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if ch := name[i]; 'A' <= ch && ch <= 'Z' || !httpguts.IsTokenRune(rune(ch)) {
			return false
		}
	}
	return true
}

// headers handles a header block: a new request, or a request's trailers.
func (c *h2conn) headers(f *h2block) error {
	id := f.id
	if id%2 == 0 {
		return http2.ConnectionError(http2.ErrCodeProtocol) // §5.1.1: clients open odd streams
	}
	if st := c.streams[id]; st != nil {
		if st.ended {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeStreamClosed}
		}
		// Trailers (§8.1): they end the request and hold no pseudo-fields.
		if !f.endStream || f.invalid || hasPseudo(f.fields) {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
		if st.declared >= 0 && st.got != st.declared {
			return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
		}
		st.ended = true
		c.respond(st)
		return nil
	}
	if id <= c.maxID {
		return http2.ConnectionError(http2.ErrCodeProtocol) // §5.1.1: a closed stream or one skipped
	}
	c.maxID = id
	if f.hasPrio && f.dep == id {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol} // §5.3.1
	}
	if len(c.streams) >= h2MaxStreams {
		c.fr.WriteRSTStream(id, http2.ErrCodeRefusedStream)
		if !c.refused.take(c.clock(), 100, 10) {
			return calm(h2BlameRefused, "too many streams over SETTINGS_MAX_CONCURRENT_STREAMS")
		}
		return nil
	}
	if f.invalid {
		return http2.StreamError{StreamID: id, Code: http2.ErrCodeProtocol}
	}
	st := c.newStream(id)
	if f.truncated || len(f.fields) > c.maxFields+4 {
		// The list went past SETTINGS_MAX_HEADER_LIST_SIZE (or had more
		// fields than HTTP/1.1 takes): 431, as HTTP/1.1 answers, and the
		// connection ends there.
		c.streams[id] = st
		c.send(st, &reply{status: 431, reason: statusText(431)})
		return calm(h2BlameHeaderList, "header list too large")
	}
	if err := st.request(f.fields); err != nil {
		c.free = append(c.free, st)
		return err
	}
	c.streams[id] = st
	if f.endStream {
		st.ended = true
		c.respond(st)
	}
	return nil
}

// request takes the fields the responder uses from a request's header
// block, and refuses a malformed one (§8.2, §8.3): a stream error.
func (st *h2stream) request(fields []hpack.HeaderField) error {
	malformed := http2.StreamError{StreamID: st.id, Code: http2.ErrCodeProtocol}
	var scheme, authority string
	var seen uint8 // the pseudo-fields met: each at most once (§8.3)
	for _, hf := range fields {
		if strings.HasPrefix(hf.Name, ":") {
			var bit uint8
			switch hf.Name {
			case ":method":
				st.method, bit = hf.Value, 1
			case ":path":
				if hf.Value == "" {
					return malformed
				}
				st.path, bit = hf.Value, 2
			case ":scheme":
				scheme, bit = hf.Value, 4
			case ":authority":
				authority, bit = hf.Value, 8
			default: // :status, :protocol (no extended CONNECT here), unknown
				return malformed
			}
			if seen&bit != 0 {
				return malformed
			}
			seen |= bit
			continue
		}
		switch hf.Name {
		case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
			return malformed // §8.2.2: connection-specific fields
		case "te":
			if hf.Value != "trailers" {
				return malformed
			}
		case "content-length":
			n, err := strconv.ParseInt(hf.Value, 10, 64)
			if err != nil || n < 0 || st.declared >= 0 && n != st.declared {
				return malformed
			}
			st.declared = n
		case "if-none-match":
			st.ifNoneMatch = hf.Value
		case "if-modified-since":
			st.ifModifiedSince = hf.Value
		case "range":
			st.rng = hf.Value
		case "if-range":
			st.ifRange = hf.Value
		case "referer":
			st.referer = hf.Value
		case "user-agent":
			st.userAgent = hf.Value
		}
	}
	st.authority = authority
	if st.method == "CONNECT" {
		if authority == "" || scheme != "" || st.path != "" {
			return malformed // §8.5
		}
		return nil
	}
	if st.method == "" || scheme == "" || st.path == "" {
		return malformed // §8.3.1
	}
	return nil
}

// respond answers st's complete request with the responder's answer.
func (c *h2conn) respond(st *h2stream) {
	q := &c.q
	q.method = append(q.method[:0], st.method...)
	q.target = append(q.target[:0], st.path...)
	q.ifNoneMatch = append(q.ifNoneMatch[:0], st.ifNoneMatch...)
	q.ifModifiedSince = append(q.ifModifiedSince[:0], st.ifModifiedSince...)
	q.rng = append(q.rng[:0], st.rng...)
	q.ifRange = append(q.ifRange[:0], st.ifRange...)
	q.hostValue = q.hostValue[:0]
	if validHost([]byte(st.authority)) {
		q.hostValue = append(q.hostValue, st.authority...)
	}
	a := c.r.answer(q)
	c.send(st, &a)
}

// send writes a's HEADERS on st and queues its body.
func (c *h2conn) send(st *h2stream, a *reply) {
	r := c.r
	if r.Statuses != nil {
		r.Statuses.Responded(a.status)
	}
	size := int64(len(a.body) + len(a.text))
	if a.file != nil {
		size = a.n
	}
	if r.AccessLog != nil {
		c.logRef = append(c.logRef[:0], st.referer...)
		c.logUA = append(c.logUA[:0], st.userAgent...)
		e := accessEntry{peer: c.peer, method: c.q.method, target: c.q.target, major: 2, minor: 0,
			status: a.status, body: size, referer: c.logRef, userAgent: c.logUA}
		if st.method == "" {
			e.method = nil // a request refused before it was read
		}
		r.logEntry(&e)
	}
	st.method, st.path, st.ifNoneMatch, st.ifModifiedSince, st.rng, st.ifRange, st.referer, st.userAgent, st.authority = "", "", "", "", "", "", "", "", ""
	c.writeHead(st.id, a, size == 0)
	if size == 0 {
		if a.file != nil {
			a.file.Close()
		}
		c.closeStream(st)
		return
	}
	st.body, st.file, st.off, st.left = a.body, a.file, a.off, size
	if a.text != "" {
		st.body = []byte(a.text)
	}
	st.queued = true
	c.sendq = append(c.sendq, st)
}

// writeHead writes a reply's status and header fields as HEADERS (and
// CONTINUATION past the peer's frame size).
func (c *h2conn) writeHead(id uint32, a *reply, end bool) {
	c.hbuf.Reset()
	c.henc.WriteField(hpack.HeaderField{Name: ":status", Value: h2Status(a.status)})
	c.henc.WriteField(hpack.HeaderField{Name: "server", Value: "sockit"})
	c.henc.WriteField(hpack.HeaderField{Name: "date", Value: c.r.dateNow().str})
	for lines := a.lines; lines != ""; {
		line, rest, _ := strings.Cut(lines, "\r\n")
		lines = rest
		if name, value, ok := strings.Cut(line, ": "); ok {
			c.henc.WriteField(hpack.HeaderField{Name: h2Name(name), Value: value})
		}
	}
	block := c.hbuf.Bytes()
	frag := block[:min(len(block), int(c.peerMaxFrame))]
	block = block[len(frag):]
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: frag, EndStream: end, EndHeaders: len(block) == 0})
	for len(block) > 0 {
		frag = block[:min(len(block), int(c.peerMaxFrame))]
		block = block[len(frag):]
		c.fr.WriteContinuation(id, len(block) == 0, frag)
	}
}

// h2Name is a header line's name as HTTP/2 sends it: lower case.
func h2Name(name string) string {
	switch name {
	case "Content-Type":
		return "content-type"
	case "Content-Length":
		return "content-length"
	case "Last-Modified":
		return "last-modified"
	case "ETag":
		return "etag"
	case "Accept-Ranges":
		return "accept-ranges"
	case "Content-Range":
		return "content-range"
	case "Location":
		return "location"
	case "Allow":
		return "allow"
	}
	return strings.ToLower(name)
}

// h2Status is a status code's :status value.
func h2Status(code int) string {
	switch code {
	case 200:
		return "200"
	case 206:
		return "206"
	case 304:
		return "304"
	case 404:
		return "404"
	}
	return strconv.Itoa(code)
}

// chunks are what file bodies are read into, a DATA frame's worth at a time.
var chunks = sync.Pool{New: func() any { b := make([]byte, h2MaxFrame); return &b }}

// writeData sends DATA for the queued streams in turn, a frame each per
// round, as far as the windows allow and until the output holds about
// room bytes.
func (c *h2conn) writeData(room int) {
	sent := false
	for len(c.sendq) > 0 && c.window > 0 {
		moved := false
		for i := 0; i < len(c.sendq) && c.window > 0; {
			space := room - len(c.sink.b) - 9
			if space < 1024 {
				c.noteStall(true, false) // the output is full, not the windows
				return
			}
			st := c.sendq[i]
			n := min(st.left, st.window, c.window, int64(min(c.peerMaxFrame, h2MaxFrame)), int64(space))
			if n <= 0 {
				i++
				continue
			}
			if !c.dataFrame(st, n) {
				continue // st was reset and dropped from the queue
			}
			moved, sent = true, true
			if st.left == 0 {
				c.closeStream(st) // leaves the queue: i now names the next
			} else {
				i++
			}
		}
		if !moved {
			break
		}
	}
	c.noteStall(sent, len(c.sendq) > 0)
}

// noteStall keeps the time since when bodies wait on closed windows.
func (c *h2conn) noteStall(sent, waiting bool) {
	switch {
	case sent || !waiting:
		c.stallSince = 0
	case c.stallSince == 0:
		c.stallSince = c.clock()
	}
}

// dataFrame sends n bytes of st's body; false when the file failed and
// the stream was reset instead.
func (c *h2conn) dataFrame(st *h2stream, n int64) bool {
	var data []byte
	var chunk *[]byte
	if st.file != nil {
		chunk = chunks.Get().(*[]byte)
		data = (*chunk)[:n]
		if k, err := st.file.ReadAt(data, st.off); int64(k) != n {
			chunks.Put(chunk)
			_ = err // a file that shrank or failed: the stream cannot be finished
			c.reset(st.id, http2.ErrCodeInternal)
			return false
		}
		st.off += n
	} else {
		data = st.body[:n]
		st.body = st.body[n:]
	}
	st.left -= n
	st.window -= n
	c.window -= n
	c.fr.WriteData(st.id, st.left == 0, data)
	if chunk != nil {
		chunks.Put(chunk)
	}
	if st.left == 0 && st.file != nil {
		st.file.Close()
		st.file = nil
	}
	return true
}

// h2Preface reports whether the bytes held and those just in could begin
// the HTTP/2 client preface: all of it, or a part so far.
func h2Preface(held, in []byte) bool {
	const p = http2.ClientPreface
	n := min(len(held), len(p))
	if string(held[:n]) != p[:n] {
		return false
	}
	m := min(len(in), len(p)-n)
	return len(held)+len(in) > 0 && string(in[:m]) == p[n:n+m]
}

// receiveH2 is Receive on a connection that is, or may be becoming, HTTP/2:
// the preface is held until it is whole, then the connection switches.
func (s *session) receiveH2(in, out []byte) ([]byte, bool) {
	if s.h2 != nil {
		return s.h2.receive(in, out)
	}
	const n = len(http2.ClientPreface)
	if len(s.pending)+len(in) < n {
		s.pending = append(s.pending, in...)
		return out, false
	}
	data := in
	if len(s.pending) > 0 {
		data = append(s.pending, in...)
	}
	s.pending = nil
	s.h2 = newH2(s.r, s.peer, s.draining)
	s.h2.q.https = s.https // redirects name the scheme the client used
	s.h2.sink.b = out
	s.h2.start()
	out, s.h2.sink.b = s.h2.sink.b, nil
	return s.h2.receive(data[n:], out)
}

var _ interface {
	server.Producer
	server.Ender
	server.Lingerer
} = (*session)(nil)

// More implements server.Producer: an HTTP/2 connection's next piece of
// output (HTTP/1.1 writes everything in Receive).
func (s *session) More(buf []byte) ([]byte, bool) {
	if s.h2 == nil {
		return nil, false
	}
	return s.h2.more(buf)
}

// End implements server.Ender: an HTTP/2 connection's open files are
// closed, and a flood is blamed on the peer.
func (s *session) End() string {
	if s.h2 == nil {
		return ""
	}
	return s.h2.end()
}

// Linger implements server.Lingerer. An HTTP/2 client sends WINDOW_UPDATE
// and PING frames while it reads, so a graceful close (after GOAWAY and
// the last stream) waits for the client's FIN rather than resetting what
// it has not read yet; a close for a flood does not read the flood for
// another second. A close for a protocol error, and HTTP/1.1, lingers only
// if input waits.
func (s *session) Linger() server.Linger {
	switch {
	case s.h2 == nil:
		return server.LingerIfWaiting
	case s.h2.blame != "":
		return server.LingerNever
	case !s.h2.failed:
		return server.LingerAlways
	}
	return server.LingerIfWaiting
}
