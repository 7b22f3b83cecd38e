package report

import (
	"fmt"
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
<p class="note">Each second's p50, p90, p99 and max latency (per-second histograms hold every value within about 6%; max is exact). Click a legend entry to hide its series.</p>
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
	for _, r := range runs {
		for _, w := range Warnings(r.Result) {
			fmt.Fprintf(&b, `<p class="note">%s: %s</p>`, template.HTMLEscapeString(r.Name), template.HTMLEscapeString(w))
		}
	}
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
		p.y0, p.y1 = y0, niceCeil(y1)
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
		step := niceCeil((p.y1 - p.y0) / 5)
		for v := p.y0; v <= p.y1+step/1e6; v += step {
			ticks = append(ticks, v)
		}
	}
	for _, v := range ticks {
		y := p.Y(v)
		fmt.Fprintf(&p.b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/><text x="%.1f" y="%.1f" text-anchor="end">%s</text>`,
			p.l, p.w-p.r, y, y, p.l-6, y+4, label(v))
	}
	fmt.Fprintf(&p.b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, p.l, p.l, float64(p.t), p.h-p.bt)
	fmt.Fprintf(&p.b, `<line class="axis" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/>`, p.l, p.w-p.r, p.h-p.bt, p.h-p.bt)
}

// secondsAxis labels the x axis in seconds of the run.
func (p *plot) secondsAxis() {
	step := niceCeil((p.x1 - p.x0) / 10)
	for v := p.x0; v <= p.x1+1e-9; v += step {
		x := p.X(v)
		fmt.Fprintf(&p.b, `<line class="grid" x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f"/><text x="%.1f" y="%.1f" text-anchor="middle">%gs</text>`,
			x, x, p.h-p.bt, p.h-p.bt+4, x, p.h-p.bt+16, v)
	}
	fmt.Fprintf(&p.b, `<text x="%.1f" y="%.1f" text-anchor="middle">seconds since start</text>`, (p.l+p.w-p.r)/2, p.h-4)
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

// minCovered is the least part of a second whose rate is shown: a run
// that ends a few milliseconds into a second has no meaningful rate there.
const minCovered = 0.2

// rateOf is second i's rate for the charts; ok is false for a sliver.
func rateOf(r *bench.Result, i int, n int64) (float64, bool) {
	f := covered(r, i)
	if f < minCovered {
		return float64(n), false
	}
	return float64(n) / f, true
}

