package report_test

import (
	"html"
	"image/png"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/bench/report"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/sockittest"
)

// flakyEcho is a TCP server whose connections, in turn, echo, reply with
// wrong bytes (a verify failure) or close at once (a read or write
// failure), so a run without keep-alive fails in known kinds.
func flakyEcho(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; ; k++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				buf := make([]byte, 64)
				switch k % 3 {
				case 0:
					io.Copy(c, c)
				case 1:
					if _, err := io.ReadFull(c, buf); err == nil {
						c.Write(make([]byte, len(buf))) // zeros: not what was sent
					}
				}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// chromium renders page headless, with the network off, and returns the
// DOM after its script ran; console messages (errors included) fail the
// test.
func chromium(t *testing.T, page string, extra ...string) string {
	t.Helper()
	bin := sockittest.RequireTool(t, "chromium")
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0", "--window-size=1000,1800"}, extra...)
	cmd := exec.Command(bin, append(args, "file://"+page)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, ":CONSOLE") {
			t.Errorf("console message while rendering the report: %s", line)
		}
	}
	return stdout.String()
}

var attr = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)

// elements returns the attributes of each element of the DOM whose class
// is class.
func elements(dom, tag, class string) []map[string]string {
	var out []map[string]string
	for _, m := range regexp.MustCompile(`<`+tag+` class="`+class+`"[^>]*>`).FindAllString(dom, -1) {
		a := map[string]string{}
		for _, kv := range attr.FindAllStringSubmatch(m, -1) {
			a[kv[1]] = kv[2]
		}
		out = append(out, a)
	}
	return out
}

func atoi(t *testing.T, s string) int64 {
	t.Helper()
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return n
}

// TestHTMLRendersInChromium renders reports in headless Chromium with the
// network off, as a user opens them: a run that failed in several kinds
// and ended part-way into its last bucket (1.5 s), a run of 0.1 s, one of
// 3 s, and a made-up run of 10 minutes. Each must show no console message,
// run its script, hold every bucket's counts in its bars (100 ms buckets
// for a run under 5 s, windows of several seconds for one of more than 300
// buckets), scale its axes to the data with round labels that do not
// overlap, and draw (a screenshot has the bars' and lines' colours). With
// SOCKIT_SHOTS=DIR the screenshots are kept there, to look at.
func TestHTMLRendersInChromium(t *testing.T) {
	sockittest.RequireTool(t, "chromium")
	addr := flakyEcho(t)
	echoAddr := serve(t, echo.Service(), "tcp")
	for _, tc := range []struct {
		name   string
		result func() *bench.Result
		bucket float64 // seconds per bar
		kinds  bool    // failures of several kinds
	}{
		{"flaky-1.5s", func() *bench.Result {
			// 300 requests at 200/s: 1.5 s.
			return run(t, bench.Config{Target: "tcp://" + addr, Requests: 300, Concurrency: 3, Rate: 200})
		}, 0.1, true},
		{"short-0.1s", func() *bench.Result {
			return run(t, bench.Config{Target: "tcp://" + echoAddr, Duration: 100 * time.Millisecond, Concurrency: 2, KeepAlive: true})
		}, 0.1, false},
		{"3s", func() *bench.Result {
			return run(t, bench.Config{Target: "tcp://" + echoAddr, Duration: 3 * time.Second, Rate: 400, Concurrency: 2, KeepAlive: true})
		}, 0.1, false},
		{"10min", func() *bench.Result { return longRun(599) }, 2, true}, // 599.4 s: 600 seconds, in windows of 2
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.result()
			if tc.kinds && len(r.Failures) < 2 {
				t.Fatalf("want failures of several kinds, got %v", r.Failures)
			}
			checkChartsInChromium(t, r, tc.name, tc.bucket)
		})
	}
}

