package report

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/sockit/sockit/bench"
)

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
	// The TLS handshakes (https): their time, a phase of connect, and
	// their counts by kind; how the connections were secured.
	HandshakeHist     string     `json:"handshake_histogram,omitempty"`
	HandshakeMs       *LatencyMs `json:"handshake_ms,omitempty"`
	HandshakesFull    int64      `json:"handshakes_full,omitempty"`
	HandshakesResumed int64      `json:"handshakes_resumed,omitempty"`
	TLSProtocol       string     `json:"tls_protocol,omitempty"`
	TLSServerName     string     `json:"tls_server_name,omitempty"`
	TLSTempKey        string     `json:"tls_temp_key,omitempty"`
	// HTTP/2 runs: "h2" or "h2c", the streams asked for per connection,
	// and the requests each connection carried.
	Protocol       string       `json:"protocol,omitempty"`
	MaxStreams     int          `json:"max_concurrent_streams,omitempty"`
	StreamsPerConn []int64      `json:"streams_per_connection,omitempty"`
	Server         string       `json:"server,omitempty"`
	Host           string       `json:"host"`
	Port           string       `json:"port"`
	Path           string       `json:"path"`
	HTTP           bool         `json:"http"`
	DocLength      int64        `json:"doc_length"`
	KeepAlive      int64        `json:"keep_alive"`
	KeepAliveOn    bool         `json:"keep_alive_on,omitempty"`   // -k
	SendsBody      bool         `json:"sends_body,omitempty"`      // -p, -u
	VariableLen    bool         `json:"variable_length,omitempty"` // -l
	BodyBytes      int64        `json:"body_bytes"`
	Shard          *ShardJSON   `json:"shard,omitempty"`
	RunID          string       `json:"run_id,omitempty"`
	OptionsHash    string       `json:"options_hash,omitempty"`
	Idle           string       `json:"idle,omitempty"`
	Start          *time.Time   `json:"start,omitempty"`
	WarmupS        float64      `json:"warmup_s,omitempty"`
	Seconds        []SecondJSON `json:"seconds,omitempty"`
	// Tenths is the series of the run's first 5 s in 100 ms steps.
	Tenths      []SecondJSON `json:"tenths,omitempty"`
	StartSkewS  float64      `json:"start_skew_s,omitempty"`
	Interrupted bool         `json:"interrupted,omitempty"`
	Cut         int64        `json:"cut,omitempty"` // in flight at the end, not counted
	Hint        string       `json:"hint,omitempty"`
	FirstError  string       `json:"first_error,omitempty"` // why the first failed request failed
	// FirstErrors is each failure kind's first error, where one said why.
	FirstErrors map[string]string `json:"first_errors,omitempty"`
	// NotHTTP counts the replies that were not HTTP responses, Echoed
	// those that were the request sent back; NotHTTPStart is how the first
	// began.
	NotHTTP      int64  `json:"not_http,omitempty"`
	Echoed       int64  `json:"echoed,omitempty"`
	NotHTTPStart string `json:"not_http_start,omitempty"`
}

// SchemaVersion is the --json layout's version.
const SchemaVersion = 1

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

// latencyMs summarises h in milliseconds.
func latencyMs(h *hdr.Histogram) LatencyMs {
	return LatencyMs{ms(h.Min()), h.Mean() / 1000, h.StdDev() / 1000, ms(h.ValueAtQuantile(50)),
		ms(h.ValueAtQuantile(90)), ms(h.ValueAtQuantile(99)), ms(h.ValueAtQuantile(99.9)),
		ms(h.ValueAtQuantile(99.99)), ms(h.Max())}
}

// ToJSON converts the result.
func ToJSON(r *bench.Result) JSON {
	j := toJSON(r)
	if r.Handshake != nil && r.Handshake.TotalCount() > 0 {
		hs := latencyMs(r.Handshake)
		j.HandshakeHist, j.HandshakeMs = encodeHist(r.Handshake), &hs
	}
	j.HandshakesFull, j.HandshakesResumed = r.HandshakesFull, r.HandshakesResumed
	j.TLSProtocol, j.TLSServerName, j.TLSTempKey = r.TLS.Protocol, r.TLS.ServerName, r.TLS.TempKey
	j.Protocol, j.MaxStreams, j.StreamsPerConn = r.Protocol, r.MaxStreams, r.StreamsPerConn
	return j
}

