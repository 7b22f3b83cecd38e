package httpraw

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// HTTPVersion is the protocol a Client speaks, as curl's --http1.1,
// --http2 and --http2-prior-knowledge choose it.
type HTTPVersion int

const (
	// HTTPAuto is curl's default: over TLS, ALPN offers h2 and http/1.1
	// and the server's pick is spoken; in cleartext, HTTP/1.1.
	HTTPAuto HTTPVersion = iota
	// HTTP1 speaks HTTP/1.1 only; ALPN offers http/1.1 alone (--http1.1).
	HTTP1
	// HTTP2 asks for HTTP/2 (--http2): over TLS as HTTPAuto; in
	// cleartext, the first request on a connection asks to upgrade to h2c
	// (Upgrade: h2c, RFC 7540 §3.2), and HTTP/2 is spoken only if the
	// server answers 101; otherwise the connection stays HTTP/1.1.
	HTTP2
	// HTTP2PriorKnowledge speaks HTTP/2 from the first byte in cleartext
	// (h2c, --http2-prior-knowledge); over TLS as HTTP2.
	HTTP2PriorKnowledge
)

// alpn is what the TLS handshake offers.
func (v HTTPVersion) alpn() []string {
	if v == HTTP1 {
		return []string{"http/1.1"}
	}
	return []string{"h2", "http/1.1"}
}

// H2Error is an HTTP/2 error: of the connection (curl's exit 16, "a
// problem in the HTTP/2 framing layer") or of the one stream (curl's 92),
// found by sockit (Remote false; sockit told the server with GOAWAY or
// RST_STREAM) or sent by the server.
type H2Error struct {
	Stream bool
	Remote bool
	Code   http2.ErrCode
	Msg    string
}

func (e *H2Error) Error() string {
	who := "HTTP/2 connection"
	if e.Stream {
		who = "HTTP/2 stream"
	}
	if e.Remote {
		s := fmt.Sprintf("%s reset by the server: %v", who, e.Code)
		if e.Msg != "" {
			s += " (" + e.Msg + ")"
		}
		return s
	}
	return fmt.Sprintf("%s error %v: %s", who, e.Code, e.Msg)
}

// The client's HTTP/2 settings: the windows it gives the server (a body
// on loopback should not wait for WINDOW_UPDATEs, as curl's 32 MiB), and
// the largest frame it reads.
const (
	h2ClientWindow   = 8 << 20
	h2ClientMaxFrame = 1 << 20
)

// h2Client is the client side of one HTTP/2 connection. A Client runs one
// exchange at a time on it, each on a new stream (1, 3, 5, ...), so
// several URLs to one origin share it as streams, as curl's do.
// Everything runs on the caller's goroutine: the frames the server sends
// meanwhile (SETTINGS, PING, WINDOW_UPDATE, GOAWAY) are answered while
// the response is read.
type h2Client struct {
	conn net.Conn
	bw   *bufio.Writer
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer

	nextID   uint32
	maxFrame uint32 // the server's SETTINGS_MAX_FRAME_SIZE
	// The server's SETTINGS_INITIAL_WINDOW_SIZE, and what it lets us send
	// on the connection.
	initWindow int64
	sendWindow int64
	recvUnack  int64 // connection-level bytes received and not yet given back
	lastID     uint32
	maxHeader  int
	settled    bool // the server's first SETTINGS came
	goneAway   bool
	broken     error // the connection cannot carry another stream
}

// h2Settings are the client's SETTINGS.
func h2Settings(maxHeader int) []http2.Setting {
	if maxHeader <= 0 {
		maxHeader = DefaultMaxHeaderBytes
	}
	return []http2.Setting{
		{ID: http2.SettingEnablePush, Val: 0},
		{ID: http2.SettingInitialWindowSize, Val: h2ClientWindow},
		{ID: http2.SettingMaxFrameSize, Val: h2ClientMaxFrame},
		{ID: http2.SettingMaxHeaderListSize, Val: uint32(maxHeader)},
	}
}

