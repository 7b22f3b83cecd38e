package bench

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"runtime"
	"slices"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Result is one run's measurements: the model every report renders.
type Result struct {
	Target         string
	Host, Port     string
	Path           string
	HTTP           bool
	ServerSoftware string
	DocLength      int64
	Concurrency    int
	Duration       time.Duration
	Requests       int64
	Failures       map[string]int64
	Non2xx         int64
	KeepAlive      int64
	BytesSent      int64
	BytesReceived  int64
	BodyBytes      int64
	Latency        *hdr.Histogram // µs, from start (or schedule) to last byte
	Connect        *hdr.Histogram // µs
	Wait           *hdr.Histogram // µs, request sent to first byte
	Processing     *hdr.Histogram // µs, total minus connect
	PerSecond      []int64
	MaxLag         time.Duration
	ClientCPU      time.Duration
	Rate           float64
	Interrupted    bool
	Engine         string // the engine that ran the load (goroutine or loop)
	Cut            int64  // requests in flight when the run ended (Ctrl-C, -d), not counted
	Hint           string // why the target may have kept silent, if it did
	FirstError     string // the error of the first failed request that had one

	// What ab's report shows by the options given, whatever was measured:
	// KeepAliveOn (-k) the Keep-Alive requests line, even at 0; SendsBody
	// (-p, -u) the Total body sent line and the sent and total transfer
	// rates; VariableLength (-l) "Document Length: Variable".
	KeepAliveOn, SendsBody, VariableLength bool
	// NoConfidence (ab's -S) prints the Connection Times table as min, avg
	// and max, without ab's notes on the median and mean; the text report
	// only.
	NoConfidence bool

	// Shard is the part of a sharded run this result covers (zero: all);
	// RunID names the run its shards share, and OptionsHash the load they
	// were all asked for, so merge can refuse to mix runs.
	Shard       Shard
	RunID       string
	OptionsHash string
	Idle        string    // why this shard sent nothing, if it is idle
	Start       time.Time // wall clock at the start of the run (warm-up included)
	Warmup      time.Duration
	Seconds     []Second // per-second series; index as PerSecond
	// StartSkew is how far apart a merged run's shards started.
	StartSkew time.Duration

	// A worker's tally feeds the run's timeline and --csv sink.
	tl   *timeline
	acc  secAcc
	sink func(Record)
	t0   time.Time
}

// emptyResult is a Result with nothing recorded yet.
func emptyResult() *Result {
	return &Result{Failures: map[string]int64{}, DocLength: -1,
		Latency: newHist(), Connect: newHist(), Wait: newHist(), Processing: newHist()}
}

func newResult(cfg *Config, info targetInfo) *Result {
	r := emptyResult()
	r.Target, r.Host, r.Port, r.Path, r.HTTP = cfg.Target, info.host, info.port, info.path, info.http
	r.Concurrency, r.Rate = cfg.Concurrency, cfg.Rate
	r.KeepAliveOn, r.SendsBody, r.VariableLength = cfg.KeepAlive, cfg.Body != nil, cfg.AnyLength && info.http
	return r
}

// absorb adds o's measurements to r: histograms, counts and client CPU add
// up, and so does concurrency (runs side by side); the longest duration and
// lag are kept; descriptions come from the first that has them.
func (r *Result) absorb(o *Result) { r.absorbAt(o, 0) }

