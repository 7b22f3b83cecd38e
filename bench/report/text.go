package report

import (
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"runtime"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sockit/sockit/bench"
)

// TextOptions are the choices of ab's text report that the run itself
// does not make.
type TextOptions struct {
	// NoConfidence is ab's -S: the Connection Times table as min, avg and
	// max, without the standard deviation, the median and ab's notes.
	NoConfidence bool
}

func ms(us int64) float64 { return float64(us) / 1000 }

// WriteText writes ab's report, line for line in ab's layout (minus ab's
// banner, which would claim to be ApacheBench), so a parser of ab's output
// reads it unchanged: the lines ab prints only in some runs (Non-2xx,
// Keep-Alive, Total body sent, the rates, the tables) appear exactly when
// ab's would. sockit's own lines are WriteExtras'.
func WriteText(w io.Writer, r *bench.Result, opt TextOptions) error {
	ew := &errWriter{w: w}
	p := ew.printf
	if r.HTTP {
		p("Server Software:        %s\n", r.ServerSoftware)
	}
	p("Server Hostname:        %s\n", r.Host)
	p("Server Port:            %s\n", r.Port)
	if r.TLS.Protocol != "" { // as ab over https
		p("SSL/TLS Protocol:       %s\n", r.TLS.Protocol)
		if r.TLS.TempKey != "" {
			p("Server Temp Key:        %s\n", r.TLS.TempKey)
		}
		if r.TLS.ServerName != "" {
			p("TLS Server Name:        %s\n", r.TLS.ServerName)
		}
	}
	if r.Protocol != "" { // HTTP/2, in h2load's words
		p("Application protocol:   %s\n", r.Protocol)
	}
	p("\n")
	switch {
	case !r.HTTP:
		p("Protocol:               %s\n\n", r.Path)
	case r.VariableLength:
		p("Document Path:          %s\n", r.Path)
		p("Document Length:        Variable\n\n")
	default:
		p("Document Path:          %s\n", r.Path)
		p("Document Length:        %d bytes\n\n", max(r.DocLength, 0))
	}
	p("Concurrency Level:      %d\n", r.Concurrency)
	p("Time taken for tests:   %.3f seconds\n", r.Duration.Seconds())
	p("Complete requests:      %d\n", r.Requests)
	p("Failed requests:        %d\n", r.Failed())
	if r.Failed() > 0 {
		c, rcv, l, e := abFailures(r)
		p("   (Connect: %d, Receive: %d, Length: %d, Exceptions: %d)\n", c, rcv, l, e)
	}
	if n := r.Failures[bench.FailWrite]; n > 0 {
		p("Write errors:           %d\n", n)
	}
	if r.Non2xx > 0 {
		p("Non-2xx responses:      %d\n", r.Non2xx)
	}
	if r.KeepAliveOn { // as ab: with -k only, even at 0
		p("Keep-Alive requests:    %d\n", r.KeepAlive)
	}
	p("Total transferred:      %d bytes\n", r.BytesReceived)
	if r.SendsBody && r.HTTP {
		p("Total body sent:        %d\n", r.BytesSent) // ab's line has no unit
	}
	if r.HTTP {
		p("HTML transferred:       %d bytes\n", r.BodyBytes)
	}
	// ab prints the rates only when there is something to divide.
	if secs := r.Duration.Seconds(); secs > 0 && r.Requests > 0 {
		p("Requests per second:    %.2f [#/sec] (mean)\n", r.RPS())
		p("Time per request:       %.3f [ms] (mean)\n", float64(r.Concurrency)*secs*1000/float64(r.Requests))
		p("Time per request:       %.3f [ms] (mean, across all concurrent requests)\n", secs*1000/float64(r.Requests))
		p("Transfer rate:          %.2f [Kbytes/sec] received\n", float64(r.BytesReceived)/1024/secs)
		switch {
		case r.SendsBody && r.HTTP:
			p("                        %.2f kb/s sent\n", float64(r.BytesSent)/1024/secs)
			p("                        %.2f kb/s total\n", float64(r.BytesReceived+r.BytesSent)/1024/secs)
		case !r.HTTP && r.BytesSent > 0:
			p("                        %.2f kb/s sent\n", float64(r.BytesSent)/1024/secs)
		}
	}
	if r.Requests == 0 {
		return ew.err // ab prints no tables without a completed request
	}
	// ab's formats: a 12-column label, then %5 %4 %5.1f %6 %7.
	p("\nConnection Times (ms)\n")
	if opt.NoConfidence {
		// ab -S: "%5 %5%5", min, mean and max (no space before max).
		p("              min   avg   max\n")
		for _, row := range []struct {
			name string
			h    *hdr.Histogram
		}{{"Connect", r.Connect}, {"Processing", r.Processing}, {"Waiting", r.Wait}, {"Total", r.Latency}} {
			p("%-12s%5.0f %5.0f%5.0f\n", row.name+":", ms(row.h.Min()), row.h.Mean()/1000, ms(row.h.Max()))
		}
		writePercentiles(ew, r)
		return ew.err
	}
	p("              min  mean[+/-sd] median   max\n")
	row := func(name string, h *hdr.Histogram) {
		p("%-12s%5.0f %4.0f %5.1f %6.0f %7.0f\n", name+":", ms(h.Min()), h.Mean()/1000, h.StdDev()/1000,
			ms(h.ValueAtQuantile(50)), ms(h.Max()))
	}
	row("Connect", r.Connect)
	row("Processing", r.Processing)
	row("Waiting", r.Wait)
	row("Total", r.Latency)
	// ab's sanity notes, on the same figures the table shows.
	for _, c := range []struct {
		what string
		h    *hdr.Histogram
	}{{"the initial connection time", r.Connect}, {"the processing time", r.Processing},
		{"the waiting time", r.Wait}, {"the total time", r.Latency}} {
		d, sd := math.Abs(math.Round(c.h.Mean()/1000)-math.Round(ms(c.h.ValueAtQuantile(50)))), c.h.StdDev()/1000
		switch {
		case d > 2*sd:
			p("ERROR: The median and mean for %s are more than twice the standard\n"+
				"       deviation apart. These results are NOT reliable.\n", c.what)
		case d > sd:
			p("WARNING: The median and mean for %s are not within a normal deviation\n"+
				"        These results are probably not that reliable.\n", c.what)
		}
	}
	writePercentiles(ew, r)
	return ew.err
}