// latencyTimeSVG draws each second's p50, p90, p99 and max.
func latencyTimeSVG(runs []Named) string {
	quantiles := []struct {
		name string
		q    float64
		dash string
	}{{"p50", 50, ""}, {"p90", 90, "6,3"}, {"p99", 99, "2,3"}, {"max", 100, "1,5"}}
	qColors := []string{"#1565c0", "#00897b", "#ef6c00", "#c62828"}
	var lo, hi, xs float64 = math.Inf(1), 0, 1
	for _, r := range runs {
		for _, s := range r.Seconds {
			if s.Latency != nil && s.Latency.TotalCount() > 0 {
				lo = math.Min(lo, ms(s.Latency.ValueAtQuantile(50)))
				hi = math.Max(hi, ms(s.MaxUs))
			}
		}
		xs = math.Max(xs, math.Max(float64(len(r.Seconds)), math.Ceil(span(r.Result))))
	}
	if hi == 0 {
		return emptySVG("latency-time", "no per-second latencies in this report")
	}
	p := newPlot("latency-time", 0, xs, lo, hi, true)
	p.warmup(runs)
	p.yAxis(func(v float64) string { return fmtMs(v) })
	p.secondsAxis()
	li := 0
	for ri, r := range runs {
		for qi, q := range quantiles {
			color, series := qColors[qi], q.name
			if len(runs) > 1 {
				color, series = runColor(ri), fmt.Sprintf("r%d-%s", ri, q.name)
			}
			var pts []string
			var d strings.Builder
			cmd := "M" // after a second without requests, a new segment
			for i, s := range r.Seconds {
				us, ok := s.Quantile(q.q)
				if !ok {
					cmd = "M"
					continue
				}
				v := ms(us)
				if q.q == 100 {
					v = ms(s.MaxUs)
				}
				x := p.X(float64(i) + covered(r.Result, i)/2)
				fmt.Fprintf(&d, "%s%.1f,%.1f ", cmd, x, p.Y(v))
				cmd = "L"
				pts = append(pts, strconv.FormatFloat(v, 'g', 4, 64))
			}
			fmt.Fprintf(&p.b, `<path class="series" data-series="%s" data-run="%d" data-q="%s" data-points="%d" data-values="%s" fill="none" stroke="%s" stroke-width="%s" stroke-dasharray="%s" d="%s"/>`,
				series, ri, q.name, len(pts), strings.Join(pts, " "), color, map[bool]string{true: "1.2", false: "2"}[q.name == "max"], q.dash, strings.TrimSpace(d.String()))
			label := q.name
			if len(runs) > 1 {
				label = shortName(r.Name, 12) + " " + q.name
			}
			p.legend(li, series, color, q.dash, label)
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

// throughputSVG draws requests per second: for one run, bars with the
// failures stacked by kind on the successes; for several, a line per run.
// A last second cut short is drawn at its rate, narrower, paler and
// outlined, and labelled partial.
func throughputSVG(runs []Named) string {
	var peak, xs float64 = 1, 1
	for _, r := range runs {
		for i, n := range r.PerSecond {
			if v, ok := rateOf(r.Result, i, n); ok {
				peak = math.Max(peak, v)
			}
		}
		xs = math.Max(xs, math.Max(float64(len(r.PerSecond)), math.Ceil(span(r.Result))))
	}
	if len(runs) == 1 && len(runs[0].PerSecond) == 0 {
		return emptySVG("throughput", "no requests")
	}
	p := newPlot("throughput", 0, xs, 0, peak, false)
	p.warmup(runs)
	p.yAxis(func(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) + "/s" })
	p.secondsAxis()
	if len(runs) == 1 {
		r := runs[0].Result
		kinds := slices.Sorted(maps.Keys(r.Failures))
		bw := p.X(1) - p.X(0)
		for i, n := range r.PerSecond {
			f := covered(r, i)
			var fails int64
			var s bench.Second
			if i < len(r.Seconds) {
				s = r.Seconds[i]
			}
			for _, k := range kinds {
				fails += s.Failures[k]
			}
			x, w := p.X(float64(i))+0.5, math.Max(bw*f-1, 1)
			base := p.Y(0)
			partial := f < 1
			bar := func(series, kind string, count int64, color string) {
				if count == 0 {
					return
				}
				v, _ := rateOf(r, i, count)
				hgt := math.Min(p.Y(0)-p.Y(v), base-p.t) // a sliver's count, never past the top
				fill := color
				title := fmt.Sprintf("second %d: %d %s", i+1, count, kind)
				if partial {
					title = fmt.Sprintf("second %d (partial: the run covered %.2f s of it): %d %s", i+1, f, count, kind)
					if f >= minCovered {
						title += fmt.Sprintf(", %.0f/s", float64(count)/f)
					}
				}
				fmt.Fprintf(&p.b, `<rect class="bar" data-series="%s" data-second="%d" data-kind="%s" data-n="%d" data-partial="%t" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"`,
					series, i, kind, count, partial, x, base-hgt, w, hgt, fill)
				if partial {
					p.b.WriteString(` fill-opacity="0.55" stroke="` + color + `" stroke-dasharray="3,2"`)
				}
				fmt.Fprintf(&p.b, `><title>%s</title></rect>`, title)
				base -= hgt
			}
			bar("ok", "ok", n-fails, okColor)
			for _, k := range kinds {
				bar("fail-"+k, k, s.Failures[k], kindColor(k))
			}
			if partial {
				fmt.Fprintf(&p.b, `<text class="partial" x="%.1f" y="%.1f" text-anchor="middle">partial (%.2f s)</text>`, x+w/2, base-4, f)
			}
		}
		p.legend(0, "ok", okColor, "", "ok")
		for i, k := range kinds {
			p.legend(i+1, "fail-"+k, kindColor(k), "", k)
		}
		return p.String()
	}
	li := 0
	for ri, r := range runs {
		d, points, total := p.ratePath(r.Result, func(i int) int64 { return r.PerSecond[i] })
		series := fmt.Sprintf("r%d", ri)
		fmt.Fprintf(&p.b, `<path class="series" data-series="%s" data-run="%d" data-points="%d" data-n="%d" fill="none" stroke="%s" stroke-width="2" d="%s"/>`,
			series, ri, points, total, runColor(ri), d)
		p.legend(li, series, runColor(ri), "", shortName(r.Name, 18))
		li++
		if r.Failed() == 0 {
			continue
		}
		// Its failures, all kinds together, dashed.
		d, points, failed := p.ratePath(r.Result, func(i int) int64 {
			var n int64
			if i < len(r.Seconds) {
				for _, v := range r.Seconds[i].Failures {
					n += v
				}
			}
			return n
		})
		series += "-fail"
		fmt.Fprintf(&p.b, `<path class="series" data-series="%s" data-run="%d" data-points="%d" data-n="%d" fill="none" stroke="%s" stroke-width="1.5" stroke-dasharray="5,3" d="%s"/>`,
			series, ri, points, failed, runColor(ri), d)
		p.legend(li, series, runColor(ri), "5,3", shortName(r.Name, 12)+" failed")
		li++
	}
	return p.String()
}

// ratePath is the path of count(i) per second over r's seconds, a point
// in the middle of the part of each second the run covered; a sliver of a
// last second has no rate and no point. total adds up every second.
func (p *plot) ratePath(r *bench.Result, count func(i int) int64) (d string, points int, total int64) {
	var b strings.Builder
	for i := range r.PerSecond {
		n := count(i)
		total += n
		v, ok := rateOf(r, i, n)
		if !ok {
			continue
		}
		cmd := "L"
		if points == 0 {
			cmd = "M"
		}
		fmt.Fprintf(&b, "%s%.1f,%.1f ", cmd, p.X(float64(i)+covered(r, i)/2), p.Y(v))
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
