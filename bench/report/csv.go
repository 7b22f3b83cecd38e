package report

import (
	"bufio"
	"io"
	"strconv"
	"sync"

	"github.com/sockit/sockit/bench"
)

// CSVHeader is the first line --csv writes.
const CSVHeader = "start_unix_us,latency_us,status,error,bytes_sent,bytes_received\n"

// CSVWriter streams one CSV row per request (bench.Config.Record), through a
// fixed buffer, so a run of any length holds the same memory. It is safe
// for the workers to call at once.
type CSVWriter struct {
	mu  sync.Mutex
	w   *bufio.Writer
	row []byte
	err error
}

// NewCSVWriter writes the header to w and returns the writer of rows.
func NewCSVWriter(w io.Writer) *CSVWriter {
	c := &CSVWriter{w: bufio.NewWriterSize(w, 64<<10), row: make([]byte, 0, 128)}
	_, c.err = c.w.WriteString(CSVHeader)
	return c
}

// Record writes rec's row; the first write error stops the rows and is
// returned by Flush.
func (c *CSVWriter) Record(rec bench.Record) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	b := strconv.AppendInt(c.row[:0], rec.Start.UnixMicro(), 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, rec.Latency.Microseconds(), 10)
	b = append(b, ',')
	if rec.Status != 0 {
		b = strconv.AppendInt(b, int64(rec.Status), 10)
	}
	b = append(b, ',')
	b = append(b, rec.Error...)
	b = append(b, ',')
	b = strconv.AppendInt(b, rec.Sent, 10)
	b = append(b, ',')
	b = strconv.AppendInt(b, rec.Received, 10)
	b = append(b, '\n')
	c.row = b
	_, c.err = c.w.Write(b)
}

// Flush writes what is buffered and returns the first error.
func (c *CSVWriter) Flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return c.err
	}
	return c.w.Flush()
}