// newH2Client starts HTTP/2 on conn: the preface, our SETTINGS and the
// connection window. Nothing is read until the first exchange; the server's
// SETTINGS are taken when they come, as RFC 9113 §3.4 allows.
func newH2Client(conn net.Conn, rd io.Reader, maxHeader int) (*h2Client, error) {
	h := &h2Client{
		conn:       conn,
		bw:         bufio.NewWriterSize(conn, 16<<10),
		nextID:     1,
		maxFrame:   16384,
		initWindow: 65535,
		sendWindow: 65535,
	}
	h.fr = http2.NewFramer(h.bw, bufio.NewReaderSize(rd, 32<<10))
	h.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	if maxHeader <= 0 {
		maxHeader = DefaultMaxHeaderBytes
	}
	// The Framer decodes up to four times the bound, so that a section
	// over it is told as such (431, as over HTTP/1.1) rather than as
	// x/net's COMPRESSION_ERROR; past that the connection ends.
	h.maxHeader = maxHeader
	h.fr.MaxHeaderListSize = uint32(4 * maxHeader)
	h.fr.SetMaxReadFrameSize(h2ClientMaxFrame)
	h.enc = hpack.NewEncoder(&h.hbuf)
	h.bw.WriteString(http2.ClientPreface)
	h.fr.WriteSettings(h2Settings(maxHeader)...)
	h.fr.WriteWindowUpdate(0, h2ClientWindow-65535)
	return h, h.bw.Flush()
}

// usable reports whether another stream may start on the connection.
func (h *h2Client) usable() bool {
	return h.broken == nil && !h.goneAway && h.nextID < math.MaxInt32-2
}

// close ends the connection politely: GOAWAY naming no stream of the
// server's (it may push none), then the close.
func (h *h2Client) close() error {
	if h.broken == nil {
		h.conn.SetWriteDeadline(time.Now().Add(time.Second))
		h.fr.WriteGoAway(0, http2.ErrCodeNo, nil)
		h.bw.Flush()
	}
	return h.conn.Close()
}

// fail marks the connection broken, tells the server (GOAWAY with code)
// and returns the error to report.
func (h *h2Client) fail(code http2.ErrCode, format string, a ...any) error {
	err := &H2Error{Code: code, Msg: fmt.Sprintf(format, a...)}
	if h.broken == nil {
		h.fr.WriteGoAway(0, code, nil)
		h.bw.Flush()
		h.broken = err
	}
	return err
}

// connectionHeaders are the HTTP/1.1 fields HTTP/2 forbids (RFC 9113
// §8.2.2); a request given them with -H has them left out.
var connectionHeaders = map[string]bool{
	"connection": true, "keep-alive": true, "proxy-connection": true,
	"transfer-encoding": true, "upgrade": true, "host": true,
	"http2-settings": true,
}

// h2Fields is req as HTTP/2 fields: the pseudo-fields (:authority from a
// Host given with -H, else the URL), then the defaults and req's fields,
// names in lower case, connection-specific ones left out.
func h2Fields(req *Request) []hpack.HeaderField {
	authority := req.URL.Host
	if v, ok := req.Header.Get("Host"); ok && v != "" {
		authority = v
	}
	path := escapeTarget(req.URL.RequestURI())
	fs := []hpack.HeaderField{
		{Name: ":method", Value: req.Method},
		{Name: ":path", Value: path},
		{Name: ":scheme", Value: req.URL.Scheme},
		{Name: ":authority", Value: authority},
	}
	ua := req.UserAgent
	if ua == "" {
		ua = "sockit"
	}
	for _, d := range []Field{{"user-agent", ua}, {"accept", "*/*"}} {
		if !req.Header.Has(d.Name) {
			fs = append(fs, hpack.HeaderField{Name: d.Name, Value: d.Value})
		}
	}
	for _, f := range req.Header {
		name := strings.ToLower(f.Name)
		if f.Value == "" || connectionHeaders[name] || name == "te" && !strings.EqualFold(f.Value, "trailers") {
			continue
		}
		fs = append(fs, hpack.HeaderField{Name: name, Value: f.Value})
	}
	if len(req.Body) > 0 && !req.Header.Has("Content-Length") {
		fs = append(fs, hpack.HeaderField{Name: "content-length", Value: strconv.Itoa(len(req.Body))})
	}
	return fs
}

