package httpraw

import (
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
)

// DefaultMaxHeaderBytes bounds a response's header section, as curl does.
const DefaultMaxHeaderBytes = 64 << 10

// MalformedError reports a message that breaks HTTP/1.1's grammar.
type MalformedError struct {
	Offset int64 // bytes of the connection's input read before the fault
	Msg    string
	// Status is the status a server answers the fault with: 400; 431 for
	// a header section over its bounds, 414 for a request line over them;
	// 501 for a request's transfer coding other than chunked alone; 505
	// for an HTTP version other than 1.x.
	Status int
}

func (e *MalformedError) Error() string { return fmt.Sprintf("%s at byte %d", e.Msg, e.Offset) }

// ErrBodyTooLarge is returned when a body exceeds the caller's limit.
var ErrBodyTooLarge = errors.New("httpraw: body larger than the limit")

// Field is one header line, name and value as received.
type Field struct{ Name, Value string }

// Header is a response's header fields in order.
type Header []Field

// Get returns the first value of name (case-insensitive) and whether any.
func (h Header) Get(name string) (string, bool) {
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			return f.Value, true
		}
	}
	return "", false
}

// Has reports whether h has a field called name (case-insensitive).
func (h Header) Has(name string) bool {
	_, ok := h.Get(name)
	return ok
}

// add appends the field of f's FieldLine event to h, or joins an obs-fold
// continuation to the last field (the Framer refuses a fold with no field
// before it).
func (h Header) add(f *Framer) Header {
	if f.Continued() && len(h) > 0 {
		last := &h[len(h)-1]
		last.Value = strings.TrimSpace(last.Value + " " + string(f.Value()))
		return h
	}
	return append(h, Field{string(f.Name()), string(f.Value())})
}

// Values returns every value of name, comma lists split and trimmed.
func (h Header) Values(name string) []string {
	var out []string
	for _, f := range h {
		if strings.EqualFold(f.Name, name) {
			for _, v := range strings.Split(f.Value, ",") {
				if v = strings.TrimSpace(v); v != "" {
					out = append(out, v)
				}
			}
		}
	}
	return out
}

// Response is one final response, with the interim ones that came first.
type Response struct {
	Proto   string // "HTTP/1.1"
	Status  int
	Reason  string
	Header  Header
	Trailer Header
	// Head is the header section exactly as received (status line through
	// the blank line), interim responses included.
	Head []byte
	// Interim holds 1xx responses received before this one.
	Interim []*Response
	// Framing says how the body was delimited: "none", "chunked",
	// "content-length" or "close".
	Framing string
	// KeepAlive reports whether the connection can carry another request.
	KeepAlive bool
}

// Decoder runs a Framer over a blocking reader through a buffer it owns:
// what the client's Reader and the goroutine bench engine read with. It
// allocates only to grow its buffer for a line longer than it.
type Decoder struct {
	Framer Framer
	// Raw, if set, receives every byte read from the connection, exactly
	// as it arrived.
	Raw  io.Writer
	rd   io.Reader
	buf  []byte
	r, w int
	last []byte // the bytes the last Next consumed
	err  error  // a read error other than io.EOF
	eof  bool
}

// NewDecoder returns a Decoder reading rd through a buffer of size bytes.
func NewDecoder(rd io.Reader, size int) *Decoder {
	return &Decoder{rd: rd, buf: make([]byte, max(size, 64))}
}

// Reset makes d read a new connection, its framer reset too.
func (d *Decoder) Reset(rd io.Reader) {
	d.rd, d.r, d.w, d.last, d.err, d.eof = rd, 0, 0, nil, nil, false
	d.Framer.Reset()
}

// Next reads until the framer reports an event, and returns it. A Failed
// is either the framer's or a read error: Err says which.
func (d *Decoder) Next() Event {
	for {
		ev, n := d.Framer.Next(d.buf[d.r:d.w])
		d.last = d.buf[d.r : d.r+n]
		d.r += n
		if ev != NeedMore {
			return ev
		}
		if err := d.fill(); err != nil {
			if err == io.EOF {
				return d.Framer.EOF()
			}
			return Failed
		}
	}
}

// Consumed is the bytes the last Next consumed (valid until the next call).
func (d *Decoder) Consumed() []byte { return d.last }

// Err is the error behind the last Failed event.
func (d *Decoder) Err() error {
	if d.err != nil {
		return d.err
	}
	return d.Framer.Err()
}

// EOF reports whether the connection has ended.
func (d *Decoder) EOF() bool { return d.eof }