// writePercentiles is ab's last table, for more than one request.
func writePercentiles(ew *errWriter, r *bench.Result) {
	if r.Requests < 2 {
		return // no percentiles of one request
	}
	p := ew.printf
	p("\nPercentage of the requests served within a certain time (ms)\n")
	for _, q := range []float64{50, 66, 75, 80, 90, 95, 98, 99} {
		p("  %2.0f%%  %5.0f\n", q, ms(r.Latency.ValueAtQuantile(q)))
	}
	p(" 100%%  %5.0f (longest request)\n", ms(r.Latency.Max()))
}

// abFailures sorts the failure kinds into ab's four: Connect, Receive
// (read errors and timeouts), Length and Exceptions (the rest).
func abFailures(r *bench.Result) (connect, receive, length, except int64) {
	for k, v := range r.Failures {
		switch k {
		case bench.FailConnect:
			connect += v
		case bench.FailRead, bench.FailTimeout:
			receive += v
		case bench.FailLength:
			length += v
		default:
			except += v
		}
	}
	return
}

// WriteExtras writes what sockit measures beyond ab's report, each line
// prefixed "sockit: " (the command writes them to stderr): the engine, the
// failures by sockit's kinds, the tail percentiles, client CPU, warnings
// and how the run ended.
func WriteExtras(w io.Writer, r *bench.Result) error {
	ew := &errWriter{w: w}
	p := ew.printf
	if r.Engine != "" {
		p("sockit: engine %s\n", r.Engine)
	}
	if r.Failed() > 0 {
		p("sockit: failures by kind:")
		for _, k := range slices.Sorted(maps.Keys(r.Failures)) {
			p(" %s %d", k, r.Failures[k])
		}
		p("\n")
		for _, l := range FirstFailures(r) {
			p("sockit: %s\n", l)
		}
	}
	if l := NotHTTPNote(r); l != "" {
		p("sockit: %s\n", l)
	}
	if r.Requests > 0 {
		p("sockit: p99.9 %.3f ms, p99.99 %.3f ms, max %.3f ms (HDR histogram, µs resolution)\n",
			ms(r.Latency.ValueAtQuantile(99.9)), ms(r.Latency.ValueAtQuantile(99.99)), ms(r.Latency.Max()))
	}
	if n := r.HandshakesFull + r.HandshakesResumed; n > 0 && r.Handshake != nil {
		h := r.Handshake
		p("sockit: TLS handshakes %d (full %d, resumed %d): mean %.3f ms, p50 %.3f ms, p99 %.3f ms, max %.3f ms (part of Connect)\n",
			n, r.HandshakesFull, r.HandshakesResumed, h.Mean()/1000, ms(h.ValueAtQuantile(50)), ms(h.ValueAtQuantile(99)), ms(h.Max()))
	}
	if r.Protocol != "" && len(r.StreamsPerConn) > 0 {
		lo, hi := slices.Min(r.StreamsPerConn), slices.Max(r.StreamsPerConn)
		p("sockit: HTTP/2 (%s): %d connections, up to %d streams each at a time; requests per connection min %d, max %d\n",
			r.Protocol, len(r.StreamsPerConn), r.MaxStreams, lo, hi)
	}
	if r.ClientCPU > 0 && r.Requests > 0 {
		p("sockit: client CPU %.3f s, %.0f requests per CPU-second\n", r.ClientCPU.Seconds(), float64(r.Requests)/r.ClientCPU.Seconds())
	}
	for _, warn := range Warnings(r) {
		p("sockit: warning: %s\n", warn)
	}
	if r.Hint != "" {
		p("sockit: %s\n", r.Hint)
	}
	if r.Idle != "" {
		p("sockit: %s\n", r.Idle)
	}
	switch {
	case r.Shard.Count > 0:
		p("sockit: shard %s of run %q (load %s)\n", r.Shard, r.RunID, r.OptionsHash)
	case r.RunID != "":
		p("sockit: run %q (load %s)\n", r.RunID, r.OptionsHash)
	}
	if r.Interrupted {
		p("sockit: interrupted: the report covers the %d requests that completed; %d in flight were cut off and are not counted\n", r.Requests, r.Cut)
	}
	return ew.err
}