func toJSON(r *bench.Result) JSON {
	h := r.Latency
	return JSON{
		SchemaVersion: SchemaVersion, Version: r.Version, Interrupted: r.Interrupted, Cut: r.Cut, Hint: r.Hint, FirstError: r.FirstError,
		Target: r.Target, Engine: r.Engine, Requests: r.Requests, Failures: r.Failures, Non2xx: r.Non2xx,
		Concurrency: r.Concurrency, DurationS: r.Duration.Seconds(), RPS: r.RPS(),
		BytesSent: r.BytesSent, BytesReceived: r.BytesReceived,
		LatencyMs:  latencyMs(h),
		ClientCPUS: r.ClientCPU.Seconds(), PerSecond: r.PerSecond,
		Histogram: encodeHist(h), ConnectHist: encodeHist(r.Connect), WaitHist: encodeHist(r.Wait), ProcHist: encodeHist(r.Processing),
		Server: r.ServerSoftware, Host: r.Host, Port: r.Port, Path: r.Path, HTTP: r.HTTP,
		DocLength: r.DocLength, KeepAlive: r.KeepAlive, BodyBytes: r.BodyBytes,
		KeepAliveOn: r.KeepAliveOn, SendsBody: r.SendsBody, VariableLen: r.VariableLength,
		RunID: r.RunID, OptionsHash: r.OptionsHash, Idle: r.Idle, WarmupS: r.Warmup.Seconds(),
		Shard: shardJSON(r), Start: startJSON(r), Seconds: seriesJSON(r.Seconds), Tenths: seriesJSON(r.Tenths), StartSkewS: r.StartSkew.Seconds(),
		FirstErrors: r.FirstErrors, NotHTTP: r.NotHTTP, Echoed: r.Echoed, NotHTTPStart: r.NotHTTPStart,
	}
}

func shardJSON(r *bench.Result) *ShardJSON {
	if r.Shard.Count == 0 {
		return nil
	}
	return &ShardJSON{r.Shard.Index, r.Shard.Count}
}

func startJSON(r *bench.Result) *time.Time {
	if r.Start.IsZero() {
		return nil
	}
	t := r.Start.UTC()
	return &t
}

func seriesJSON(secs []bench.Second) []SecondJSON {
	if len(secs) == 0 {
		return nil
	}
	out := make([]SecondJSON, len(secs))
	for i, s := range secs {
		out[i] = SecondJSON{Failures: s.Failures, MaxUs: s.MaxUs}
		if s.Latency != nil && s.Latency.TotalCount() > 0 {
			out[i].Histogram = encodeHist(s.Latency)
		}
	}
	return out
}

// WriteJSON writes the --json report.
func WriteJSON(w io.Writer, r *bench.Result) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(ToJSON(r))
}

