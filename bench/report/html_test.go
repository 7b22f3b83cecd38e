package report_test

import (
	"image/png"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/bench/report"
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

// TestHTMLRendersInChromium renders a report of a real run that failed in
// several kinds and ended part-way into its last second, in headless
// Chromium with the network off: no console message, the script ran, and
// the SVG holds every series with the run's counts; a screenshot shows the
// charts drawn.
func TestHTMLRendersInChromium(t *testing.T) {
	addr := flakyEcho(t)
	// 300 requests at 200/s: 1.5 s, so the last second is half covered.
	r := run(t, bench.Config{Target: "tcp://" + addr, Requests: 300, Concurrency: 3, Rate: 200})
	if len(r.Failures) < 2 || r.Failed() < 150 {
		t.Fatalf("want failures of several kinds, got %v", r.Failures)
	}
	dir := t.TempDir()
	page := filepath.Join(dir, "report.html")
	writeHTML(t, page, func(w io.Writer) error { return report.WriteHTML(w, report.Named{Name: r.Target, Result: r}) })
	dom := chromium(t, page, "--dump-dom")
	if !strings.Contains(dom, `data-rendered="3"`) {
		t.Errorf("the page's script did not run to its end (no data-rendered=\"3\")")
	}
	if m := regexp.MustCompile(`(src|href)=|@import|url\(`).FindString(dom); m != "" {
		t.Errorf("the page loads something (%q): it must open offline", m)
	}

	// Throughput: a bar per second and kind, holding that second's count.
	type key struct {
		sec  int
		kind string
	}
	bars := map[key]int64{}
	var partial []int
	for _, a := range elements(dom, "rect", "bar") {
		sec := int(atoi(t, a["data-second"]))
		bars[key{sec, a["data-kind"]}] += atoi(t, a["data-n"])
		if a["data-partial"] == "true" && (len(partial) == 0 || partial[len(partial)-1] != sec) {
			partial = append(partial, sec)
		}
	}
	var sum int64
	for i, n := range r.PerSecond {
		var failed int64
		for k, v := range r.Seconds[i].Failures {
			failed += v
			if bars[key{i, k}] != v {
				t.Errorf("second %d: %d %s bars, the run counted %d", i, bars[key{i, k}], k, v)
			}
		}
		if bars[key{i, "ok"}] != n-failed {
			t.Errorf("second %d: %d ok bars, the run counted %d", i, bars[key{i, "ok"}], n-failed)
		}
		sum += n
	}
	var barSum int64
	for _, v := range bars {
		barSum += v
	}
	if barSum != sum || sum != r.Requests {
		t.Errorf("bars hold %d requests, per-second counts %d, the run %d", barSum, sum, r.Requests)
	}
	if len(partial) != 1 || partial[0] != len(r.PerSecond)-1 || !strings.Contains(dom, "partial (") {
		t.Errorf("partial seconds drawn: %v; want only the last, %d", partial, len(r.PerSecond)-1)
	}

	// Latency over time: p50, p90, p99 and max, a point per second that
	// had requests, max exact.
	withReqs := 0
	for _, s := range r.Seconds {
		if s.Latency != nil && s.Latency.TotalCount() > 0 {
			withReqs++
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
		if a["data-q"] == "max" {
			var maxes []string
			for _, s := range r.Seconds {
				if s.MaxUs > 0 {
					maxes = append(maxes, strconv.FormatFloat(float64(s.MaxUs)/1000, 'g', 4, 64))
				}
			}
			if a["data-values"] != strings.Join(maxes, " ") {
				t.Errorf("max over time %q, the run's %q", a["data-values"], strings.Join(maxes, " "))
			}
		}
	}
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
	shot := filepath.Join(dir, "shot.png")
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