// Buffered is the bytes received and not yet consumed.
func (d *Decoder) Buffered() int { return d.w - d.r }

// Fill waits until at least one byte is buffered (a response's first byte).
func (d *Decoder) Fill() error {
	if d.r < d.w {
		return nil
	}
	return d.fill()
}

// fill reads at least one more byte into the buffer.
func (d *Decoder) fill() error {
	if d.err != nil {
		return d.err
	}
	if d.r == d.w {
		d.r, d.w = 0, 0
	} else if d.w == len(d.buf) {
		if d.r > 0 {
			copy(d.buf, d.buf[d.r:d.w])
			d.w -= d.r
			d.r = 0
		} else {
			// One line longer than the buffer; the framer's bounds end
			// the growth.
			d.buf = append(d.buf, make([]byte, len(d.buf))...)
		}
	}
	for range 100 {
		n, err := d.rd.Read(d.buf[d.w:])
		if n > 0 {
			if d.Raw != nil {
				d.Raw.Write(d.buf[d.w : d.w+n])
			}
			d.w += n
			return nil
		}
		if err == io.EOF {
			d.eof = true
			return err
		}
		if err != nil {
			d.err = err
			return err
		}
	}
	d.err = io.ErrNoProgress
	return d.err
}

// Reader reads responses from a connection, counting every byte consumed
// so errors can say where they are.
type Reader struct {
	d Decoder
	// MaxHeaderBytes bounds each header section; zero means
	// DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// Raw, if set, receives every byte read, exactly as it arrived.
	Raw io.Writer
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader { return &Reader{d: *NewDecoder(r, 32<<10)} }

// Offset returns the bytes consumed so far.
func (r *Reader) Offset() int64 { return r.d.Framer.Offset() }

// fill waits for the first byte of a response.
func (r *Reader) fill() error {
	r.d.Raw = r.Raw
	return r.d.Fill()
}

func (r *Reader) err() error {
	if r.d.eof && r.d.Framer.Idle() {
		return io.EOF
	}
	return r.d.Err()
}

// ReadResponse reads the next response to a request with method, through
// its header section; the body is read with Body. io.EOF means the
// connection closed cleanly before a response began.
func (r *Reader) ReadResponse(method string) (*Response, error) {
	d, f := &r.d, &r.d.Framer
	d.Raw = r.Raw
	f.MaxHeaderBytes, f.AnswersHEAD = r.MaxHeaderBytes, method == "HEAD"
	var (
		interim []*Response
		head    []byte
		mark    int // where the current response's head begins in head
		resp    *Response
	)
	for {
		switch d.Next() {
		case StartLine:
			major, minor := f.Version()
			resp = &Response{Proto: fmt.Sprintf("HTTP/%d.%d", major, minor), Status: f.Status(), Reason: string(f.Reason())}
			mark = len(head)
			head = append(head, d.Consumed()...)
		case FieldLine:
			head = append(head, d.Consumed()...)
			resp.Header = resp.Header.add(f)
		case HeadEnd:
			head = append(head, d.Consumed()...)
			if f.Interim() {
				resp.Head = head[mark:len(head):len(head)]
				interim = append(interim, resp)
				break
			}
			resp.Interim, resp.Head = interim, head
			resp.Framing, resp.KeepAlive = f.Framing().String(), f.KeepAlive()
			return resp, nil
		case MessageEnd:
			// The end of an interim response: the final one follows.
		case Failed:
			return nil, r.err()
		}
	}
}

// Body copies resp's decoded body to w, at most max bytes (max <= 0: no
// bound), and returns the bytes written. Trailers of a chunked body are
// stored in resp.Trailer.
func (r *Reader) Body(resp *Response, w io.Writer, max int64) (int64, error) {
	d, f := &r.d, &r.d.Framer
	d.Raw = r.Raw
	if max <= 0 {
		max = math.MaxInt64
	}
	if resp.Framing == "content-length" && f.ContentLength() > max {
		return 0, ErrBodyTooLarge
	}
	var got int64
	for {
		switch d.Next() {
		case BodyData:
			data := f.Data()
			if int64(len(data)) > max-got {
				return got, ErrBodyTooLarge
			}
			n, err := w.Write(data)
			got += int64(n)
			if err != nil {
				return got, err
			}
		case FieldLine:
			resp.Trailer = resp.Trailer.add(f)
		case MessageEnd:
			return got, nil
		case Failed:
			return got, r.err()
		}
	}
}