// H2RequestHead is req as curl -v shows an HTTP/2 request: a request line
// naming HTTP/2, Host from :authority, then the fields as sent.
func H2RequestHead(req *Request) []byte {
	var b bytes.Buffer
	fs := h2Fields(req)
	fmt.Fprintf(&b, "%s %s HTTP/2\r\nHost: %s\r\n", fs[0].Value, fs[1].Value, fs[3].Value)
	for _, f := range fs[4:] {
		fmt.Fprintf(&b, "%s: %s\r\n", f.Name, f.Value)
	}
	b.WriteString("\r\n")
	return b.Bytes()
}

// h2Head is a response head as curl shows one received over HTTP/2: a
// status line "HTTP/2 200 " and the fields as received.
func h2Head(status string, fields []hpack.HeaderField) []byte {
	b := make([]byte, 0, 256)
	b = append(b, "HTTP/2 "...)
	b = append(b, status...)
	b = append(b, " \r\n"...)
	for _, f := range fields {
		if strings.HasPrefix(f.Name, ":") {
			continue
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// h2Exchange is what one exchange needs from the Client.
type h2Exchange struct {
	req     *Request
	pick    func(*Response) io.Writer
	raw     io.Writer
	maxBody int64
	onHead  func(*Response)
	info    func(string)
	reused  bool
}

// h2Stream is the state of the one stream of an exchange.
type h2Stream struct {
	id         uint32
	sendWindow int64
	recvUnack  int64
	body       []byte // request body left to send
	endSent    bool
	resp       *Response
	interim    []*Response
	head       []byte
	out        io.Writer
	got        int64
	declared   int64 // content-length, or -1
	done       bool
	firstByte  time.Time
	err        error // ends the exchange; the connection lives on
}

// do runs one exchange on a new stream: the request's HEADERS (and
// CONTINUATIONs), its body in DATA within the windows, then the response,
// answering the server's control frames meanwhile.
func (h *h2Client) do(x *h2Exchange) (*Response, int64, time.Time, error) {
	st := &h2Stream{id: h.nextID, sendWindow: h.initWindow, body: x.req.Body, declared: -1}
	h.nextID += 2
	fields := h2Fields(x.req)
	if x.info != nil {
		x.info(fmt.Sprintf("[HTTP/2] [%d] OPENED stream for %s", st.id, x.req.URL))
		for _, f := range fields {
			x.info(fmt.Sprintf("[HTTP/2] [%d] [%s: %s]", st.id, f.Name, f.Value))
		}
	}
	h.hbuf.Reset()
	for _, f := range fields {
		h.enc.WriteField(f)
	}
	block := h.hbuf.Bytes()
	endStream := len(st.body) == 0
	first := true
	for first || len(block) > 0 {
		n := min(len(block), int(h.maxFrame))
		var err error
		if first {
			err = h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: st.id, BlockFragment: block[:n], EndStream: endStream, EndHeaders: n == len(block)})
		} else {
			err = h.fr.WriteContinuation(st.id, n == len(block), block[:n])
		}
		if err != nil {
			return nil, 0, time.Time{}, err
		}
		block, first = block[n:], false
	}
	st.endSent = endStream
	return h.run(x, st)
}

// run sends what is left of the stream's body and reads its response.
func (h *h2Client) run(x *h2Exchange, st *h2Stream) (*Response, int64, time.Time, error) {
	for !st.done {
		if err := h.sendBody(st); err != nil {
			return nil, st.got, st.firstByte, err
		}
		if err := h.bw.Flush(); err != nil {
			return nil, st.got, st.firstByte, h.ioErr(x, st, err)
		}
		f, err := h.fr.ReadFrame()
		if err != nil {
			if se, ok := err.(http2.StreamError); ok {
				h.fr.WriteRSTStream(se.StreamID, se.Code)
				if se.StreamID == st.id {
					st.err, st.done = &H2Error{Stream: true, Code: se.Code, Msg: errMsg(se)}, true
				}
				continue
			}
			if ce, ok := err.(http2.ConnectionError); ok {
				msg := h.detail(err)
				if http2.ErrCode(ce) == http2.ErrCodeCompression {
					msg = fmt.Sprintf("a header block that does not decode (HPACK), or holds a field over %d bytes", 4*h.maxHeader)
				}
				return st.resp, st.got, st.firstByte, h.fail(http2.ErrCode(ce), "%s", msg)
			}
			if errors.Is(err, http2.ErrFrameTooLarge) {
				return st.resp, st.got, st.firstByte, h.fail(http2.ErrCodeFrameSize, "a frame over %d bytes", h2ClientMaxFrame)
			}
			return st.resp, st.got, st.firstByte, h.ioErr(x, st, err)
		}
		if err := h.process(x, st, f); err != nil {
			return st.resp, st.got, st.firstByte, err
		}
	}
	h.bw.Flush()
	return st.resp, st.got, st.firstByte, st.err
}

func errMsg(se http2.StreamError) string {
	if se.Cause != nil {
		return se.Cause.Error()
	}
	return "malformed frame"
}

func (h *h2Client) detail(err error) string {
	if d := h.fr.ErrorDetail(); d != nil {
		return d.Error()
	}
	return err.Error()
}

// ioErr is the error of a read or write that failed: a close before the
// response (after GOAWAY, or on a kept connection: stale, to be retried)
// or in its body (cut short).
func (h *h2Client) ioErr(x *h2Exchange, st *h2Stream, err error) error {
	h.broken = err
	closed := err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) || errors.Is(err, net.ErrClosed)
	if !closed {
		return err
	}
	switch {
	case st.resp == nil && x.reused:
		return errStale
	case st.resp == nil:
		return &ClosedError{Empty: true, Err: &MalformedError{Msg: "empty reply from server: HTTP/2 connection closed before a response"}}
	}
	return &ClosedError{Err: &MalformedError{Msg: fmt.Sprintf("HTTP/2 connection closed with %d body bytes read", st.got)}}
}