// longRun is a made-up run of secs seconds at 1,000 requests a second
// with a slow spell and failures of two kinds: what 10 minutes against a
// server would leave, without loading one for that long.
func longRun(secs int) *bench.Result {
	r := bench.NewResult()
	r.Target, r.Host, r.Port, r.Path, r.Concurrency = "tcp://127.0.0.1:8001", "127.0.0.1", "8001", "echo", 8
	r.Duration = time.Duration(secs)*time.Second + 400*time.Millisecond
	rng := rand.New(rand.NewPCG(3, 4))
	for sec := 0; sec <= secs; sec++ {
		n := 1000
		if sec == secs {
			n = 400 // the last second, 0.4 s of it
		}
		b := bench.Second{Latency: bench.NewSecondHistogram()}
		for range n {
			us := 300 + rng.Int64N(400)
			if sec > secs/2 && sec < secs/2+30 {
				us *= 10 // the slow spell
			}
			kind := ""
			switch rng.IntN(200) {
			case 0:
				kind = bench.FailTimeout
			case 1:
				kind = bench.FailRead
			}
			r.Latency.RecordValue(us)
			b.Latency.RecordValue(us)
			b.MaxUs = max(b.MaxUs, us)
			if kind != "" {
				r.Failures[kind]++
				if b.Failures == nil {
					b.Failures = map[string]int64{}
				}
				b.Failures[kind]++
			}
		}
		r.Requests += int64(n)
		r.PerSecond = append(r.PerSecond, int64(n))
		r.Seconds = append(r.Seconds, b)
	}
	return r
}

// chartBuckets is what the charts of r should draw: per 100 ms under 5 s,
// else per second, in windows of k seconds past 300 of them.
func chartBuckets(r *bench.Result) (counts []int64, bins []bench.Second, width float64) {
	if (r.Warmup + r.Duration) <= bench.FineSpan {
		for _, b := range r.Tenths {
			counts = append(counts, b.Latency.TotalCount())
		}
		return counts, r.Tenths, bench.FineBucket.Seconds()
	}
	k := (len(r.PerSecond) + 299) / 300
	for i, n := range r.PerSecond {
		if i/k == len(counts) {
			counts = append(counts, 0)
			bins = append(bins, bench.Second{})
		}
		counts[i/k] += n
		bins = bench.AddSecond(bins, i/k, r.Seconds[i])
	}
	return counts, bins, float64(k)
}

// tick is an axis label as Chromium laid it out.
type tick struct {
	x, y float64
	text string
}

var tickRe = regexp.MustCompile(`<text class="tick" x="([0-9.]+)" y="([0-9.]+)" text-anchor="\w+">([^<]*)</text>`)

// ticks returns the labels of the chart whose svg id is id.
func ticks(t *testing.T, dom, id string) (xs, ys []tick) {
	t.Helper()
	i := strings.Index(dom, `<svg id="`+id+`"`)
	if i < 0 {
		t.Fatalf("no chart %s", id)
	}
	svg := dom[i : i+strings.Index(dom[i:], "</svg>")]
	for _, m := range tickRe.FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		y, _ := strconv.ParseFloat(m[2], 64)
		tk := tick{x, y, html.UnescapeString(m[3])}
		if y > 290 { // below the plot: the time axis
			xs = append(xs, tk)
		} else {
			ys = append(ys, tk)
		}
	}
	return xs, ys
}

// labelWidth is a label's width at the charts' 11 px font, generously.
func labelWidth(s string) float64 { return 7 * float64(len([]rune(s))) }

var (
	timeLabel = regexp.MustCompile(`^(0|\d+(\.\d{1,2})? s|\d+ min( \d+ s)?|\d+ h)$`)
	rateLabel = regexp.MustCompile(`^(0|\d+(\.\d+)?[kM]?/s)$`)
	msLabel   = regexp.MustCompile(`^\d+(\.\d+)? (µs|ms|s)$`)
)

// checkAxes checks a chart's labels: round, in order, none overlapping.
func checkAxes(t *testing.T, dom, id string, ylabel *regexp.Regexp) (xs, ys []tick) {
	t.Helper()
	xs, ys = ticks(t, dom, id)
	if len(xs) < 3 || len(xs) > 12 || len(ys) < 2 || len(ys) > 16 {
		t.Errorf("%s: %d time labels and %d value labels", id, len(xs), len(ys))
	}
	for i, x := range xs {
		if !timeLabel.MatchString(x.text) {
			t.Errorf("%s: time label %q is not round", id, x.text)
		}
		if i > 0 && x.x-xs[i-1].x < (labelWidth(x.text)+labelWidth(xs[i-1].text))/2+4 {
			t.Errorf("%s: time labels %q and %q overlap (%.0f px apart)", id, xs[i-1].text, x.text, x.x-xs[i-1].x)
		}
	}
	for i, y := range ys {
		if !ylabel.MatchString(y.text) {
			t.Errorf("%s: value label %q is not round", id, y.text)
		}
		if i > 0 && y.y-ys[i-1].y > -12 {
			t.Errorf("%s: value labels %q and %q overlap or are out of order", id, ys[i-1].text, y.text)
		}
	}
	return xs, ys
}

