package report

import (
	"fmt"
	hdr "github.com/HdrHistogram/hdrhistogram-go"
	"html/template"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/sockit/sockit/bench"
)

// WriteHTMLReport writes one self-contained page (inline SVG and a few
// lines of inline script; no fonts, styles or scripts fetched, so it opens
// offline) that overlays the runs, for before/after comparisons: a summary
// table, latency over time (p50, p90, p99 and max of each second), requests
// per second with failures stacked by kind, the latency percentile curve
// on a log ("nines") axis, and the errors by kind. A last second that the
// run covered only in part is drawn as partial, at its rate, not as a drop.
func WriteHTML(w io.Writer, runs ...Named) error {
	if len(runs) == 0 {
		return fmt.Errorf("no run to report")
	}
	title := "sockit bench " + runs[0].Target
	if len(runs) > 1 {
		names := make([]string, len(runs))
		for i, r := range runs {
			names[i] = r.Name
		}
		title = "sockit bench: " + strings.Join(names, " vs ")
	}
	data := struct {
		Title                      string
		Summary, Errors            template.HTML
		Timeline, Tput, Percentile template.HTML
	}{
		Title:      title,
		Summary:    template.HTML(summaryTable(runs)),
		Errors:     template.HTML(errorsTable(runs)),
		Timeline:   template.HTML(latencyTimeSVG(runs)),
		Tput:       template.HTML(throughputSVG(runs)),
		Percentile: template.HTML(percentileSVG(runs)),
	}
	return htmlPage.Execute(w, data)
}

var htmlPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em 2em;color:#222;max-width:980px}
h1{font-size:1.35em;word-break:break-all}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse;font-size:13px}td,th{padding:3px 10px;border-bottom:1px solid #e3e3e3;text-align:right}
th:first-child,td:first-child{text-align:left}th{background:#f3f3f3}
svg{background:#fff;border:1px solid #ddd;display:block}svg text{font-size:11px;fill:#444}
svg .grid{stroke:#eee}svg .axis{stroke:#999}.legend{cursor:pointer}.legend.off{opacity:.35}
.note{color:#666;font-size:12px}
</style></head>
<body><h1>{{.Title}}</h1>
<h2>Summary</h2>{{.Summary}}
<h2>Latency over time</h2>{{.Timeline}}
<p class="note">The p50, p90, p99 and max latency of each second (of each 100 ms for a run under 5 s; of windows of several seconds for a run of more than 300), from histograms that hold every value within about 6%; max is exact. Click a legend entry to hide its series.</p>
<h2>Requests per second</h2>{{.Tput}}
<h2>Latency by percentile</h2>{{.Percentile}}
<p class="note">From the run's HDR histogram (3 significant digits). The x axis counts nines: each step to the right is ten times rarer.</p>
<h2>Errors</h2>{{.Errors}}
<script>
"use strict";
for (const g of document.querySelectorAll(".legend")) {
  g.addEventListener("click", () => {
    g.classList.toggle("off");
    const svg = g.closest("svg");
    for (const s of svg.querySelectorAll('[data-series="' + g.dataset.series + '"]')) {
      if (!s.classList.contains("legend")) s.style.display = g.classList.contains("off") ? "none" : "";
    }
  });
}
document.documentElement.dataset.rendered = document.querySelectorAll("svg").length;
</script>
</body></html>
`))

var (
	runColors  = []string{"#1565c0", "#c62828", "#2e7d32", "#6a1b9a", "#ef6c00", "#00838f"}
	kindColors = map[string]string{bench.FailConnect: "#c62828", bench.FailTimeout: "#ef6c00", bench.FailRead: "#6a1b9a",
		bench.FailWrite: "#ad1457", bench.FailStatus: "#f9a825", bench.FailLength: "#4e342e", bench.FailVerify: "#00838f"}
	okColor = "#2e7d32"
)

func runColor(i int) string { return runColors[i%len(runColors)] }

func kindColor(k string) string {
	if c, ok := kindColors[k]; ok {
		return c
	}
	return "#757575"
}

// fmtMs formats a latency in milliseconds for an axis or a table.
func fmtMs(v float64) string {
	switch {
	case v >= 1000:
		return strconv.FormatFloat(v/1000, 'g', 3, 64) + " s"
	case v >= 1:
		return strconv.FormatFloat(v, 'g', 3, 64) + " ms"
	case v > 0:
		return strconv.FormatFloat(v*1000, 'g', 3, 64) + " µs"
	}
	return "0"
}

// fmtNines labels the percentile n nines out: 90%, 99%, 99.9%, ...
func fmtNines(n float64) string {
	q := 100 * (1 - math.Pow(10, -n))
	return strconv.FormatFloat(q, 'f', max(int(math.Ceil(n-1e-9))-2, 0), 64) + "%"
}

func summaryTable(runs []Named) string {
	var b strings.Builder
	b.WriteString(`<table id="summary"><tr><th>run</th><th>requests</th><th>failed</th><th>seconds</th><th>req/s</th><th>p50</th><th>p90</th><th>p99</th><th>p99.9</th><th>max</th><th>conns</th></tr>`)
	for i, r := range runs {
		h := r.Latency
		name := r.Name
		if r.RunID != "" && !strings.Contains(name, r.RunID) {
			name += " (run " + r.RunID + ")"
		}
		fmt.Fprintf(&b, `<tr><td><span style="color:%s">■</span> %s</td><td>%d</td><td>%d</td><td>%.2f</td><td>%.1f</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%d</td></tr>`,
			runColor(i), template.HTMLEscapeString(name), r.Requests, r.Failed(), r.Duration.Seconds(), r.RPS(),
			fmtMs(ms(h.ValueAtQuantile(50))), fmtMs(ms(h.ValueAtQuantile(90))), fmtMs(ms(h.ValueAtQuantile(99))),
			fmtMs(ms(h.ValueAtQuantile(99.9))), fmtMs(ms(h.Max())), r.Concurrency)
	}
	b.WriteString(`</table>`)
	b.WriteString(phasesTable(runs))
	for _, r := range runs {
		for _, w := range Warnings(r.Result) {
			fmt.Fprintf(&b, `<p class="note">%s: %s</p>`, template.HTMLEscapeString(r.Name), template.HTMLEscapeString(w))
		}
	}
	return b.String()
}

// phasesTable shows the phases of the requests of https runs, the TLS
// handshake as its own (ab's Connect holds it): "" when no run made a
// handshake.
func phasesTable(runs []Named) string {
	tls := false
	for _, r := range runs {
		tls = tls || r.HandshakesFull+r.HandshakesResumed > 0
	}
	if !tls {
		return ""
	}
	var b strings.Builder
	b.WriteString(`<table id="phases"><tr><th>run</th><th>phase</th><th>count</th><th>mean</th><th>p50</th><th>p99</th><th>max</th></tr>`)
	for i, r := range runs {
		for _, ph := range []struct {
			name string
			h    *hdr.Histogram
		}{{"connect (TCP and TLS)", r.Connect},
			{fmt.Sprintf("TLS handshake (%d full, %d resumed)", r.HandshakesFull, r.HandshakesResumed), r.Handshake},
			{"waiting (to first byte)", r.Wait}, {"total", r.Latency}} {
			if ph.h == nil {
				continue
			}
			fmt.Fprintf(&b, `<tr><td><span style="color:%s">■</span> %s</td><td>%s</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>`,
				runColor(i), template.HTMLEscapeString(r.Name), template.HTMLEscapeString(ph.name), ph.h.TotalCount(),
				fmtMs(ph.h.Mean()/1000), fmtMs(ms(ph.h.ValueAtQuantile(50))), fmtMs(ms(ph.h.ValueAtQuantile(99))), fmtMs(ms(ph.h.Max())))
		}
	}
	b.WriteString(`</table>`)
	return b.String()
}

func errorsTable(runs []Named) string {
	kinds := map[string]bool{}
	for _, r := range runs {
		for k, v := range r.Failures {
			if v > 0 {
				kinds[k] = true
			}
		}
	}
	if len(kinds) == 0 {
		return `<p id="errors">No failed requests.</p>`
	}
	var b strings.Builder
	b.WriteString(`<table id="errors"><tr><th>kind</th>`)
	for _, r := range runs {
		fmt.Fprintf(&b, `<th>%s</th><th>share</th><th>first at</th>`, template.HTMLEscapeString(r.Name))
	}
	b.WriteString(`</tr>`)
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Fprintf(&b, `<tr data-kind="%s"><td><span style="color:%s">■</span> %s</td>`, k, kindColor(k), template.HTMLEscapeString(k))
		for _, r := range runs {
			n := r.Failures[k]
			first := "–"
			for i, s := range r.Seconds {
				if s.Failures[k] > 0 {
					first = fmt.Sprintf("second %d", i+1)
					break
				}
			}
			share := 0.0
			if r.Requests > 0 {
				share = 100 * float64(n) / float64(r.Requests)
			}
			fmt.Fprintf(&b, `<td data-n="%d">%d</td><td>%.2f%%</td><td>%s</td>`, n, n, share, first)
		}
		b.WriteString(`</tr>`)
	}
	b.WriteString(`</table>`)
	return b.String()
}

// plot is one chart's frame: its size, margins and scales.
type plot struct {
	b           strings.Builder
	w, h        float64
	l, r, t, bt float64
	x0, x1      float64
	y0, y1      float64 // data range; log10 of it when logY
	logY        bool
	step        float64 // the linear y axis's tick step
}

func newPlot(id string, x0, x1, y0, y1 float64, logY bool) *plot {
	p := &plot{w: 900, h: 320, l: 64, r: 150, t: 12, bt: 36, x0: x0, x1: x1, logY: logY}
	if x1 <= x0 {
		p.x1 = x0 + 1
	}
	if logY {
		y0, y1 = math.Max(y0, 1e-3), math.Max(y1, 1e-3)
		p.y0, p.y1 = math.Floor(math.Log10(y0)), math.Ceil(math.Log10(y1))
		if p.y1 <= p.y0 {
			p.y1 = p.y0 + 1
		}
	} else {
		// A round step leaving at most five intervals, and the top the
		// first of its multiples at or above the data
		// (5% of headroom, so that no bar reaches the frame).
		y1 = y0 + (y1-y0)*1.05
		step := niceCeil(math.Max(y1-y0, 1e-9) / 5)
		p.y0, p.y1 = y0, y0+math.Ceil((y1-y0)/step*(1-1e-9))*step
		if p.y1 <= p.y0 {
			p.y1 = p.y0 + step
		}
		p.step = step
	}
	fmt.Fprintf(&p.b, `<svg id="%s" xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f">`, id, p.w, p.h, p.w, p.h)
	return p
}

func (p *plot) X(v float64) float64 { return p.l + (v-p.x0)/(p.x1-p.x0)*(p.w-p.l-p.r) }

func (p *plot) Y(v float64) float64 {
	if p.logY {
		v = math.Log10(math.Max(v, 1e-3))
	}
	f := (v - p.y0) / (p.y1 - p.y0)
	return p.h - p.bt - f*(p.h-p.bt-p.t)
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*e*(1+1e-9) {
			return m * e
		}
	}
	return 10 * e
}

// yAxis draws horizontal grid lines and labels.
func (p *plot) yAxis(label func(float64) string) {
	var ticks []float64
	if p.logY {
		decades := p.y1 - p.y0
		for e := p.y0; e <= p.y1; e++ {
			for _, m := range []float64{1, 2, 5} {
				if m != 1 && decades > 3 {
					continue
				}
				if v := m * math.Pow(10, e); math.Log10(v) <= p.y1+1e-9 {
					ticks = append(ticks, v)
				}
			}
		}
	} else {
		for k := 0; ; k++ {
			v := p.y0 + float64(k)*p.step
			if v > p.y1+p.step/1e6 {
				break
			}
			ticks = append(ticks, v)
		}
	}
	for _, v := range ticks {
		y := p.Y(v)
		fmt.Fprintf(&p.b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/><text class="tick" x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
			p.l, p.w-p.r, y, y, p.l-6, y+4, label(v))
	}
	fmt.Fprintf(&p.b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, p.l, p.l, float64(p.t), p.h-p.bt)
	fmt.Fprintf(&p.b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, p.l, p.w-p.r, p.h-p.bt, p.h-p.bt)
}

// timeAxis labels the x axis in time since the start of the run, at a
// round step (0.1 s, 0.2 s, 0.5 s, 1 s ... 1 min, 2 min ...) that leaves
// at most ten intervals, each label written from its index (no sums of
// floats, so no 0.30000000000000004).
func (p *plot) timeAxis() {
	step := timeStep((p.x1 - p.x0) / 10)
	for k := 0; ; k++ {
		v := p.x0 + float64(k)*step
		if v > p.x1+step/1e6 {
			break
		}
		x := p.X(v)
		fmt.Fprintf(&p.b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/><text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`,
			x, x, p.h-p.bt, p.h-p.bt+4, x, p.h-p.bt+16, fmtSeconds(v, step))
	}
	fmt.Fprintf(&p.b, `<text x="%.1f" y="%.1f" text-anchor="middle">time since the start of the run</text>`, (p.l+p.w-p.r)/2, p.h-4)
}

// timeSteps are the round steps of a time axis, in seconds.
var timeSteps = []float64{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400}

// timeStep is the least round step of at least min seconds.
func timeStep(min float64) float64 {
	for _, s := range timeSteps {
		if s >= min*(1-1e-9) {
			return s
		}
	}
	return niceCeil(min)
}

// fmtSeconds writes v, a multiple of step, as a tick label: "0.3 s",
// "15 s", "2 min", "1 min 30 s", "2 h".
func fmtSeconds(v, step float64) string {
	switch {
	case v == 0:
		return "0"
	case step < 1:
		decimals := int(math.Ceil(-math.Log10(step) - 1e-9))
		return strconv.FormatFloat(v, 'f', decimals, 64) + " s"
	case v < 60 || step < 60 && math.Mod(v, 60) != 0:
		if v >= 60 {
			return fmt.Sprintf("%d min %d s", int(v)/60, int(v)%60)
		}
		return strconv.FormatFloat(v, 'f', 0, 64) + " s"
	case v < 3600 || math.Mod(v, 3600) != 0:
		return strconv.FormatFloat(v/60, 'f', -1, 64) + " min"
	}
	return strconv.FormatFloat(v/3600, 'f', -1, 64) + " h"
}

// fmtRate writes a rate for an axis: "0", "800/s", "2.5k/s", "1.2M/s".
func fmtRate(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M/s"
	case v >= 1e4:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k/s"
	case v == 0:
		return "0"
	}
	return strconv.FormatFloat(v, 'f', -1, 64) + "/s"
}

// legend draws entry i of the legend on the right; clicking it toggles
// the elements of the same data-series.
func (p *plot) legend(i int, series, color, dash, label string) {
	y := p.t + 8 + float64(i)*18
	x := p.w - p.r + 12
	fmt.Fprintf(&p.b, `<g class="legend" data-series="%s"><line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="3" stroke-dasharray="%s"/><text x="%.1f" y="%.1f">%s</text></g>`,
		series, x, x+20, y, y, color, dash, x+26, y+4, template.HTMLEscapeString(label))
}

// warmup shades the seconds before recording began, if any.
func (p *plot) warmup(runs []Named) {
	var w float64
	for _, r := range runs {
		w = math.Max(w, r.Warmup.Seconds())
	}
	if w <= 0 {
		return
	}
	x0, x1 := p.X(0), p.X(math.Min(w, p.x1))
	fmt.Fprintf(&p.b, `<rect class="warmup" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#f0f0f0"/><text x="%.1f" y="%.1f" text-anchor="middle">warm-up (not recorded)</text>`,
		x0, p.t, x1-x0, p.h-p.bt-p.t, (x0+x1)/2, p.t+14)
}

func (p *plot) String() string { p.b.WriteString(`</svg>`); return p.b.String() }

func emptySVG(id, msg string) string {
	return fmt.Sprintf(`<svg id="%s" xmlns="http://www.w3.org/2000/svg" width="900" height="60"><text x="20" y="34">%s</text></svg>`, id, msg)
}

// span is how many seconds a run's series covers, warm-up included.
func span(r *bench.Result) float64 { return (r.Warmup + r.Duration).Seconds() }

// covered is the part of second i the run covered: 1, except for a last
// second cut short.
func covered(r *bench.Result, i int) float64 {
	if n := len(r.PerSecond); i == n-1 {
		if f := span(r) - float64(i); f > 0.001 && f < 0.999 {
			return f
		}
	}
	return 1
}

// minCovered is the least part of a bucket whose rate is shown: a run
// that ends a few milliseconds into a bucket has no meaningful rate there.
const minCovered = 0.2

// maxBins is the most buckets a time chart draws: a longer series is
// drawn in windows of several buckets (histograms merged), so a bar is
// never under 2 px.
const maxBins = 300

// series is what the time charts draw of one run: its buckets, width
// seconds each, with their requests, failures and latency.
type series struct {
	r     *bench.Result
	width float64
	bins  []bench.Second
	count []int64
}

// fineCharts reports whether the time charts draw the 100 ms series: every
// run is shorter than it covers, and has it.
func fineCharts(runs []Named) bool {
	for _, r := range runs {
		if span(r.Result) > bench.FineSpan.Seconds() || len(r.Tenths) == 0 && len(r.PerSecond) > 0 {
			return false
		}
	}
	return true
}

// seriesOf is r's series for the charts: per 100 ms if fine, else per
// second, in windows of several when there are more than maxBins.
func seriesOf(r *bench.Result, fine bool) series {
	s := series{r: r, width: 1}
	if fine {
		s.width = bench.FineBucket.Seconds()
		s.bins = r.Tenths
		for _, b := range r.Tenths {
			var n int64
			if b.Latency != nil {
				n = b.Latency.TotalCount()
			}
			s.count = append(s.count, n)
		}
	} else {
		s.count = r.PerSecond
		s.bins = make([]bench.Second, len(r.PerSecond))
		copy(s.bins, r.Seconds)
	}
	if k := (len(s.count) + maxBins - 1) / maxBins; k > 1 {
		var bins []bench.Second
		var count []int64
		for i := range s.count {
			bins = bench.AddSecond(bins, i/k, s.bins[i])
			for len(count) <= i/k {
				count = append(count, 0)
			}
			count[i/k] += s.count[i]
		}
		s.bins, s.count, s.width = bins, count, s.width*float64(k)
	}
	for len(s.bins) < len(s.count) {
		s.bins = append(s.bins, bench.Second{})
	}
	return s
}

// len is the number of buckets.
func (s series) len() int { return len(s.count) }

// end is where the series ends on the time axis: where the run ended in
// its last bucket.
func (s series) end() float64 {
	n := len(s.count)
	if n == 0 {
		return span(s.r)
	}
	return (float64(n-1) + s.covered(n-1)) * s.width
}

// covered is the part of bucket i the run covered: 1, except for a last
// bucket cut short.
func (s series) covered(i int) float64 {
	if i == len(s.count)-1 {
		if f := (span(s.r) - float64(i)*s.width) / s.width; f > 0.001 && f < 0.999 {
			return f
		}
	}
	return 1
}

// rate is n, counted in bucket i, per second; ok is false for a sliver of
// a last bucket, whose rate means nothing: its rate is then n over the
// whole bucket, a bar drawn for its count, not its pace.
func (s series) rate(i int, n int64) (float64, bool) {
	f := s.covered(i)
	if f < minCovered {
		return float64(n) / s.width, false
	}
	return float64(n) / (s.width * f), true
}

// mid is the time of bucket i's point: the middle of its covered part.
func (s series) mid(i int) float64 { return (float64(i) + s.covered(i)/2) * s.width }

// label names bucket i: "second 3", "0.3-0.4 s", "10-12 s".
func (s series) label(i int) string {
	if s.width == 1 {
		return fmt.Sprintf("second %d", i+1)
	}
	step := s.width
	return fmtSeconds(float64(i)*step, step) + " to " + fmtSeconds(float64(i+1)*step, step)
}

// timeRange is the time axis's end over every run: the longest series,
// never under one bucket.
func timeRange(ss []series) float64 {
	xs := 0.0
	for _, s := range ss {
		xs = math.Max(xs, math.Max(s.end(), s.width))
	}
	return xs
}

// latencyTimeSVG draws each bucket's p50, p90, p99 and max.
func latencyTimeSVG(runs []Named) string {
	quantiles := []struct {
		name string
		q    float64
		dash string
	}{{"p50", 50, ""}, {"p90", 90, "6,3"}, {"p99", 99, "2,3"}, {"max", 100, "1,5"}}
	qColors := []string{"#1565c0", "#00897b", "#ef6c00", "#c62828"}
	fine := fineCharts(runs)
	ss := make([]series, len(runs))
	var lo, hi float64 = math.Inf(1), 0
	for ri, r := range runs {
		ss[ri] = seriesOf(r.Result, fine)
		for _, b := range ss[ri].bins {
			if us, ok := b.Quantile(50); ok {
				lo = math.Min(lo, ms(us))
				hi = math.Max(hi, ms(b.MaxUs))
			}
		}
	}
	if hi == 0 {
		return emptySVG("latency-time", "no latencies over time in this report")
	}
	p := newPlot("latency-time", 0, timeRange(ss), lo, hi, true)
	p.warmup(runs)
	p.yAxis(func(v float64) string { return fmtMs(v) })
	p.timeAxis()
	li := 0
	for ri, r := range runs {
		s := ss[ri]
		for qi, q := range quantiles {
			color, name := qColors[qi], q.name
			if len(runs) > 1 {
				color, name = runColor(ri), fmt.Sprintf("r%d-%s", ri, q.name)
			}
			var pts []string
			var d, dots strings.Builder
			cmd := "M" // after a bucket without requests, a new segment
			for i, b := range s.bins {
				us, ok := b.Quantile(q.q)
				if !ok {
					cmd = "M"
					continue
				}
				v := ms(us)
				if q.q == 100 {
					v = ms(b.MaxUs)
				}
				x, y := p.X(s.mid(i)), p.Y(v)
				fmt.Fprintf(&d, "%s%.1f,%.1f ", cmd, x, y)
				if s.len() <= 60 {
					// A dot per bucket: a one-bucket run still shows.
					fmt.Fprintf(&dots, `<circle data-series="%s" cx="%.1f" cy="%.1f" r="2.5" fill="%s"/>`, name, x, y, color)
				}
				cmd = "L"
				pts = append(pts, strconv.FormatFloat(v, 'g', 4, 64))
			}
			fmt.Fprintf(&p.b, `<path class="series" data-series="%s" data-run="%d" data-q="%s" data-bucket-s="%g" data-points="%d" data-values="%s" fill="none" stroke="%s" stroke-width="%s" stroke-dasharray="%s" d="%s"/>`,
				name, ri, q.name, s.width, len(pts), strings.Join(pts, " "), color, map[bool]string{true: "1.2", false: "2"}[q.name == "max"], q.dash, strings.TrimSpace(d.String()))
			p.b.WriteString(dots.String())
			label := q.name
			if len(runs) > 1 {
				label = shortName(r.Name, 12) + " " + q.name
			}
			p.legend(li, name, color, q.dash, label)
			li++
		}
	}
	return p.String()
}

func shortName(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return "…" + string(r[len(r)-n+1:])
	}
	return s
}

// throughputSVG draws requests per second, per bucket of the series: for
// one run, bars with the failures stacked by kind on the successes; for
// several, a line per run. A last bucket cut short is drawn at its rate,
// narrower, paler and outlined, and labelled partial.
func throughputSVG(runs []Named) string {
	fine := fineCharts(runs)
	ss := make([]series, len(runs))
	peak, drawable := 0.0, false
	for ri, r := range runs {
		ss[ri] = seriesOf(r.Result, fine)
		for i, n := range ss[ri].count {
			if v, ok := ss[ri].rate(i, n); ok {
				peak, drawable = math.Max(peak, v), true
			}
		}
	}
	if len(runs) == 1 && ss[0].len() == 0 {
		return emptySVG("throughput", "no requests")
	}
	if !drawable {
		return emptySVG("throughput", fmt.Sprintf("the run lasted %.3f s: too short for a rate over time (the summary has its rate)", span(runs[0].Result)))
	}
	p := newPlot("throughput", 0, timeRange(ss), 0, peak, false)
	p.warmup(runs)
	p.yAxis(fmtRate)
	p.timeAxis()
	if len(runs) == 1 {
		p.bars(ss[0])
		return p.String()
	}
	li := 0
	for ri, r := range runs {
		s := ss[ri]
		d, points, total := p.ratePath(s, func(i int) int64 { return s.count[i] })
		name := fmt.Sprintf("r%d", ri)
		fmt.Fprintf(&p.b, `<path class="series" data-series="%s" data-run="%d" data-points="%d" data-n="%d" fill="none" stroke="%s" stroke-width="2" d="%s"/>`,
			name, ri, points, total, runColor(ri), d)
		p.legend(li, name, runColor(ri), "", shortName(r.Name, 18))
		li++
		if r.Failed() == 0 {
			continue
		}
		// Its failures, all kinds together, dashed.
		d, points, failed := p.ratePath(s, func(i int) int64 {
			var n int64
			for _, v := range s.bins[i].Failures {
				n += v
			}
			return n
		})
		name += "-fail"
		fmt.Fprintf(&p.b, `<path class="series" data-series="%s" data-run="%d" data-points="%d" data-n="%d" fill="none" stroke="%s" stroke-width="1.5" stroke-dasharray="5,3" d="%s"/>`,
			name, ri, points, failed, runColor(ri), d)
		p.legend(li, name, runColor(ri), "5,3", shortName(r.Name, 12)+" failed")
		li++
	}
	return p.String()
}

// bars draws one run's buckets as bars: successes, then each kind of
// failure stacked on them.
func (p *plot) bars(s series) {
	kinds := slices.Sorted(maps.Keys(s.r.Failures))
	bw := p.X(s.width) - p.X(0)
	for i, n := range s.count {
		f := s.covered(i)
		b := s.bins[i]
		var fails int64
		for _, k := range kinds {
			fails += b.Failures[k]
		}
		gap := 1.0 // between bars, where they are wide enough to spare it
		if bw < 4 {
			gap = 0
		}
		x, w := p.X(float64(i)*s.width)+gap/2, math.Max(bw*f-gap, 1)
		base := p.Y(0)
		partial := f < 1
		bar := func(name, kind string, count int64, color string) {
			if count == 0 {
				return
			}
			v, paced := s.rate(i, count)
			hgt := math.Min(p.Y(0)-p.Y(v), base-p.t) // never past the top
			title := fmt.Sprintf("%s: %d %s", s.label(i), count, kind)
			if partial {
				title = fmt.Sprintf("%s (partial: the run covered %.3f s of it): %d %s", s.label(i), f*s.width, count, kind)
				if paced {
					title += fmt.Sprintf(", %.0f/s", v)
				} else {
					title += " (too short a part for a rate: drawn as the count over the whole bucket)"
				}
			}
			fmt.Fprintf(&p.b, `<rect class="bar" data-series="%s" data-bucket="%d" data-bucket-s="%g" data-kind="%s" data-n="%d" data-partial="%t" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"`,
				name, i, s.width, kind, count, partial, x, base-hgt, w, hgt, color)
			if partial {
				p.b.WriteString(` fill-opacity="0.55" stroke="` + color + `" stroke-dasharray="3,2"`)
			}
			fmt.Fprintf(&p.b, `><title>%s</title></rect>`, title)
			base -= hgt
		}
		bar("ok", "ok", n-fails, okColor)
		for _, k := range kinds {
			bar("fail-"+k, k, b.Failures[k], kindColor(k))
		}
		if partial && f >= minCovered && bw*f >= 80 {
			// Where there is room for it; the bar's title says it anyway.
			fmt.Fprintf(&p.b, `<text class="partial" x="%.1f" y="%.1f" text-anchor="middle">partial (%.2f s)</text>`, x+w/2, math.Max(base-4, p.t+10), f*s.width)
		}
	}
	p.legend(0, "ok", okColor, "", "ok")
	for i, k := range kinds {
		p.legend(i+1, "fail-"+k, kindColor(k), "", k)
	}
}

// ratePath is the path of count(i) per second over s's buckets, a point in
// the middle of the part of each bucket the run covered; a sliver of a
// last bucket has no rate and no point. total adds up every bucket.
func (p *plot) ratePath(s series, count func(i int) int64) (d string, points int, total int64) {
	var b strings.Builder
	for i := range s.count {
		n := count(i)
		total += n
		v, ok := s.rate(i, n)
		if !ok {
			continue
		}
		cmd := "L"
		if points == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&b, "%s%.1f,%.1f ", cmd, p.X(s.mid(i)), p.Y(v))
		points++
	}
	return strings.TrimSpace(b.String()), points, total
}

// percentileSVG plots latency against percentile, the x axis in "nines"
// (0, 90, 99, 99.9, …) so the tail is visible, the y axis on a log scale.
func percentileSVG(runs []Named) string {
	var lo, hi float64 = math.Inf(1), 0
	maxNines := 2.0
	for _, r := range runs {
		h := r.Latency
		if h.TotalCount() == 0 {
			continue
		}
		lo = math.Min(lo, ms(h.Min()))
		hi = math.Max(hi, ms(h.Max()))
		// As many nines as the samples resolve, up to six.
		maxNines = math.Max(maxNines, math.Min(math.Ceil(math.Log10(float64(h.TotalCount()))), 6))
	}
	if hi == 0 {
		return emptySVG("latency", "no requests")
	}
	p := newPlot("latency", 0, maxNines, lo, hi, true)
	p.yAxis(func(v float64) string { return fmtMs(v) })
	for _, n := range append([]float64{math.Log10(2)}, seq(1, maxNines)...) {
		x := p.X(n)
		fmt.Fprintf(&p.b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`,
			x, x, p.t, p.h-p.bt, x, p.h-p.bt+16, fmtNines(n))
	}
	fmt.Fprintf(&p.b, `<text x="%.1f" y="%.1f" text-anchor="middle">percentile</text>`, (p.l+p.w-p.r)/2, p.h-4)
	for ri, r := range runs {
		h := r.Latency
		if h.TotalCount() == 0 {
			continue
		}
		var pts []string
		const steps = 240
		for i := 0; i <= steps; i++ {
			n := maxNines * float64(i) / steps
			q := 100 * (1 - math.Pow(10, -n))
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", p.X(n), p.Y(ms(h.ValueAtQuantile(q)))))
		}
		series := fmt.Sprintf("r%d", ri)
		fmt.Fprintf(&p.b, `<polyline class="series" data-series="%s" data-run="%d" data-count="%d" data-p50="%g" data-p99="%g" fill="none" stroke="%s" stroke-width="2" points="%s"/>`,
			series, ri, h.TotalCount(), ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(99)), runColor(ri), strings.Join(pts, " "))
		p.legend(ri, series, runColor(ri), "", shortName(r.Name, 18))
	}
	return p.String()
}

func seq(from, to float64) []float64 {
	var out []float64
	for v := from; v <= to+1e-9; v++ {
		out = append(out, v)
	}
	return out
}