// sendBody sends as much of the request body as the windows allow.
func (h *h2Client) sendBody(st *h2Stream) error {
	for !st.endSent && !st.done {
		n := min(int64(len(st.body)), int64(h.maxFrame), h.sendWindow, st.sendWindow)
		if n <= 0 && len(st.body) > 0 || !h.settled {
			// Wait for WINDOW_UPDATE; on a new connection, for the
			// server's SETTINGS: a server may hold its smaller initial
			// window to count from the start (x/net/http2's does).
			return nil
		}
		end := int(n) == len(st.body)
		if err := h.fr.WriteData(st.id, end, st.body[:n]); err != nil {
			return err
		}
		st.body = st.body[n:]
		h.sendWindow -= n
		st.sendWindow -= n
		st.endSent = end
	}
	return nil
}

func (h *h2Client) process(x *h2Exchange, st *h2Stream, f http2.Frame) error {
	id := f.Header().StreamID
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if f.IsAck() {
			return nil
		}
		h.settled = true
		var err error
		f.ForeachSetting(func(s http2.Setting) error {
			if err == nil {
				err = s.Valid()
			}
			switch s.ID {
			case http2.SettingMaxFrameSize:
				h.maxFrame = s.Val
			case http2.SettingInitialWindowSize:
				// RFC 9113 §6.9.2: the change applies to open streams.
				st.sendWindow += int64(s.Val) - h.initWindow
				h.initWindow = int64(s.Val)
			case http2.SettingHeaderTableSize:
				h.enc.SetMaxDynamicTableSizeLimit(s.Val)
			}
			return nil
		})
		if err != nil {
			var ce http2.ConnectionError
			errors.As(err, &ce)
			return h.fail(http2.ErrCode(ce), "server's SETTINGS: %v", err)
		}
		return h.fr.WriteSettingsAck()
	case *http2.PingFrame:
		if !f.IsAck() {
			return h.fr.WritePing(true, f.Data)
		}
	case *http2.WindowUpdateFrame:
		w := &h.sendWindow
		if id == st.id {
			w = &st.sendWindow
		} else if id != 0 {
			return nil
		}
		if *w+int64(f.Increment) > math.MaxInt32 {
			if id == 0 {
				return h.fail(http2.ErrCodeFlowControl, "WINDOW_UPDATE past 2^31-1")
			}
			h.fr.WriteRSTStream(id, http2.ErrCodeFlowControl)
			st.err, st.done = &H2Error{Stream: true, Code: http2.ErrCodeFlowControl, Msg: "WINDOW_UPDATE past 2^31-1"}, true
			return nil
		}
		*w += int64(f.Increment)
	case *http2.GoAwayFrame:
		h.goneAway, h.lastID = true, f.LastStreamID
		if f.ErrCode != http2.ErrCodeNo && x.info != nil {
			x.info(fmt.Sprintf("[HTTP/2] server sent GOAWAY %v %q", f.ErrCode, f.DebugData()))
		}
		if st.id > f.LastStreamID {
			// Not processed (RFC 9113 §6.8): safe to send again.
			h.broken = errStale
			if x.reused {
				return errStale
			}
			return &H2Error{Remote: true, Code: f.ErrCode, Msg: "the server took no stream (GOAWAY)"}
		}
	case *http2.RSTStreamFrame:
		if id == st.id {
			if f.ErrCode == http2.ErrCodeNo && st.resp != nil {
				// RFC 9113 §8.1: the response is complete, the rest
				// of our request unwanted.
				st.endSent = true
				return nil
			}
			if f.ErrCode == http2.ErrCodeRefusedStream && st.resp == nil {
				return errStale // not processed: safe to retry
			}
			st.err, st.done = &H2Error{Stream: true, Remote: true, Code: f.ErrCode}, true
		}
	case *http2.PushPromiseFrame:
		return h.fail(http2.ErrCodeProtocol, "PUSH_PROMISE, though our SETTINGS disabled push")
	case *http2.MetaHeadersFrame:
		if id != st.id {
			if id > st.id || id%2 == 0 {
				return h.fail(http2.ErrCodeProtocol, "HEADERS on stream %d, which is not open", id)
			}
			return nil // a stream we reset
		}
		return h.headers(x, st, f)
	case *http2.DataFrame:
		n := int64(f.Header().Length)
		h.recvUnack += n
		if h.recvUnack >= h2ClientWindow/2 {
			h.fr.WriteWindowUpdate(0, uint32(h.recvUnack))
			h.recvUnack = 0
		}
		if id != st.id {
			if id > st.id || id%2 == 0 {
				return h.fail(http2.ErrCodeProtocol, "DATA on stream %d, which is not open", id)
			}
			return nil
		}
		return h.data(x, st, f, n)
	}
	return nil
}

