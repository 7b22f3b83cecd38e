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
