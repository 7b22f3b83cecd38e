package main

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit/internal/cli"
	"github.com/sockit/sockit/proto/httpraw"
)

// errBinary refuses a binary body on a terminal, as curl does.
var errBinary = errors.New(`binary output can mess up your terminal; use "--output -" to tell sockit to print it anyway, or "--output FILE" to save it`)

// errEncoding: a --compressed body did not decode (curl exits 61).
type encodingError struct{ err error }

func (e *encodingError) Error() string { return "bad gzip body: " + e.err.Error() }
func (e *encodingError) Unwrap() error { return e.err }

const exitBadEncoding = 61

func isTerminalOut(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}

// sink is where transfers write: stdout, or the -o file, created at the
// first byte so that a transfer refused before it (--max-bytes, a failed
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
	if err := s.file.Close(); err != nil {
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
	pw   *io.PipeWriter
	done chan error
}

func (b *bodyWriter) reset(dst io.Writer) {
	b.close()
	if s, ok := dst.(*sink); ok && s.binaryCheck {
		dst = binaryGuard{s}
	}
	b.dst, b.zip = dst, false
}

func (b *bodyWriter) gunzip() { b.zip = true }

func (b *bodyWriter) Write(p []byte) (int, error) {
	if b.dst == nil {
		return len(p), nil
	}
	if b.zip && b.pw == nil {
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
				err = &encodingError{err}
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
	if b.pw == nil {
		return nil
	}
	b.pw.Close()
	err := <-b.done
	b.pw = nil
	return err
}

// transferInfo is what -w prints from.
type transferInfo struct {
	raw   string
	ex    *httpraw.Exchange
	total time.Duration
	fail  *httpFail
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 6, 64) }

// variable returns curl's --write-out variable name.
func (ti *transferInfo) variable(name string) (string, bool) {
	ex := ti.ex
	var t httpraw.Timings
	var resp *httpraw.Response
	if ex != nil {
		t, resp = ex.Timings, ex.Response
	}
	conn := t.Resolve + t.Connect
	app := conn + t.TLS
	switch name {
	case "http_code", "response_code":
		if resp == nil {
			return "000", true
		}
		return fmt.Sprintf("%03d", resp.Status), true
	case "time_namelookup":
		return secs(t.Resolve), true
	case "time_connect":
		return secs(conn), true
	case "time_appconnect":
		if t.TLS == 0 {
			return secs(0), true
		}
		return secs(app), true
	case "time_pretransfer":
		return secs(app), true
	case "time_starttransfer":
		if t.FirstByte == 0 {
			return secs(0), true
		}
		return secs(app + t.FirstByte), true
	case "time_total":
		return secs(ti.total), true
	case "size_download":
		if ex == nil {
			return "0", true
		}
		return strconv.FormatInt(ex.BodySize, 10), true
	case "size_header":
		if resp == nil {
			return "0", true
		}
		return strconv.Itoa(len(resp.Head)), true
	case "num_redirects":
		if ex == nil {
			return "0", true
		}
		return strconv.Itoa(ex.Redirects), true
	case "url_effective":
		if ex != nil && ex.Request != nil {
			return ex.Request.URL.String(), true
		}
		return ti.raw, true
	case "url":
		return ti.raw, true
	case "remote_ip", "remote_port":
		if ex == nil || ex.Addr == nil {
			if name == "remote_port" {
				return "0", true // as curl's, with no connection
			}
			return "", true
		}
		host, port, err := net.SplitHostPort(ex.Addr.String())
		if err != nil {
			return "", true
		}
		if name == "remote_ip" {
			return host, true
		}
		return port, true
	case "content_type":
		if resp == nil {
			return "", true
		}
		v, _ := resp.Header.Get("Content-Type")
		return v, true
	case "method":
		if ex != nil && ex.Request != nil {
			return ex.Request.Method, true
		}
		return "", true
	case "scheme":
		if ex != nil && ex.Request != nil && ex.Addr != nil {
			return strings.ToUpper(ex.Request.URL.Scheme), true
		}
		return "", true
	case "http_version":
		if resp == nil {
			return "0", true
		}
		return strings.TrimPrefix(resp.Proto, "HTTP/"), true
	case "exitcode":
		if ti.fail == nil {
			return "0", true
		}
		return strconv.Itoa(ti.fail.code), true
	case "errormsg":
		if ti.fail == nil {
			return "", true
		}
		return ti.fail.err.Error(), true
	}
	return "", false
}

// writeOut prints format as curl's -w does: %{variable}, %% and the
// escapes \n \r \t \\; an unknown variable prints nothing and a warning.
func writeOut(w, warn io.Writer, format string, ti *transferInfo) {
	var b strings.Builder
	for i := 0; i < len(format); i++ {
		c := format[i]
		switch {
		case c == '%' && i+1 < len(format) && format[i+1] == '%':
			b.WriteByte('%')
			i++
		case c == '%' && strings.HasPrefix(format[i+1:], "{"):
			end := strings.IndexByte(format[i:], '}')
			if end < 0 {
				b.WriteString(format[i:])
				i = len(format)
				continue
			}
			name := format[i+2 : i+end]
			if v, ok := ti.variable(name); ok {
				b.WriteString(v)
			} else {
				fmt.Fprintf(warn, "sockit: warning: unknown --write-out variable %q\n", name)
			}
			i += end
		case c == '\\' && i+1 < len(format):
			switch format[i+1] {
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			case '\\':
				b.WriteByte('\\')
			default:
				b.WriteByte(c)
				continue
			}
			i++
		default:
			b.WriteByte(c)
		}
	}
	io.WriteString(w, b.String())
}