func (h *h2Client) headers(x *h2Exchange, st *h2Stream, f *http2.MetaHeadersFrame) error {
	if st.firstByte.IsZero() {
		st.firstByte = time.Now()
	}
	reset := func(format string, a ...any) error {
		h.fr.WriteRSTStream(st.id, http2.ErrCodeProtocol)
		st.err, st.done = &H2Error{Stream: true, Code: http2.ErrCodeProtocol, Msg: fmt.Sprintf(format, a...)}, true
		return nil
	}
	size := 0
	for _, hf := range f.Fields {
		size += int(hf.Size())
	}
	if f.Truncated || size > h.maxHeader {
		h.fr.WriteRSTStream(st.id, http2.ErrCodeCancel)
		st.err, st.done = &MalformedError{Msg: fmt.Sprintf("HTTP/2 response header section over %d bytes", h.maxHeader), Status: 431}, true
		return nil
	}
	if st.resp != nil {
		// Trailers: no pseudo-fields, and the end of the stream.
		if !f.StreamEnded() || len(f.PseudoFields()) > 0 {
			return reset("HEADERS after the response that are not trailers")
		}
		for _, hf := range f.Fields {
			st.resp.Trailer = append(st.resp.Trailer, Field{hf.Name, hf.Value})
		}
		return h.end(st)
	}
	status := f.PseudoValue("status")
	code, err := strconv.Atoi(status)
	if err != nil || len(status) != 3 || code < 100 {
		return reset("response :status %q is not a three-digit code", status)
	}
	for _, p := range f.PseudoFields() {
		if p.Name != ":status" {
			return reset("response pseudo-field %s", p.Name)
		}
	}
	resp := &Response{Proto: "HTTP/2", Status: code, Framing: "h2"}
	for _, hf := range f.RegularFields() {
		resp.Header = append(resp.Header, Field{hf.Name, hf.Value})
	}
	head := h2Head(status, f.Fields)
	if code < 200 {
		if code == 101 || f.StreamEnded() {
			return reset("interim response %d", code)
		}
		resp.Head = head
		st.interim = append(st.interim, resp)
		st.head = append(st.head, head...)
		return nil
	}
	st.head = append(st.head, head...)
	resp.Head, resp.Interim = st.head, st.interim
	resp.KeepAlive = true
	if cl, ok := resp.Header.Get("content-length"); ok && x.req.Method != "HEAD" && code != 204 && code != 304 {
		n, err := strconv.ParseInt(cl, 10, 64)
		if err != nil || n < 0 {
			return reset("content-length %q", cl)
		}
		st.declared = n
	}
	st.resp = resp
	if x.raw != nil {
		x.raw.Write(head)
	}
	if x.onHead != nil {
		x.onHead(resp)
	}
	st.out = x.pick(resp)
	if st.out == nil {
		st.out = io.Discard
	}
	if st.declared > x.maxBody {
		h.fr.WriteRSTStream(st.id, http2.ErrCodeCancel)
		st.err, st.done = ErrBodyTooLarge, true
		return nil
	}
	if f.StreamEnded() {
		return h.end(st)
	}
	return nil
}