// FirstFailures says, for each kind of failure, why its first request
// failed ("first connect failure: connect to ...: connection refused"),
// where an error said why.
func FirstFailures(r *bench.Result) []string {
	if len(r.FirstErrors) == 0 {
		if r.FirstError != "" { // a report written before the kinds were kept
			return []string{"first failure: " + r.FirstError}
		}
		return nil
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(r.FirstErrors)) {
		out = append(out, fmt.Sprintf("first %s failure: %s", k, r.FirstErrors[k]))
	}
	return out
}

// NotHTTPNote says that replies to HTTP requests were not HTTP responses,
// which ab (and the report) count as complete non-2xx responses; when they
// were the request itself, sent back, it names the load that measures an
// echo server properly.
func NotHTTPNote(r *bench.Result) string {
	if r.NotHTTP == 0 {
		return ""
	}
	s := fmt.Sprintf("%d of %d replies were not HTTP responses", r.NotHTTP, r.Requests)
	if r.NotHTTP == r.Requests {
		s = fmt.Sprintf("the %d replies were not HTTP responses", r.NotHTTP)
	}
	if r.Echoed == r.NotHTTP {
		s += ": each was the request itself, sent back (an echo server?)"
	} else {
		s += fmt.Sprintf(" (the first began %q)", r.NotHTTPStart)
	}
	s += "; as ab does, the report counts each as a complete non-2xx response"
	if r.Echoed > 0 {
		s += fmt.Sprintf("; measure an echo server with: sockit bench --proto echo -c %d -n %d tcp://%s",
			max(r.Concurrency, 1), max(r.Requests, 1), net.JoinHostPort(r.Host, r.Port))
	}
	return s
}

// Warnings says when the generator itself may have been the bottleneck.
func Warnings(r *bench.Result) []string {
	var out []string
	if r.Rate > 0 && r.MaxLag > 10*time.Millisecond {
		out = append(out, fmt.Sprintf("requests started up to %v behind schedule: the generator could not keep --rate %.0f (latency includes the lag)", r.MaxLag.Round(time.Millisecond), r.Rate))
	}
	if r.StartSkew > time.Second {
		out = append(out, fmt.Sprintf("the shards started up to %v apart: the duration spans from the first start to the last end, so the rate is below what the shards held together", r.StartSkew.Round(time.Millisecond)))
	}
	if r.Duration > 0 && r.ClientCPU.Seconds() > 0.9*r.Duration.Seconds()*float64(runtime.NumCPU()) {
		out = append(out, "the generator used nearly all CPU: it may be the bottleneck, not the server")
	}
	return out
}
