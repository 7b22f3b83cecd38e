package transfer

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"errors"
	"io"
	"os"

	"github.com/sockit/sockit/internal/cli"
)

// errBinary refuses a binary body on a terminal, as curl does.
var errBinary = errors.New(`binary output can mess up your terminal; use "--output -" to tell sockit to print it anyway, or "--output FILE" to save it`)

// EncodingError is a --compressed body that did not decode (curl's 61),
// said in zlib's words, as curl says it.
type EncodingError struct{ Err error }

func (e *EncodingError) Error() string {
	why := e.Err.Error()
	var ce flate.CorruptInputError
	switch {
	case errors.Is(e.Err, gzip.ErrHeader):
		why = "incorrect header check"
	case errors.Is(e.Err, gzip.ErrChecksum):
		why = "incorrect data check"
	case errors.As(e.Err, &ce):
		why = "invalid compressed data"
	case errors.Is(e.Err, io.ErrUnexpectedEOF):
		why = "unexpected end of file"
	}
	return "error while processing content unencoding: " + why
}

func (e *EncodingError) Unwrap() error { return e.Err }

// sink is where a transfer's output goes: stdout, or a file created at the
// first byte, so that a transfer refused before it (--max-bytes, a failed
// connection) leaves no file behind.
type sink struct {
	path        string // "" for stdout
	stdout      io.Writer
	binaryCheck bool // stdout is a terminal: refuse bodies holding a NUL
	file        *os.File
	size        int64
}

func (s *sink) Write(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	w := s.stdout
	if s.path != "" {
		if s.file == nil {
			f, err := os.Create(s.path)
			if err != nil {
				return 0, &cli.WriteError{Name: s.path, Err: err}
			}
			s.file, s.size = f, 0
		}
		w = s.file
	}
	n, err := w.Write(p)
	s.size += int64(n)
	var we *cli.WriteError
	if err != nil && !errors.As(err, &we) {
		return n, &cli.WriteError{Name: s.path, Err: err}
	}
	return n, err
}

// mark is where the file stands before a transfer (-1: not created).
func (s *sink) mark() int64 {
	if s.file == nil {
		return -1
	}
	return s.size
}

// rollback undoes what a refused transfer wrote since mark.
func (s *sink) rollback(mark int64) {
	switch {
	case s.file == nil:
	case mark < 0:
		s.file.Close()
		os.Remove(s.path)
		s.file = nil
	default:
		s.file.Truncate(mark)
		s.file.Seek(mark, io.SeekStart)
		s.size = mark
	}
}

// finish closes the file; a transfer that succeeded with an empty body
// still leaves its (empty) file, as curl's.
func (s *sink) finish(ok bool) error {
	if s.path == "" {
		return nil
	}
	if s.file == nil {
		if !ok {
			return nil
		}
		f, err := os.Create(s.path)
		if err != nil {
			return &cli.WriteError{Name: s.path, Err: err}
		}
		s.file = f
	}
	err := s.file.Close()
	s.file = nil
	if err != nil {
		return &cli.WriteError{Name: s.path, Err: err}
	}
	return nil
}

// binaryGuard refuses bytes holding a NUL, as curl does on a terminal.
type binaryGuard struct{ w io.Writer }

func (g binaryGuard) Write(p []byte) (int, error) {
	if bytes.IndexByte(p, 0) >= 0 {
		return 0, &cli.WriteError{Name: "stdout", Err: errBinary}
	}
	return g.w.Write(p)
}

// bodyWriter takes a response body: to its destination as it is, or
// through a gzip decoder (--compressed) started at its first byte.
type bodyWriter struct {
	dst  io.Writer
	zip  bool
	head []byte // the first bytes of a gzip body, until its magic is seen
	pw   *io.PipeWriter
	done chan error
}

func (b *bodyWriter) reset(dst io.Writer) {
	b.close()
	if s, ok := dst.(*sink); ok && s.binaryCheck {
		dst = binaryGuard{s}
	}
	b.dst, b.zip, b.head = dst, false, nil
}

func (b *bodyWriter) gunzip() { b.zip = true }

// gzipMagic starts every gzip stream (RFC 1952 §2.3.1). zlib refuses a
// body without it as soon as two bytes are in ("incorrect header check");
// Go's reader would wait for ten.
var gzipMagic = []byte{0x1f, 0x8b}

func (b *bodyWriter) Write(p []byte) (int, error) {
	if b.dst == nil {
		return len(p), nil
	}
	if b.zip && b.pw == nil {
		if len(b.head) < 2 {
			b.head = append(b.head, p[:min(len(p), 2-len(b.head))]...)
			if !bytes.HasPrefix(gzipMagic, b.head) {
				return 0, &EncodingError{gzip.ErrHeader}
			}
		}
		pr, pw := io.Pipe()
		b.pw, b.done = pw, make(chan error, 1)
		dst := b.dst
		go func() { // ends when close() closes pw, or at the first error
			zr, err := gzip.NewReader(pr)
			if err == nil {
				_, err = io.Copy(dst, zr)
			}
			var we *cli.WriteError
			if err != nil && !errors.As(err, &we) {
				err = &EncodingError{err}
			}
			pr.CloseWithError(err)
			b.done <- err
		}()
	}
	if b.pw != nil {
		return b.pw.Write(p)
	}
	return b.dst.Write(p)
}

// close ends the decoder, if one ran, and reports how it ended.
func (b *bodyWriter) close() error {
	if b.zip && b.pw == nil && len(b.head) == 1 {
		return &EncodingError{gzip.ErrHeader} // a body of one byte: no magic
	}
	if b.pw == nil {
		return nil
	}
	b.pw.Close()
	err := <-b.done
	b.pw = nil
	return err
}