func (h *h2Client) data(x *h2Exchange, st *h2Stream, f *http2.DataFrame, n int64) error {
	if st.resp == nil {
		h.fr.WriteRSTStream(st.id, http2.ErrCodeProtocol)
		st.err, st.done = &H2Error{Stream: true, Code: http2.ErrCodeProtocol, Msg: "DATA before the response's HEADERS"}, true
		return nil
	}
	p := f.Data()
	if int64(len(p)) > x.maxBody-st.got {
		h.fr.WriteRSTStream(st.id, http2.ErrCodeCancel)
		st.err, st.done = ErrBodyTooLarge, true
		return nil
	}
	if len(p) > 0 {
		if x.raw != nil {
			x.raw.Write(p)
		}
		w, err := st.out.Write(p)
		st.got += int64(w)
		if err != nil {
			h.fr.WriteRSTStream(st.id, http2.ErrCodeCancel)
			st.err, st.done = err, true
			return nil
		}
	}
	if f.StreamEnded() {
		return h.end(st)
	}
	st.recvUnack += n
	if st.recvUnack >= h2ClientWindow/2 {
		h.fr.WriteWindowUpdate(st.id, uint32(st.recvUnack))
		st.recvUnack = 0
	}
	return nil
}

// end closes the stream at the server's END_STREAM, checking the body
// against content-length (RFC 9113 §8.1.1).
func (h *h2Client) end(st *h2Stream) error {
	st.done = true
	if st.declared >= 0 && st.got != st.declared {
		h.fr.WriteRSTStream(st.id, http2.ErrCodeProtocol)
		st.err = &H2Error{Stream: true, Code: http2.ErrCodeProtocol, Msg: fmt.Sprintf("content-length %d, but %d bytes of DATA", st.declared, st.got)}
	}
	if !st.endSent {
		// The server answered before our body was all sent.
		h.fr.WriteRSTStream(st.id, http2.ErrCodeNo)
	}
	return nil
}

// startH2 makes the client's connection an HTTP/2 one.
func (c *Client) startH2() error {
	h, err := newH2Client(c.conn, c.conn, c.MaxHeaderBytes)
	if err != nil {
		c.conn.Close()
		c.conn = nil
		return &ConnectError{fmt.Errorf("HTTP/2 preface: %w", err)}
	}
	c.h2, c.rd = h, nil
	c.info("using HTTP/2")
	return nil
}

func (c *Client) info(msg string) {
	if c.OnInfo != nil {
		c.OnInfo(msg)
	}
}