// rateOfLabel reads "2.5k/s" back as 2500.
func rateOfLabel(s string) float64 {
	s = strings.TrimSuffix(s, "/s")
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		s, mult = strings.TrimSuffix(s, "k"), 1e3
	case strings.HasSuffix(s, "M"):
		s, mult = strings.TrimSuffix(s, "M"), 1e6
	}
	v, _ := strconv.ParseFloat(s, 64)
	return v * mult
}

func checkChartsInChromium(t *testing.T, r *bench.Result, name string, bucket float64) {
	dir := t.TempDir()
	if d := os.Getenv("SOCKIT_SHOTS"); d != "" {
		dir = d
	}
	page := filepath.Join(dir, name+".html")
	writeHTML(t, page, func(w io.Writer) error { return report.WriteHTML(w, report.Named{Name: r.Target, Result: r}) })
	dom := chromium(t, page, "--dump-dom")
	if !strings.Contains(dom, `data-rendered="3"`) {
		t.Errorf("the page's script did not run to its end (no data-rendered=\"3\")")
	}
	if m := regexp.MustCompile(`(src|href)=|@import|url\(`).FindString(dom); m != "" {
		t.Errorf("the page loads something (%q): it must open offline", m)
	}
	counts, bins, width := chartBuckets(r)
	if width != bucket {
		t.Fatalf("buckets of %g s, want %g", width, bucket)
	}

	// Throughput: a bar per bucket and kind, holding that bucket's count.
	type key struct {
		bucket int
		kind   string
	}
	bars := map[key]int64{}
	var partial []int
	for _, a := range elements(dom, "rect", "bar") {
		i := int(atoi(t, a["data-bucket"]))
		if w, _ := strconv.ParseFloat(a["data-bucket-s"], 64); w != width {
			t.Fatalf("a bar of %g s, want %g", w, width)
		}
		bars[key{i, a["data-kind"]}] += atoi(t, a["data-n"])
		if a["data-partial"] == "true" && (len(partial) == 0 || partial[len(partial)-1] != i) {
			partial = append(partial, i)
		}
	}
	var sum int64
	peak := 0.0
	for i, n := range counts {
		var failed int64
		for k, v := range bins[i].Failures {
			failed += v
			if bars[key{i, k}] != v {
				t.Errorf("bucket %d: %d %s bars, the run counted %d", i, bars[key{i, k}], k, v)
			}
		}
		if bars[key{i, "ok"}] != n-failed {
			t.Errorf("bucket %d: %d ok bars, the run counted %d", i, bars[key{i, "ok"}], n-failed)
		}
		sum += n
		if i < len(counts)-1 {
			peak = max(peak, float64(n)/width)
		}
	}
	// The last bucket, cut short by the run's end, is drawn at its rate
	// over the part the run covered (when that part is large enough to
	// show one): on a slow machine it can hold the peak.
	if last := len(counts) - 1; last >= 0 {
		cut := (r.Warmup + r.Duration).Seconds() - float64(last)*width
		if f := cut / width; f >= 0.2 && f <= 1 {
			peak = max(peak, float64(counts[last])/cut)
		}
	}
	var barSum int64
	for _, v := range bars {
		barSum += v
	}
	if barSum != sum || sum != r.Requests {
		t.Errorf("bars hold %d requests, the buckets %d, the run %d", barSum, sum, r.Requests)
	}
	end := (r.Warmup + r.Duration).Seconds()
	last := len(counts) - 1
	if cut := end - float64(last)*width; cut > 0.001*width && cut < 0.999*width {
		if len(partial) != 1 || partial[0] != last {
			t.Errorf("partial buckets drawn: %v; want only the last, %d (the run ended %.3f s into it)", partial, last, cut)
		}
	} else if len(partial) != 0 {
		t.Errorf("partial buckets drawn: %v; the run ended at a bucket's end", partial)
	}
	xs, ys := checkAxes(t, dom, "throughput", rateLabel)
	if top := rateOfLabel(ys[len(ys)-1].text); top < peak || top > 2.1*peak+1 {
		t.Errorf("the rate axis tops at %s for a peak of %.0f/s: not scaled to the data", ys[len(ys)-1].text, peak)
	}
	if xs[len(xs)-1].text == "0" || xs[len(xs)-1].x < 600 {
		t.Errorf("the time axis ends at %q (x %.0f): not scaled to the run of %.2f s", xs[len(xs)-1].text, xs[len(xs)-1].x, end)
	}

	// Latency over time: p50, p90, p99 and max, a point per bucket with
	// requests, max exact.
	withReqs := 0
	var maxes []string
	for _, b := range bins {
		if b.Latency != nil && b.Latency.TotalCount() > 0 {
			withReqs++
			maxes = append(maxes, strconv.FormatFloat(float64(b.MaxUs)/1000, 'g', 4, 64))
		}
	}
	paths := elements(dom, "path", "series")
	if len(paths) != 4 {
		t.Fatalf("latency over time has %d series, want 4", len(paths))
	}
	for _, a := range paths {
		if atoi(t, a["data-points"]) != int64(withReqs) {
			t.Errorf("%s over time has %s points, want %d", a["data-q"], a["data-points"], withReqs)
		}
		if a["data-q"] == "max" && a["data-values"] != strings.Join(maxes, " ") {
			t.Errorf("max over time %q, the run's %q", a["data-values"], strings.Join(maxes, " "))
		}
	}
	checkAxes(t, dom, "latency-time", msLabel)
	// The percentile curve holds the whole histogram; tick labels are short.
	curves := elements(dom, "polyline", "series")
	if len(curves) != 1 || atoi(t, curves[0]["data-count"]) != r.Requests {
		t.Errorf("percentile curves %v, want one of %d requests", curves, r.Requests)
	}
	if !strings.Contains(dom, ">99%<") || regexp.MustCompile(`99\.9\d{4,}`).MatchString(dom) {
		t.Errorf("percentile tick labels are not short: %v", regexp.MustCompile(`>[0-9.]+%<`).FindAllString(dom, -1))
	}
	// The errors table: a row per kind with its count.
	for k, v := range r.Failures {
		if !regexp.MustCompile(`<tr data-kind="` + k + `">.*?<td data-n="` + strconv.FormatInt(v, 10) + `">`).MatchString(dom) {
			t.Errorf("errors table lacks %s %d", k, v)
		}
	}

	// And it draws: the ok bars' green and the p50 line's blue are on the
	// screenshot.
	shot := filepath.Join(dir, name+".png")
	chromium(t, page, "--screenshot="+shot, "--hide-scrollbars")
	pf, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	img, err := png.Decode(pf)
	if err != nil {
		t.Fatal(err)
	}
	var blue, green int
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			r, g, bl = r>>8, g>>8, bl>>8
			switch {
			case near(r, 0x15) && near(g, 0x65) && near(bl, 0xc0):
				blue++
			case near(r, 0x2e) && near(g, 0x7d) && near(bl, 0x32):
				green++
			}
		}
	}
	if blue < 100 || green < 1000 {
		t.Errorf("rendered report has %d line pixels and %d bar pixels; the charts did not draw", blue, green)
	}
}