// absorbAt is absorb with o's per-second series shifted by off seconds.
func (r *Result) absorbAt(o *Result, off int) {
	if r.Target == "" {
		r.Target, r.Host, r.Port, r.Path, r.HTTP = o.Target, o.Host, o.Port, o.Path, o.HTTP
	}
	switch {
	case r.Engine == "":
		r.Engine = o.Engine
	case o.Engine != "" && o.Engine != r.Engine && r.Engine != "mixed":
		r.Engine = "mixed"
	}
	if r.ServerSoftware == "" {
		r.ServerSoftware = o.ServerSoftware
	}
	if r.FirstError == "" {
		r.FirstError = o.FirstError
	}
	if r.DocLength < 0 {
		r.DocLength = o.DocLength
	}
	r.Latency.Merge(o.Latency)
	r.Connect.Merge(o.Connect)
	r.Wait.Merge(o.Wait)
	r.Processing.Merge(o.Processing)
	r.Requests += o.Requests
	r.Cut += o.Cut
	r.Interrupted = r.Interrupted || o.Interrupted
	r.KeepAliveOn = r.KeepAliveOn || o.KeepAliveOn
	r.SendsBody = r.SendsBody || o.SendsBody
	r.VariableLength = r.VariableLength || o.VariableLength
	r.Non2xx += o.Non2xx
	r.KeepAlive += o.KeepAlive
	r.BytesSent += o.BytesSent
	r.BytesReceived += o.BytesReceived
	r.BodyBytes += o.BodyBytes
	r.Concurrency += o.Concurrency
	r.ClientCPU += o.ClientCPU
	r.Duration = max(r.Duration, o.Duration)
	r.MaxLag = max(r.MaxLag, o.MaxLag)
	for k, v := range o.Failures {
		r.Failures[k] += v
	}
	for i, n := range o.PerSecond {
		for len(r.PerSecond) <= i+off {
			r.PerSecond = append(r.PerSecond, 0)
		}
		r.PerSecond[i+off] += n
	}
	for i, s := range o.Seconds {
		r.Seconds = addSecond(r.Seconds, i+off, s)
	}
}

// Failed returns the number of failed requests.
func (r *Result) Failed() int64 {
	var n int64
	for _, v := range r.Failures {
		n += v
	}
	return n
}

// RPS returns requests per second.
func (r *Result) RPS() float64 {
	if r.Duration <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Duration.Seconds()
}

func ms(us int64) float64 { return float64(us) / 1000 }

// WriteText writes ab's report, line for line in ab's layout (minus ab's
// banner, which would claim to be ApacheBench), so a parser of ab's output
// reads it unchanged: the lines ab prints only in some runs (Non-2xx,
// Keep-Alive, Total body sent, the rates, the tables) appear exactly when
// ab's would. sockit's own lines are WriteExtras'.
func (r *Result) WriteText(w io.Writer) error {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	if r.HTTP {
		p("Server Software:        %s\n", r.ServerSoftware)
	}
	p("Server Hostname:        %s\n", r.Host)
	p("Server Port:            %s\n\n", r.Port)
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
		c, rcv, l, e := r.abFailures()
		p("   (Connect: %d, Receive: %d, Length: %d, Exceptions: %d)\n", c, rcv, l, e)
	}
	if n := r.Failures[FailWrite]; n > 0 {
		p("Write errors:           %d\n", n)
	}
	if r.Non2xx > 0 {
		p("Non-2xx responses:      %d\n", r.Non2xx)
	}
	if r.KeepAliveOn && r.HTTP || r.KeepAlive > 0 {
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
		return nil // ab prints no tables without a completed request
	}
	// ab's formats: a 12-column label, then %5 %4 %5.1f %6 %7.
	p("\nConnection Times (ms)\n")
	if r.NoConfidence {
		// ab -S: "%5 %5%5", min, mean and max (no space before max).
		p("              min   avg   max\n")
		for _, row := range []struct {
			name string
			h    *hdr.Histogram
		}{{"Connect", r.Connect}, {"Processing", r.Processing}, {"Waiting", r.Wait}, {"Total", r.Latency}} {
			p("%-12s%5.0f %5.0f%5.0f\n", row.name+":", ms(row.h.Min()), row.h.Mean()/1000, ms(row.h.Max()))
		}
		return r.writePercentiles(w)
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
	return r.writePercentiles(w)
}

// writePercentiles is ab's last table, for more than one request.
func (r *Result) writePercentiles(w io.Writer) error {
	if r.Requests < 2 {
		return nil // no percentiles of one request
	}
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	p("\nPercentage of the requests served within a certain time (ms)\n")
	for _, q := range []float64{50, 66, 75, 80, 90, 95, 98, 99} {
		p("  %2.0f%%  %5.0f\n", q, ms(r.Latency.ValueAtQuantile(q)))
	}
	p(" 100%%  %5.0f (longest request)\n", ms(r.Latency.Max()))
	return nil
}

