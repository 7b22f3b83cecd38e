package report

import (
	"fmt"
	"html"
	"io"
	"math"

	"github.com/sockit/sockit/bench"
)

// WriteABHTML writes ab's -w report: the summary as rows of an HTML table,
// row for row as ab 2.3 prints them (its -x, -y and -z attributes left at
// their defaults: none on the table and rows, bgcolor=white on the cells),
// without ab's banner paragraph. As in ab, the connection times are min,
// mean and max of connect, processing (total minus connect) and total,
// and the failures are broken down as Connect, Length and Exceptions
// (receive errors among the exceptions).
func WriteABHTML(w io.Writer, r *bench.Result) error {
	ew := &errWriter{w: w}
	row := func(label, value string) {
		ew.printf("<tr ><th colspan=2 bgcolor=white>%s</th><td colspan=2 bgcolor=white>%s</td></tr>\n", label, value)
	}
	ew.printf("<table >\n")
	row("Server Software:", html.EscapeString(r.ServerSoftware))
	row("Server Hostname:", html.EscapeString(r.Host))
	row("Server Port:", html.EscapeString(r.Port))
	if r.HTTP {
		row("Document Path:", html.EscapeString(r.Path))
		if r.VariableLength {
			row("Document Length:", "Variable")
		} else {
			row("Document Length:", fmt.Sprintf("%d bytes", max(r.DocLength, 0)))
		}
	} else {
		row("Protocol:", html.EscapeString(r.Path))
	}
	row("Concurrency Level:", fmt.Sprint(r.Concurrency))
	row("Time taken for tests:", fmt.Sprintf("%.3f seconds", r.Duration.Seconds()))
	row("Complete requests:", fmt.Sprint(r.Requests))
	row("Failed requests:", fmt.Sprint(r.Failed()))
	if r.Failed() > 0 {
		c, rcv, l, e := abFailures(r)
		ew.printf("<tr ><td colspan=4 bgcolor=white >   (Connect: %d, Length: %d, Exceptions: %d)</td></tr>\n", c, l, e+rcv)
	}
	if r.Non2xx > 0 {
		row("Non-2xx responses:", fmt.Sprint(r.Non2xx))
	}
	if r.KeepAliveOn {
		row("Keep-Alive requests:", fmt.Sprint(r.KeepAlive))
	}
	row("Total transferred:", fmt.Sprintf("%d bytes", r.BytesReceived))
	if r.SendsBody && r.HTTP {
		row("Total body sent:", fmt.Sprint(r.BytesSent))
	}
	if r.HTTP {
		row("HTML transferred:", fmt.Sprintf("%d bytes", r.BodyBytes))
	}
	if secs := r.Duration.Seconds(); secs > 0 {
		row("Requests per second:", fmt.Sprintf("%.2f", float64(r.Requests)/secs))
		row("Transfer rate:", fmt.Sprintf("%.2f kb/s received", float64(r.BytesReceived)/1024/secs))
		if r.SendsBody && r.HTTP {
			ew.printf("<tr ><td colspan=2 bgcolor=white>&nbsp;</td><td colspan=2 bgcolor=white>%.2f kb/s sent</td></tr>\n", float64(r.BytesSent)/1024/secs)
			ew.printf("<tr ><td colspan=2 bgcolor=white>&nbsp;</td><td colspan=2 bgcolor=white>%.2f kb/s total</td></tr>\n", float64(r.BytesReceived+r.BytesSent)/1024/secs)
		}
	}
	if r.Requests > 0 {
		// ab's figures: whole milliseconds, the means of the rounded sums.
		n := float64(r.Latency.TotalCount())
		round := func(us int64) int64 { return int64(math.Round(float64(us) / 1000)) }
		conMin, conMax, totMin, totMax := round(r.Connect.Min()), round(r.Connect.Max()), round(r.Latency.Min()), round(r.Latency.Max())
		conAvg := int64(math.Round(r.Connect.Mean()*n/1000)) / int64(n)
		totAvg := int64(math.Round(r.Latency.Mean()*n/1000)) / int64(n)
		ew.printf("<tr ><th bgcolor=white colspan=4>Connection Times (ms)</th></tr>\n")
		ew.printf("<tr ><th bgcolor=white>&nbsp;</th> <th bgcolor=white>min</th>   <th bgcolor=white>avg</th>   <th bgcolor=white>max</th></tr>\n")
		times := func(label string, lo, avg, hi int64) {
			ew.printf("<tr ><th bgcolor=white>%s</th><td bgcolor=white>%5d</td><td bgcolor=white>%5d</td><td bgcolor=white>%5d</td></tr>\n", label, lo, avg, hi)
		}
		times("Connect:", conMin, conAvg, conMax)
		times("Processing:", totMin-conMin, totAvg-conAvg, totMax-conMax)
		times("Total:", totMin, totAvg, totMax)
	}
	ew.printf("</table>\n")
	return ew.err
}

// errWriter keeps the first write error, so a writer of many lines checks
// once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
