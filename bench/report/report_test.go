package report_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/bench/report"
	_ "github.com/sockit/sockit/proto/all" // the protocols the tests load
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/sockittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func serve(t *testing.T, svc server.Service, network string) string {
	t.Helper()
	srv := server.New(server.Config{Logger: quiet, UDP: server.UDPGuard{Off: true}, MaxConnsPerSource: -1})
	return sockittest.Serve(t, srv, network, svc).String()
}

func run(t *testing.T, cfg bench.Config) *bench.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := bench.Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestMergeEqualsOneRun(t *testing.T) {
	addr := serve(t, echo.Service(), "tcp")
	a := run(t, bench.Config{Target: "tcp://" + addr, Requests: 300, Concurrency: 3, KeepAlive: true})
	b := run(t, bench.Config{Target: "tcp://" + addr, Requests: 500, Concurrency: 5, KeepAlive: true})
	var ja, jb bytes.Buffer
	report.WriteJSON(&ja, a)
	report.WriteJSON(&jb, b)
	ra, err := report.FromJSON(ja.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	rb, err := report.FromJSON(jb.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	m := report.Merge(ra, rb)
	direct := a.Latency.Clone()
	direct.Merge(b.Latency)
	if !m.Latency.Equals(direct) || m.Requests != 800 || m.Concurrency != 8 {
		t.Errorf("merge of the JSON reports differs from merging the runs' histograms")
	}
	for _, bad := range []string{"", "{", `{"requests": 5, "histogram": "!!"}`, `{"requests": 5}`} {
		if _, err := report.FromJSON([]byte(bad)); err == nil {
			t.Errorf("FromJSON(%q) accepted", bad)
		}
	}
}

func TestHTMLIsSelfContained(t *testing.T) {
	addr := serve(t, echo.Service(), "tcp")
	r := run(t, bench.Config{Target: "tcp://" + addr, Requests: 200, Concurrency: 2, KeepAlive: true})
	var b bytes.Buffer
	if err := report.WriteHTML(&b, report.Named{Name: r.Target, Result: r}); err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, bad := range []string{"<script src", "http://", "https://", "<link", "<img", "@import"} {
		if strings.Contains(strings.ReplaceAll(s, `xmlns="http://www.w3.org/2000/svg"`, ""), bad) {
			t.Errorf("report contains %q", bad)
		}
	}
	if !strings.Contains(s, `<svg id="latency"`) || !strings.Contains(s, `<polyline`) {
		t.Error("no latency curve")
	}
}

func FuzzFromJSON(f *testing.F) {
	f.Add([]byte(`{"requests":0,"histogram":""}`))
	f.Add([]byte(`{"requests":1,"duration_s":-1}`))
	f.Add([]byte(`{"requests":0,"shard":{"index":2,"count":3},"run_id":"r","seconds":[{"max_us":5,"failures":{"read":1}},{}],"warmup_s":1.5,"duration_s":0.2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := report.FromJSON(b)
		if err != nil {
			return
		}
		// What renders a report read from a file (the HTML page, at a few
		// milliseconds an input, would slow the fuzzing a hundredfold).
		var out bytes.Buffer
		report.WriteText(&out, report.Merge(r, r), report.TextOptions{})
		report.WriteExtras(&out, r)
		report.WriteABHTML(&out, r)
		report.WriteOpenMetrics(&out, r)
		report.WriteCompare(&out, "a", "b", r, r)
		report.MergeRun([]report.Named{{Name: "a", Result: r}}, report.MergeOptions{})
	})
}

func FuzzReadReports(f *testing.F) {
	f.Add([]byte(report.MarkerBegin + "\n{\"requests\":0}\n" + report.MarkerEnd + "\n"))
	f.Add([]byte("[pod/a] " + report.MarkerBegin + "\n[pod/b] x\n[pod/a] {}\n[pod/a] " + report.MarkerEnd + "\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		report.ReadReports("in", b)
	})
}