// FromJSON rebuilds a Result from a --json report, histograms included.
func FromJSON(data []byte) (*bench.Result, error) {
	var j JSON
	if err := json.Unmarshal(data, &j); err != nil {
		return nil, fmt.Errorf("not a sockit bench JSON report: %w", err)
	}
	r := &bench.Result{Target: j.Target, Engine: j.Engine, Requests: j.Requests, Failures: j.Failures, Non2xx: j.Non2xx,
		Concurrency: j.Concurrency, BytesSent: j.BytesSent, BytesReceived: j.BytesReceived,
		ClientCPU: time.Duration(j.ClientCPUS * float64(time.Second)), PerSecond: j.PerSecond,
		ServerSoftware: j.Server, Host: j.Host, Port: j.Port, Path: j.Path, HTTP: j.HTTP,
		DocLength: j.DocLength, KeepAlive: j.KeepAlive, BodyBytes: j.BodyBytes,
		KeepAliveOn: j.KeepAliveOn, SendsBody: j.SendsBody, VariableLength: j.VariableLen, FirstError: j.FirstError,
		FirstErrors: j.FirstErrors, NotHTTP: j.NotHTTP, Echoed: j.Echoed, NotHTTPStart: j.NotHTTPStart, Version: j.Version}
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
	}{{&r.Latency, j.Histogram}, {&r.Connect, j.ConnectHist}, {&r.Wait, j.WaitHist}, {&r.Processing, j.ProcHist},
		{&r.Handshake, j.HandshakeHist}} {
		if *h.dst, err = decodeHist(h.src); err != nil {
			return nil, err
		}
	}
	if j.HandshakesFull < 0 || j.HandshakesResumed < 0 || r.Handshake.TotalCount() != j.HandshakesFull+j.HandshakesResumed {
		return nil, fmt.Errorf("report's handshake histogram holds %d, its counts say %d", r.Handshake.TotalCount(), j.HandshakesFull+j.HandshakesResumed)
	}
	r.HandshakesFull, r.HandshakesResumed = j.HandshakesFull, j.HandshakesResumed
	r.TLS = bench.TLSInfo{Protocol: j.TLSProtocol, ServerName: j.TLSServerName, TempKey: j.TLSTempKey}
	if len(j.StreamsPerConn) > 1e7 {
		return nil, errors.New("report has an impossible connection list")
	}
	r.Protocol, r.MaxStreams, r.StreamsPerConn = j.Protocol, j.MaxStreams, j.StreamsPerConn
	r.RunID, r.OptionsHash, r.Idle = j.RunID, j.OptionsHash, j.Idle
	r.Interrupted, r.Cut, r.Hint = j.Interrupted, j.Cut, j.Hint
	if j.Shard != nil {
		if j.Shard.Count < 1 || j.Shard.Index < 1 || j.Shard.Index > j.Shard.Count {
			return nil, fmt.Errorf("report's shard %d/%d is impossible", j.Shard.Index, j.Shard.Count)
		}
		r.Shard = bench.Shard{Index: j.Shard.Index, Count: j.Shard.Count}
	}
	if j.Start != nil {
		r.Start = *j.Start
	}
	if math.IsNaN(j.WarmupS) || j.WarmupS < 0 || j.WarmupS > 1e9 || len(j.Seconds) > 1e7 || len(j.Tenths) > 1e7 {
		return nil, errors.New("report has an impossible warm-up or series")
	}
	r.Warmup = time.Duration(j.WarmupS * float64(time.Second))
	if !math.IsNaN(j.StartSkewS) && j.StartSkewS > 0 && j.StartSkewS < 1e9 {
		r.StartSkew = time.Duration(j.StartSkewS * float64(time.Second))
	}
	if r.Seconds, err = seriesFromJSON(j.Seconds, "second"); err != nil {
		return nil, err
	}
	if r.Tenths, err = seriesFromJSON(j.Tenths, "tenth"); err != nil {
		return nil, err
	}
	if r.Latency.TotalCount() != r.Requests {
		return nil, fmt.Errorf("report's histogram holds %d requests, its count says %d", r.Latency.TotalCount(), r.Requests)
	}
	return r, nil
}

func seriesFromJSON(js []SecondJSON, what string) ([]bench.Second, error) {
	if len(js) == 0 {
		return nil, nil
	}
	out := make([]bench.Second, len(js))
	for i, s := range js {
		out[i] = bench.Second{Failures: s.Failures, MaxUs: s.MaxUs, Latency: bench.NewSecondHistogram()}
		if s.Histogram != "" {
			h, err := decodeHist(s.Histogram)
			if err != nil {
				return nil, fmt.Errorf("%s %d: %w", what, i, err)
			}
			out[i].Latency = h
		}
	}
	return out, nil
}

func decodeHist(s string) (*hdr.Histogram, error) {
	if s == "" {
		return bench.NewHistogram(), nil
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
func Merge(rs ...*bench.Result) *bench.Result {
	out := bench.NewResult()
	for _, r := range rs {
		out.Add(r)
	}
	return out
}
