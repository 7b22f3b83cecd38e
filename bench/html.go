package bench

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"strings"
)

// WriteHTML writes one self-contained page (inline SVG, no scripts, fonts
// or network fetches): the latency percentile curve on a log scale, and
// requests completed per second.
func (r *Result) WriteHTML(w io.Writer) error {
	data := struct {
		Title, Summary string
		Latency, Tput  template.HTML
	}{
		Title: "sockit bench " + r.Target,
		Summary: fmt.Sprintf("%d requests, %d failed, %.2f s, %.1f req/s; p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms, max %.3f ms",
			r.Requests, r.Failed(), r.Duration.Seconds(), r.RPS(), ms(r.Latency.ValueAtQuantile(50)),
			ms(r.Latency.ValueAtQuantile(99)), ms(r.Latency.ValueAtQuantile(99.9)), ms(r.Latency.Max())),
		Latency: template.HTML(r.percentileSVG()),
		Tput:    template.HTML(r.throughputSVG()),
	}
	return htmlPage.Execute(w, data)
}

var htmlPage = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<style>body{font-family:sans-serif;margin:2em;color:#222}svg{background:#fafafa;border:1px solid #ddd}
text{font-size:11px;fill:#444}</style></head>
<body><h1>{{.Title}}</h1><p id="summary">{{.Summary}}</p>
<h2>Latency by percentile</h2>{{.Latency}}
<h2>Requests completed per second</h2>{{.Tput}}
</body></html>
`))

const (
	svgW, svgH = 720, 300
	padL, padB = 60, 40
	padR       = 50 // room for the last axis label
)

// percentileSVG plots latency against percentile, the x axis in "nines"
// (0, 90, 99, 99.9, …) so the tail is visible.
func (r *Result) percentileSVG() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="latency" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d">`, svgW, svgH)
	h := r.Latency
	if h.TotalCount() == 0 {
		b.WriteString(`<text x="20" y="20">no requests</text></svg>`)
		return b.String()
	}
	maxNines := 5.0
	maxMs := math.Max(ms(h.Max()), 0.001)
	x := func(nines float64) float64 { return padL + nines/maxNines*float64(svgW-padL-padR) }
	y := func(v float64) float64 { return float64(svgH-padB) - v/maxMs*float64(svgH-padB-10) }
	var pts []string
	for i := 0; i <= 200; i++ {
		nines := maxNines * float64(i) / 200
		q := 100 * (1 - math.Pow(10, -nines))
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(nines), y(ms(h.ValueAtQuantile(q)))))
	}
	fmt.Fprintf(&b, `<polyline fill="none" stroke="#1565c0" stroke-width="2" points="%s"/>`, strings.Join(pts, " "))
	for n := 0; n <= int(maxNines); n++ {
		label := fmt.Sprintf("%g%%", 100*(1-math.Pow(10, -float64(n))))
		fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ccc"/><text x="%.1f" y="%d">%s</text>`,
			x(float64(n)), 10, x(float64(n)), svgH-padB, x(float64(n))-10, svgH-padB+15, label)
	}
	for i := 0; i <= 4; i++ {
		v := maxMs * float64(i) / 4
		fmt.Fprintf(&b, `<text x="5" y="%.1f">%.2f ms</text>`, y(v)+4, v)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func (r *Result) throughputSVG() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg id="throughput" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d">`, svgW, svgH)
	n := len(r.PerSecond)
	if n == 0 {
		b.WriteString(`<text x="20" y="20">no requests</text></svg>`)
		return b.String()
	}
	var peak int64 = 1
	for _, v := range r.PerSecond {
		peak = max(peak, v)
	}
	bw := float64(svgW-padL-padR) / float64(n)
	for i, v := range r.PerSecond {
		hgt := float64(v) / float64(peak) * float64(svgH-padB-10)
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="#2e7d32"><title>second %d: %d requests</title></rect>`,
			padL+float64(i)*bw, float64(svgH-padB)-hgt, math.Max(bw-1, 1), hgt, i+1, v)
	}
	fmt.Fprintf(&b, `<text x="5" y="20">%d/s</text><text x="%d" y="%d">seconds (%d)</text>`, peak, padL, svgH-padB+15, n)
	b.WriteString(`</svg>`)
	return b.String()
}
