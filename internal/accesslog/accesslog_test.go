package accesslog

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain: the writing goroutine ends at Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestWriteNeverBlocks: with the output stalled (a pipe nobody reads, as a
// hung disk would be), Write keeps returning at once; past the 1 MiB
// buffer lines are dropped, and the warning at Close counts them exactly.
func TestWriteNeverBlocks(t *testing.T) {
	pr, pw := io.Pipe()
	var logs bytes.Buffer
	w, err := Open("-", pw, slog.New(slog.NewJSONHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	line := []byte(strings.Repeat("x", 99) + "\n")
	const n = 30000 // 3 MB: three times the buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range n {
			w.Write(line)
		}
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("Write blocked behind a stalled output")
	}
	got := make(chan int)
	go func() { b, _ := io.ReadAll(pr); got <- len(b) }()
	w.Close()
	pw.Close()
	written := <-got
	if written%len(line) != 0 || written == 0 || written >= n*len(line) {
		t.Fatalf("%d bytes written of %d", written, n*len(line))
	}
	var warn struct {
		Msg   string
		Count int
	}
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		json.Unmarshal([]byte(l), &warn)
	}
	if dropped := n - written/len(line); warn.Count != dropped || !strings.HasPrefix(warn.Msg, "access log lines dropped") {
		t.Errorf("warning %+v; %d lines were dropped", warn, dropped)
	}
}

// BenchmarkWrite is what a response's line costs the event loop: one
// combined line appended to the buffer, from every P at once.
func BenchmarkWrite(b *testing.B) {
	w, err := Open("-", io.Discard, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	line := []byte(`127.0.0.1 - - [26/Nov/2026:01:58:28 +0000] "GET / HTTP/1.1" 200 393 "-" "wrk"` + "\n")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w.Write(line)
		}
	})
}

// TestStreamStalled: a Stream (serve's stderr) whose output takes nothing
// (a pipe nobody reads) never makes Write wait, and Close gives up after
// closeWait with ErrStalled rather than hold the process's exit. When the
// output takes bytes again, the writing goroutine writes what it kept,
// then a warning through the Stream's own logger counting the lines that
// did not fit, and ends.
func TestStreamStalled(t *testing.T) {
	pr, pw := io.Pipe()
	w := Stream(pw)
	w.SetLog(slog.New(slog.NewJSONHandler(w, nil)))
	line := []byte(strings.Repeat("x", 99) + "\n")
	const n = 20000 // 2 MB: twice the buffer
	for range n {
		w.Write(line) // the first blocks the writing goroutine in pw.Write
	}
	start := time.Now()
	if err := w.Close(); err != ErrStalled {
		t.Fatalf("Close on a stalled output: %v, want ErrStalled", err)
	}
	if d := time.Since(start); d < closeWait || d > closeWait+5*time.Second {
		t.Errorf("Close took %v; want closeWait (%v)", d, closeWait)
	}
	got := make(chan []byte)
	go func() { b, _ := io.ReadAll(pr); got <- b }()
	<-w.done
	pw.Close()
	b := <-got
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var warn struct {
		Msg   string
		Count int
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &warn); err != nil || !strings.HasPrefix(warn.Msg, "log lines dropped") {
		t.Fatalf("last line %q: %v; want the warning", lines[len(lines)-1], err)
	}
	if written := len(lines) - 1; written+warn.Count != n || written == 0 {
		t.Errorf("%d lines written and %d dropped; want %d in all", written, warn.Count, n)
	}
}