// doH2 is do's exchange over HTTP/2, with the same hooks and results.
func (c *Client) doH2(ctx context.Context, ex *Exchange, req *Request, pick func(*Response) io.Writer, raw io.Writer, maxBody int64, start time.Time) (*Exchange, error) {
	h := c.h2
	// The request as curl -v shows one over HTTP/2: its fields in
	// HTTP/1.1's form, the version HTTP/2 (RequestSize counts that form).
	var wire bytes.Buffer
	ex.RequestSize, _ = req.write(&wire, nil)
	if c.OnSend != nil {
		line, rest, _ := bytes.Cut(wire.Bytes(), []byte("\r\n"))
		line = append(bytes.TrimSuffix(line, []byte("HTTP/1.1")), "HTTP/2"...)
		c.OnSend(req, append(append(line, "\r\n"...), rest...), ex.Addr, ex.Timings.Reused)
	}
	conn := c.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	defer stop()
	if maxBody <= 0 {
		maxBody = math.MaxInt64
	}
	sent := time.Now()
	resp, got, first, err := h.do(&h2Exchange{req: req, pick: pick, raw: raw, maxBody: maxBody, onHead: c.OnHead, info: c.OnInfo, reused: ex.Timings.Reused})
	return c.finishH2(ctx, ex, resp, got, first, sent, start, err)
}

// finishH2 fills in the exchange, as do does for HTTP/1.1.
func (c *Client) finishH2(ctx context.Context, ex *Exchange, resp *Response, got int64, first, sent, start time.Time, err error) (*Exchange, error) {
	h := c.h2
	if !first.IsZero() {
		ex.Timings.FirstByte = first.Sub(sent)
	}
	ex.Response, ex.BodySize = resp, got
	if resp != nil {
		ex.Timings.Total = time.Since(start)
		if !h.usable() {
			resp.KeepAlive = false
		}
		if c.OnDone != nil {
			c.OnDone(ex)
		}
	}
	if !h.usable() {
		c.Close()
	}
	if err != nil {
		return ex, c.ctxErr(ctx, err)
	}
	return ex, nil
}

// upgradeRequest is req asking to continue in h2c (RFC 7540 §3.2, which
// RFC 9113 dropped but curl's --http2 still sends): Upgrade: h2c and the
// client's SETTINGS in HTTP2-Settings.
func upgradeRequest(req *Request) *Request {
	var b bytes.Buffer
	fr := http2.NewFramer(&b, nil)
	fr.WriteSettings(h2Settings(0)...)
	r := *req
	r.Header = append(append(Header(nil), req.Header...),
		Field{"Connection", "Upgrade, HTTP2-Settings"},
		Field{"Upgrade", "h2c"},
		Field{"HTTP2-Settings", base64.RawURLEncoding.EncodeToString(b.Bytes()[9:])})
	return &r
}

// switchH2 continues an exchange whose request the server upgraded (101):
// the connection is HTTP/2 from the 101's end on, and the response comes
// on stream 1, the 101 shown before it as an interim response.
func (c *Client) switchH2(ctx context.Context, ex *Exchange, req *Request, up *Response, pick func(*Response) io.Writer, raw io.Writer, maxBody int64, sent, start time.Time) (*Exchange, error) {
	if v, _ := up.Header.Get("Upgrade"); !strings.EqualFold(strings.TrimSpace(v), "h2c") {
		c.Close()
		return ex, &MalformedError{Msg: fmt.Sprintf("101 to an upgrade to h2c, with Upgrade: %q", v)}
	}
	d := &c.rd.d
	rest := bytes.Clone(d.buf[d.r:d.w])
	h, err := newH2Client(c.conn, io.MultiReader(bytes.NewReader(rest), c.conn), c.MaxHeaderBytes)
	if err != nil {
		c.Close()
		return ex, c.ctxErr(ctx, err)
	}
	c.h2, c.rd = h, nil
	c.info("upgraded to HTTP/2 (h2c)")
	h.nextID = 3
	if maxBody <= 0 {
		maxBody = math.MaxInt64
	}
	st := &h2Stream{id: 1, sendWindow: h.initWindow, endSent: true, declared: -1, interim: []*Response{up}, head: bytes.Clone(up.Head)}
	resp, got, first, err := h.run(&h2Exchange{req: req, pick: pick, raw: raw, maxBody: maxBody, onHead: c.OnHead, info: c.OnInfo}, st)
	return c.finishH2(ctx, ex, resp, got, first, sent, start, err)
}
