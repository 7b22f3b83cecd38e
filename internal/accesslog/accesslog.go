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
package accesslog

import (
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
)

// Writer is an access log being written. Write is safe for concurrent use.
type Writer struct {
	path string // "" when writing to a stream given to Open
	log  *slog.Logger

	mu      sync.Mutex
	buf     []byte
	dropped int64 // lines dropped since the last warning

	kick   chan struct{}
	reopen chan chan error
	stop   chan struct{}
	done   chan struct{}

	// Owned by the writing goroutine.
	out      io.Writer
	f        *os.File
	spare    []byte
	lastWarn time.Time
}

// Open starts writing an access log to path, appending to the file (made
// 0644 if it does not exist), or to stdout when path is "-". log receives
// the warnings (lines dropped, a failed write or reopen).
func Open(path string, stdout io.Writer, log *slog.Logger) (*Writer, error) {
	w := &Writer{log: log, kick: make(chan struct{}, 1), reopen: make(chan chan error), stop: make(chan struct{}), done: make(chan struct{})}
	if path == "-" {
		w.out = stdout
	} else {
		f, err := openFile(path)
		if err != nil {
			return nil, err
		}
		w.path, w.f, w.out = path, f, f
	}
	go w.run()
	return w, nil
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
	big := len(w.buf) >= kickAt
	w.mu.Unlock()
	if big {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return len(p), nil
}

// Reopen writes out what is buffered, then opens the path again (after
// logrotate moved the file away); on failure the old file stays.
func (w *Writer) Reopen() error {
	ch := make(chan error)
	select {
	case w.reopen <- ch:
		return <-ch
	case <-w.done:
		return nil
	}
}

// Close writes out what is buffered and closes the file.
func (w *Writer) Close() error {
	close(w.stop)
	<-w.done
	if w.f != nil {
		return w.f.Close()
	}
	return nil
}

func (w *Writer) run() {
	defer close(w.done)
	t := time.NewTicker(flushEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-w.kick:
		case ch := <-w.reopen:
			w.flush(false)
			ch <- w.doReopen()
			continue
		case <-w.stop:
			w.flush(true)
			return
		}
		w.flush(false)
	}
}

// flush writes the buffer out; final reports the drops whatever the time.
func (w *Writer) flush(final bool) {
	w.mu.Lock()
	w.buf, w.spare = w.spare[:0], w.buf
	dropped := w.dropped
	now := time.Now()
	warn := dropped > 0 && (final || now.Sub(w.lastWarn) >= warnEvery)
	if warn {
		w.dropped = 0
	}
	w.mu.Unlock()
	if len(w.spare) > 0 {
		if _, err := w.out.Write(w.spare); err != nil && now.Sub(w.lastWarn) >= warnEvery {
			w.lastWarn = now
			w.log.Error("access log write failed; lines lost", "file", w.path, "err", err)
		}
	}
	if warn {
		w.lastWarn = now
		w.log.Warn("access log lines dropped: the disk is slower than the requests", "file", w.path, "count", dropped)
	}
}

func (w *Writer) doReopen() error {
	if w.path == "" {
		return nil // standard output: nothing to reopen
	}
	f, err := openFile(w.path)
	if err != nil {
		return err
	}
	w.f.Close()
	w.f, w.out = f, f
	return nil
}