// abFailures sorts the failure kinds into ab's four: Connect, Receive
// (read errors and timeouts), Length and Exceptions (the rest).
func (r *Result) abFailures() (connect, receive, length, except int64) {
	for k, v := range r.Failures {
		switch k {
		case FailConnect:
			connect += v
		case FailRead, FailTimeout:
			receive += v
		case FailLength:
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
func (r *Result) WriteExtras(w io.Writer) error {
	p := func(format string, a ...any) { fmt.Fprintf(w, format, a...) }
	if r.Engine != "" {
		p("sockit: engine %s\n", r.Engine)
	}
	if r.Failed() > 0 {
		p("sockit: failures by kind:")
		for _, k := range slices.Sorted(maps.Keys(r.Failures)) {
			p(" %s %d", k, r.Failures[k])
		}
		p("\n")
		if r.FirstError != "" {
			p("sockit: first failure: %s\n", r.FirstError)
		}
	}
	if r.Requests > 0 {
		p("sockit: p99.9 %.3f ms, p99.99 %.3f ms, max %.3f ms (HDR histogram, µs resolution)\n",
			ms(r.Latency.ValueAtQuantile(99.9)), ms(r.Latency.ValueAtQuantile(99.99)), ms(r.Latency.Max()))
	}
	if r.ClientCPU > 0 && r.Requests > 0 {
		p("sockit: client CPU %.3f s, %.0f requests per CPU-second\n", r.ClientCPU.Seconds(), float64(r.Requests)/r.ClientCPU.Seconds())
	}
	for _, warn := range r.Warnings() {
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
	return nil
}

// Warnings says when the generator itself may have been the bottleneck.
func (r *Result) Warnings() []string {
	var out []string
	if r.Rate > 0 && r.MaxLag > 10*time.Millisecond {
		out = append(out, fmt.Sprintf("requests started up to %v behind schedule: the generator could not keep --rate %.0f (latency includes the lag)", r.MaxLag.Round(time.Millisecond), r.Rate))
	}
	if r.StartSkew > time.Second {
		out = append(out, fmt.Sprintf("the shards started up to %v apart: the duration spans from the first start to the last end, so the rate is below what the shards held together", r.StartSkew.Round(time.Millisecond)))
	}
	if r.Duration > 0 && r.ClientCPU.Seconds() > 0.9*r.Duration.Seconds()*float64(numCPU()) {
		out = append(out, "the generator used nearly all CPU: it may be the bottleneck, not the server")
	}
	return out
}

// JSON is the --json form; the histograms are HDR V2 encodings (base64),
// so reports from several machines merge exactly.
type JSON struct {
	// SchemaVersion numbers this layout: a field's meaning never changes
	// within one; fields are only added.
	SchemaVersion int              `json:"schema_version"`
	Version       string           `json:"version,omitempty"` // sockit's, of the run
	Target        string           `json:"target"`
	Engine        string           `json:"engine,omitempty"`
	Requests      int64            `json:"requests"`
	Failures      map[string]int64 `json:"failures"`
	Non2xx        int64            `json:"non_2xx"`
	Concurrency   int              `json:"concurrency"`
	DurationS     float64          `json:"duration_s"`
	RPS           float64          `json:"rps"`
	BytesSent     int64            `json:"bytes_sent"`
	BytesReceived int64            `json:"bytes_received"`
	LatencyMs     LatencyMs        `json:"latency_ms"`
	ClientCPUS    float64          `json:"client_cpu_s"`
	PerSecond     []int64          `json:"per_second"`
	Histogram     string           `json:"histogram"`
	ConnectHist   string           `json:"connect_histogram"`
	WaitHist      string           `json:"wait_histogram"`
	ProcHist      string           `json:"processing_histogram"`
	Server        string           `json:"server,omitempty"`
	Host          string           `json:"host"`
	Port          string           `json:"port"`
	Path          string           `json:"path"`
	HTTP          bool             `json:"http"`
	DocLength     int64            `json:"doc_length"`
	KeepAlive     int64            `json:"keep_alive"`
	KeepAliveOn   bool             `json:"keep_alive_on,omitempty"`   // -k
	SendsBody     bool             `json:"sends_body,omitempty"`      // -p, -u
	VariableLen   bool             `json:"variable_length,omitempty"` // -l
	BodyBytes     int64            `json:"body_bytes"`
	Shard         *ShardJSON       `json:"shard,omitempty"`
	RunID         string           `json:"run_id,omitempty"`
	OptionsHash   string           `json:"options_hash,omitempty"`
	Idle          string           `json:"idle,omitempty"`
	Start         *time.Time       `json:"start,omitempty"`
	WarmupS       float64          `json:"warmup_s,omitempty"`
	Seconds       []SecondJSON     `json:"seconds,omitempty"`
	StartSkewS    float64          `json:"start_skew_s,omitempty"`
	Interrupted   bool             `json:"interrupted,omitempty"`
	Cut           int64            `json:"cut,omitempty"` // in flight at the end, not counted
	Hint          string           `json:"hint,omitempty"`
	FirstError    string           `json:"first_error,omitempty"` // why the first failed request failed
}

// SchemaVersion is the --json layout's version.
const SchemaVersion = 1

// Version is sockit's version, written into every --json report; the
// command sets it.
var Version string

// ShardJSON is Shard in a report: index is 1-based.
type ShardJSON struct {
	Index int `json:"index"`
	Count int `json:"count"`
}

// SecondJSON is one Second: its latency histogram in HDR V2 encoding.
type SecondJSON struct {
	Failures  map[string]int64 `json:"failures,omitempty"`
	MaxUs     int64            `json:"max_us"`
	Histogram string           `json:"histogram,omitempty"`
}

// LatencyMs summarises the latency histogram.
type LatencyMs struct {
	Min   float64 `json:"min"`
	Mean  float64 `json:"mean"`
	Stdev float64 `json:"stdev"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P99   float64 `json:"p99"`
	P999  float64 `json:"p999"`
	P9999 float64 `json:"p9999"`
	Max   float64 `json:"max"`
}

func encodeHist(h *hdr.Histogram) string {
	b, err := h.EncodeV2()
	if err != nil {
		return ""
	}
	return string(b)
}

// ToJSON converts the result.
func (r *Result) ToJSON() JSON {
	h := r.Latency
	return JSON{
		SchemaVersion: SchemaVersion, Version: Version, Interrupted: r.Interrupted, Cut: r.Cut, Hint: r.Hint, FirstError: r.FirstError,
		Target: r.Target, Engine: r.Engine, Requests: r.Requests, Failures: r.Failures, Non2xx: r.Non2xx,
		Concurrency: r.Concurrency, DurationS: r.Duration.Seconds(), RPS: r.RPS(),
		BytesSent: r.BytesSent, BytesReceived: r.BytesReceived,
		LatencyMs: LatencyMs{ms(h.Min()), h.Mean() / 1000, h.StdDev() / 1000, ms(h.ValueAtQuantile(50)),
			ms(h.ValueAtQuantile(90)), ms(h.ValueAtQuantile(99)), ms(h.ValueAtQuantile(99.9)),
			ms(h.ValueAtQuantile(99.99)), ms(h.Max())},
		ClientCPUS: r.ClientCPU.Seconds(), PerSecond: r.PerSecond,
		Histogram: encodeHist(h), ConnectHist: encodeHist(r.Connect), WaitHist: encodeHist(r.Wait), ProcHist: encodeHist(r.Processing),
		Server: r.ServerSoftware, Host: r.Host, Port: r.Port, Path: r.Path, HTTP: r.HTTP,
		DocLength: r.DocLength, KeepAlive: r.KeepAlive, BodyBytes: r.BodyBytes,
		KeepAliveOn: r.KeepAliveOn, SendsBody: r.SendsBody, VariableLen: r.VariableLength,
		RunID: r.RunID, OptionsHash: r.OptionsHash, Idle: r.Idle, WarmupS: r.Warmup.Seconds(),
		Shard: r.shardJSON(), Start: r.startJSON(), Seconds: r.secondsJSON(), StartSkewS: r.StartSkew.Seconds(),
	}
}

func (r *Result) shardJSON() *ShardJSON {
	if r.Shard.Count == 0 {
		return nil
	}
	return &ShardJSON{r.Shard.Index, r.Shard.Count}
}

func (r *Result) startJSON() *time.Time {
	if r.Start.IsZero() {
		return nil
	}
	t := r.Start.UTC()
	return &t
}

func (r *Result) secondsJSON() []SecondJSON {
	out := make([]SecondJSON, len(r.Seconds))
	for i, s := range r.Seconds {
		out[i] = SecondJSON{Failures: s.Failures, MaxUs: s.MaxUs}
		if s.Latency != nil && s.Latency.TotalCount() > 0 {
			out[i].Histogram = encodeHist(s.Latency)
		}
	}
	return out
}

// WriteJSON writes the --json report.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r.ToJSON())
}

// FromJSON rebuilds a Result from a --json report, histograms included.
func FromJSON(data []byte) (*Result, error) {
	var j JSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("not a sockit bench JSON report: %w", err)
	}
	r := &Result{Target: j.Target, Engine: j.Engine, Requests: j.Requests, Failures: j.Failures, Non2xx: j.Non2xx,
		Concurrency: j.Concurrency, BytesSent: j.BytesSent, BytesReceived: j.BytesReceived,
		ClientCPU: time.Duration(j.ClientCPUS * float64(time.Second)), PerSecond: j.PerSecond,
		ServerSoftware: j.Server, Host: j.Host, Port: j.Port, Path: j.Path, HTTP: j.HTTP,
		DocLength: j.DocLength, KeepAlive: j.KeepAlive, BodyBytes: j.BodyBytes,
		KeepAliveOn: j.KeepAliveOn, SendsBody: j.SendsBody, VariableLength: j.VariableLen, FirstError: j.FirstError}
	if math.IsNaN(j.DurationS) || j.DurationS < 0 || j.DurationS > 1e9 || j.Requests < 0 {
		return nil, errors.New("report has an impossible duration or count")
	}
	r.Duration = time.Duration(j.DurationS * float64(time.Second))
	if r.Failures == nil {
		r.Failures = map[string]int64{}
	}
	var err error
	for _, h := range []struct {
		dst **hdr.Histogram
		src string
	}{{&r.Latency, j.Histogram}, {&r.Connect, j.ConnectHist}, {&r.Wait, j.WaitHist}, {&r.Processing, j.ProcHist}} {
		if *h.dst, err = decodeHist(h.src); err != nil {
			return nil, err
		}
	}
	r.RunID, r.OptionsHash, r.Idle = j.RunID, j.OptionsHash, j.Idle
	r.Interrupted, r.Cut, r.Hint = j.Interrupted, j.Cut, j.Hint
	if j.Shard != nil {
		if j.Shard.Count < 1 || j.Shard.Index < 1 || j.Shard.Index > j.Shard.Count {
			return nil, fmt.Errorf("report's shard %d/%d is impossible", j.Shard.Index, j.Shard.Count)
		}
		r.Shard = Shard{j.Shard.Index, j.Shard.Count}
	}
	if j.Start != nil {
		r.Start = *j.Start
	}
	if math.IsNaN(j.WarmupS) || j.WarmupS < 0 || j.WarmupS > 1e9 || len(j.Seconds) > 1e7 {
		return nil, errors.New("report has an impossible warm-up or series")
	}
	r.Warmup = time.Duration(j.WarmupS * float64(time.Second))
	if !math.IsNaN(j.StartSkewS) && j.StartSkewS > 0 && j.StartSkewS < 1e9 {
		r.StartSkew = time.Duration(j.StartSkewS * float64(time.Second))
	}
	r.Seconds = make([]Second, len(j.Seconds))
	for i, s := range j.Seconds {
		r.Seconds[i] = Second{Failures: s.Failures, MaxUs: s.MaxUs, Latency: newSecondHist()}
		if s.Histogram != "" {
			h, err := decodeHist(s.Histogram)
			if err != nil {
				return nil, fmt.Errorf("second %d: %w", i, err)
			}
			r.Seconds[i].Latency = h
		}
	}
	if r.Latency.TotalCount() != r.Requests {
		return nil, fmt.Errorf("report's histogram holds %d requests, its count says %d", r.Latency.TotalCount(), r.Requests)
	}
	return r, nil
}

func decodeHist(s string) (*hdr.Histogram, error) {
	if s == "" {
		return newHist(), nil
	}
	h, err := hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("histogram does not decode: %w", err)
	}
	return h, nil
}

// Merge combines reports of runs made at the same time (on several
// machines): counts and histograms add, the duration is the longest, and
// concurrency adds up.
func Merge(rs ...*Result) *Result {
	out := emptyResult()
	for _, r := range rs {
		out.absorb(r)
	}
	return out
}

func numCPU() int { return runtime.NumCPU() }
