// Package accesslog writes serve's HTTP access log (the lines come from
// the responder, proto/httpraw) to a file or standard output without ever
// making an event loop wait for the disk.
//
// The choice, against nginx's: nginx writes its access log from the worker
// itself, so a slow disk stalls the worker and the log is lossless. Here
// Write only appends the line to an in-memory buffer under a mutex; one
// goroutine writes the buffer out at least every second, at once when it
// passes 64 KiB, and at Close. The buffer is bounded (1 MiB): when the disk
// cannot keep up and it is full, lines are dropped, counted, and reported
// by a warning at most every 10 seconds with the count. Reopen (SIGUSR1, as
// logrotate's postrotate expects of nginx) flushes the old file and opens
// the path again.
//
// Stream writes serve's own log (stderr) the same way, each line at once
// rather than every second: a stderr nobody reads (a full pipe, a stuck
// journald) then never makes a goroutine that logs wait, an event loop or
// a shutdown among them.
//
// Close waits at most 2 seconds for the last write: past that, the output
// is taken to be stalled, the lines still buffered are lost, and the
// writing goroutine ends whenever its write returns.
package accesslog

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

const (
	maxBuffered = 1 << 20
	kickAt      = 64 << 10
	flushEvery  = time.Second
	warnEvery   = 10 * time.Second
	closeWait   = 2 * time.Second
)

// ErrStalled is Close's error when the output took nothing for closeWait.
var ErrStalled = errors.New("output stalled; the last lines are lost")

// Writer is an access log being written. Write is safe for concurrent use.
type Writer struct {
	path  string // "" when writing to a stream
	what  string // what the warnings call it: "access log", "log"
	eager bool   // each line is written at once, not every second

	mu      sync.Mutex
	log     *slog.Logger // the warnings' destination; nil: none
	buf     []byte
	dropped int64 // lines dropped since the last warning

	kick   chan struct{}
	reopen chan struct{}
	stop   chan struct{}
	done   chan struct{}

	// Owned by the writing goroutine.
	out      io.Writer
	f        *os.File
	spare    []byte
	lastWarn time.Time
	closeErr error // the file's, read by Close once done is closed
}

// Open starts writing an access log to path, appending to the file (made
// 0644 if it does not exist), or to stdout when path is "-". log receives
// the warnings (lines dropped, a failed write or reopen).
func Open(path string, stdout io.Writer, log *slog.Logger) (*Writer, error) {
	w := newWriter(stdout, "access log", log)
	if path != "-" {
		f, err := openFile(path)
		if err != nil {
			return nil, err
		}
		w.path, w.f, w.out = path, f, f
	}
	go w.run()
	return w, nil
}

// Stream starts writing lines to out as they come (serve's stderr). The
// warnings about dropped lines go to the logger SetLog names, which may be
// the one writing to w.
func Stream(out io.Writer) *Writer {
	w := newWriter(out, "log", nil)
	w.eager = true
	go w.run()
	return w
}

func newWriter(out io.Writer, what string, log *slog.Logger) *Writer {
	return &Writer{out: out, what: what, log: log, kick: make(chan struct{}, 1), reopen: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
}

// SetLog sends w's warnings to log.
func (w *Writer) SetLog(log *slog.Logger) {
	w.mu.Lock()
	w.log = log
	w.mu.Unlock()
}

func openFile(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
}

// Write takes one whole line; it never blocks on the disk. A line that
// does not fit in the buffer is dropped and counted (n is still len(p):
// the responder has nothing better to do with an error).
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	if len(w.buf)+len(p) > maxBuffered {
		w.dropped++
		w.mu.Unlock()
		return len(p), nil
	}
	w.buf = append(w.buf, p...)
	big := w.eager || len(w.buf) >= kickAt
	w.mu.Unlock()
	if big {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// Reopen has the writing goroutine write out what is buffered, then open
// the path again (after logrotate moved the file away) and log the outcome
// ("access log reopened", or an error: the old file stays). Like Write it
// never waits for the output, which may be stalled.
func (w *Writer) Reopen() {
	select {
	case w.reopen <- struct{}{}:
	default: // one is pending already
	}
}

// Close writes out what is buffered and closes the file, waiting at most
// closeWait for an output that takes nothing (then ErrStalled).
func (w *Writer) Close() error {
	close(w.stop)
	t := time.NewTimer(closeWait)
	defer t.Stop()
	select {
	case <-w.done:
		return w.closeErr
	case <-t.C:
		return ErrStalled
	}
}

func (w *Writer) run() {
	defer close(w.done)
	var tick <-chan time.Time // a stream's lines are written as they come
	if !w.eager {
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-tick:
		case <-w.kick:
		case <-w.reopen:
			w.flush(false)
			w.doReopen()
			continue
		case <-w.stop:
			w.flush(true)
			w.flush(true) // what the first logged, when w is its own log
			if w.f != nil {
				w.closeErr = w.f.Close()
			}
			return
		}
		w.flush(false)
	}
}

// flush writes the buffer out; final reports the drops whatever the time.
// The buffer is taken before the warnings are logged, so that a Stream
// that is its own log has room for them: they are written by the next
// flush.
func (w *Writer) flush(final bool) {
	now := time.Now()
	w.mu.Lock()
	w.buf, w.spare = w.spare[:0], w.buf
	log, dropped := w.log, w.dropped
	warn := dropped > 0 && log != nil && (final || now.Sub(w.lastWarn) >= warnEvery)
	if warn {
		w.dropped = 0
	}
	w.mu.Unlock()
	if len(w.spare) > 0 {
		if _, err := w.out.Write(w.spare); err != nil && log != nil && now.Sub(w.lastWarn) >= warnEvery {
			w.lastWarn = now
			log.Error(w.what+" write failed; lines lost", "file", w.path, "err", err)
		}
	}
	if warn {
		w.lastWarn = now
		log.Warn(w.what+" lines dropped: the output is slower than the lines come", "file", w.path, "count", dropped)
	}
}

func (w *Writer) doReopen() {
	w.mu.Lock()
	log := w.log
	w.mu.Unlock()
	if w.path != "" { // standard output: nothing to reopen
		f, err := openFile(w.path)
		if err != nil {
			if log != nil {
				log.Error(w.what+" not reopened; writing on to the old file", "file", w.path, "err", err)
			}
			return
		}
		w.f.Close()
		w.f, w.out = f, f
	}
	if log != nil {
		log.Info(w.what+" reopened", "file", w.path)
	}
}
