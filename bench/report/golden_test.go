package report_test

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/bench/report"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ from what the writers write now")

// fixture is a run made up, not measured, so that every writer's output
// is the same on every machine: 1,000 requests over 2.5 s (the last second
// half covered; its charts per 100 ms), latencies drawn from a fixed seed,
// and failures of two kinds.
func fixture() *bench.Result {
	r := bench.NewResult()
	r.Target, r.Host, r.Port, r.Path, r.HTTP = "http://127.0.0.1:8080/", "127.0.0.1", "8080", "/", true
	r.ServerSoftware, r.DocLength, r.Concurrency, r.Engine, r.Version = "nginx/1.22.1", 615, 4, "loop", "v0.0.0-test"
	r.Start = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	r.Duration, r.ClientCPU = 2500*time.Millisecond, 100*time.Millisecond
	r.RunID, r.OptionsHash = "golden", "0123456789abcdef"
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 1000
	for i := range n {
		at := time.Duration(i) * r.Duration / n
		sec := int(at / time.Second)
		us := 200 + rng.Int64N(800)
		if i%97 == 0 {
			us *= 20 // a tail
		}
		r.Latency.RecordValue(us)
		r.Connect.RecordValue(us / 10)
		r.Wait.RecordValue(us / 2)
		r.Processing.RecordValue(us - us/10)
		second := bench.Second{Latency: bench.NewSecondHistogram(), MaxUs: us}
		second.Latency.RecordValue(us)
		tenth := bench.Second{Latency: bench.NewSecondHistogram(), MaxUs: us}
		tenth.Latency.RecordValue(us)
		kind := ""
		switch {
		case i%211 == 5:
			kind = bench.FailTimeout
		case i%331 == 7:
			kind = bench.FailRead
		}
		if kind != "" {
			r.Failures[kind]++
			second.Failures = map[string]int64{kind: 1}
			tenth.Failures = map[string]int64{kind: 1}
		}
		r.Seconds = bench.AddSecond(r.Seconds, sec, second)
		r.Tenths = bench.AddSecond(r.Tenths, int(at/bench.FineBucket), tenth)
		for len(r.PerSecond) <= sec {
			r.PerSecond = append(r.PerSecond, 0)
		}
		r.PerSecond[sec]++
		r.Requests++
		if i%100 == 0 {
			r.Non2xx++
		}
	}
	r.BytesSent, r.BytesReceived, r.BodyBytes = 80*n, 853*n, 615*n
	r.FirstError = "read from 127.0.0.1:8080 (tcp): timed out"
	r.FirstErrors = map[string]string{bench.FailTimeout: r.FirstError, bench.FailRead: "read from 127.0.0.1:8080 (tcp): connection reset by peer"}
	return r
}

// TestGolden checks the text, JSON and HTML reports (and ab's -w tables)
// of the fixture against testdata/; go test -run TestGolden -update
// rewrites them after a change meant to change them (read the diff).
func TestGolden(t *testing.T) {
	r := fixture()
	for _, tc := range []struct {
		file  string
		write func(*bytes.Buffer) error
	}{
		{"text.golden", func(b *bytes.Buffer) error { return report.WriteText(b, r, report.TextOptions{}) }},
		{"extras.golden", func(b *bytes.Buffer) error { return report.WriteExtras(b, r) }},
		{"abhtml.golden", func(b *bytes.Buffer) error { return report.WriteABHTML(b, r) }},
		{"report.json.golden", func(b *bytes.Buffer) error { return report.WriteJSON(b, r) }},
		{"report.html.golden", func(b *bytes.Buffer) error {
			return report.WriteHTML(b, report.Named{Name: r.Target, Result: r})
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tc.file)
			if *update {
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (go test -run TestGolden -update writes it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s differs from what the writer writes now (go test -run TestGolden -update, then read the diff):\n%s", path, firstDiff(b.String(), string(want)))
			}
		})
	}
	// The JSON report reads back to the same report.
	var js bytes.Buffer
	report.WriteJSON(&js, r)
	back, err := report.FromJSON(js.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var again bytes.Buffer
	report.WriteJSON(&again, back)
	if !bytes.Equal(js.Bytes(), again.Bytes()) {
		t.Errorf("JSON → FromJSON → JSON differs:\n%s", firstDiff(again.String(), js.String()))
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := bytes.Split([]byte(got), []byte("\n")), bytes.Split([]byte(want), []byte("\n"))
	for i := range max(len(g), len(w)) {
		var gl, wl []byte
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if !bytes.Equal(gl, wl) {
			return "line " + strconv.Itoa(i+1) + ":\n  got  " + string(gl) + "\n  want " + string(wl)
		}
	}
	return ""
}