// TestHTMLOverlay: a report of two runs draws each run's series, with its
// counts.
func TestHTMLOverlay(t *testing.T) {
	addr := flakyEcho(t)
	a := run(t, bench.Config{Target: "tcp://" + addr, Requests: 90, Concurrency: 3})
	b := run(t, bench.Config{Target: "tcp://" + addr, Requests: 60, Concurrency: 2})
	page := filepath.Join(t.TempDir(), "cmp.html")
	writeHTML(t, page, func(w io.Writer) error {
		return report.WriteHTML(w, report.Named{Name: "before", Result: a}, report.Named{Name: "after", Result: b})
	})
	dom := chromium(t, page, "--dump-dom")
	curves := elements(dom, "polyline", "series")
	if len(curves) != 2 || atoi(t, curves[0]["data-count"]) != 90 || atoi(t, curves[1]["data-count"]) != 60 {
		t.Errorf("percentile curves %v, want 90 and 60 requests", curves)
	}
	got := map[string]int64{}
	for _, p := range elements(dom, "path", "series") {
		if n, ok := p["data-n"]; ok {
			got[p["data-series"]] = atoi(t, n)
		}
	}
	if got["r0"] != 90 || got["r1"] != 60 || got["r0-fail"] != a.Failed() || got["r1-fail"] != b.Failed() {
		t.Errorf("throughput series %v; want r0 90, r1 60, failures %d and %d", got, a.Failed(), b.Failed())
	}
	if !strings.Contains(dom, "before vs after") {
		t.Errorf("title does not name both runs")
	}
}

func writeHTML(t *testing.T, path string, write func(io.Writer) error) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := write(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func near(a, b uint32) bool { return a+24 > b && b+24 > a }
