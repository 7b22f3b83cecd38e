package cli

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"
)

// Output is a command's standard output (or an output file): every byte a
// command prints goes through one, so a write that fails is never lost. The
// first write error is kept: later writes write nothing and return it, and
// Err reports it when the command ends, whatever the command itself made of
// it. It is safe for concurrent use (netcat's listen -k writes from each
// peer).
type Output struct {
	name string
	mu   sync.Mutex // serializes writes
	w    io.Writer
	// err is apart from mu: Err never waits for a write stuck on a full
	// pipe (serve's access log on a stdout nobody reads).
	err atomic.Pointer[WriteError]
}

// NewOutput returns an Output writing to w; name says what w is in
// messages ("stdout", or a file's path).
func NewOutput(w io.Writer, name string) *Output {
	return &Output{w: w, name: name}
}

// Write writes p to the underlying writer unless an earlier write failed.
// A short write is an error (io.ErrShortWrite), as io.Writer's contract asks.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if e := o.err.Load(); e != nil {
		return 0, e
	}
	n, err := o.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	if err != nil {
		e := &WriteError{Name: o.name, Err: err}
		o.err.Store(e)
		return n, e
	}
	return n, nil
}

// Err returns the first write error as a *WriteError, or nil.
func (o *Output) Err() error {
	if e := o.err.Load(); e != nil {
		return e
	}
	return nil
}

// WriteError is an output that could not be written: the data is lost, and
// the command fails for it (curl's exit status 23, "failure writing output").
type WriteError struct {
	// Name is what was written to: "stdout" or a file's path.
	Name string
	Err  error
}

func (e *WriteError) Error() string {
	err := e.Err
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err // "write /dev/stdout: …": Name says what it was
	}
	return "write to " + e.Name + ": " + Message(err)
}
func (e *WriteError) Unwrap() error { return e.Err }
