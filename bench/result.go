package bench

import (
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Result is one run's measurements: the one model every report (package
// bench/report) renders, and what merge adds up.
type Result struct {
	Target         string
	Host, Port     string
	Path           string // HTTP: the request target; raw: the protocol
	HTTP           bool
	ServerSoftware string
	DocLength      int64 // the first complete response's body length; -1 if none
	Concurrency    int
	Duration       time.Duration // warm-up excluded
	Requests       int64         // completed: successes and failures
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
	// Handshake is the TLS handshakes' time, µs (part of Connect, as ab
	// counts it): one value per new https connection of a measured
	// request; HandshakesFull and HandshakesResumed count them by kind.
	Handshake                         *hdr.Histogram
	HandshakesFull, HandshakesResumed int64
	// TLS is how the connections were secured (https), from the first.
	TLS TLSInfo
	// Protocol is "h2" or "h2c" for an HTTP/2 run ("" for HTTP/1.x),
	// MaxStreams the streams it asked to keep open per connection, and
	// StreamsPerConn the requests each of its connections carried.
	Protocol       string
	MaxStreams     int
	StreamsPerConn []int64
	PerSecond      []int64
	MaxLag         time.Duration
	ClientCPU      time.Duration
	Rate           float64
	Interrupted    bool
	Engine         string // the engine that ran the load (goroutine or loop)
	Cut            int64  // requests in flight when the run ended (Ctrl-C, -d), not counted
	Hint           string // why the target may have kept silent, if it did
	FirstError     string // the error of the first failed request that had one
	// FirstErrors holds, for each failure kind, the error of its first
	// request that had one.
	FirstErrors map[string]string
	// NotHTTP counts the replies to HTTP requests that were not HTTP
	// responses (they did not begin with "HTTP/"): as ab does, each is a
	// complete non-2xx response. Echoed counts those that were the request
	// itself, sent back: the target is an echo server.
	NotHTTP, Echoed int64
	// NotHTTPStart is how the first of them began, for the message.
	NotHTTPStart string
	Version      string // sockit's, from Config.Version

	// What ab's report shows by the options given, whatever was measured:
	// KeepAliveOn (-k on a stream target) the Keep-Alive requests line, even
	// at 0; SendsBody (-p, -u) the Total body sent line and the sent and
	// total transfer rates; VariableLength (-l) "Document Length: Variable".
	KeepAliveOn, SendsBody, VariableLength bool

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
	// Tenths is the series of the run's first FineSpan in FineBucket
	// steps (warm-up included), for the charts of short runs; each bucket's
	// request count is its Latency's.
	Tenths []Second
	// StartSkew is how far apart a merged run's shards started.
	StartSkew time.Duration
}

// NewResult returns a Result with nothing recorded yet: empty histograms
// and failure map, no document length.
func NewResult() *Result {
	return &Result{Failures: map[string]int64{}, DocLength: -1,
		Latency: NewHistogram(), Connect: NewHistogram(), Wait: NewHistogram(), Processing: NewHistogram(),
		Handshake: NewHistogram()}
}

// NewHistogram returns a latency histogram as the run's are made: in
// microseconds, from 1 µs to 1 hour, 3 significant digits.
func NewHistogram() *hdr.Histogram { return hdr.New(1, int64(time.Hour/time.Microsecond), 3) }

func newResult(cfg *Config, info targetInfo) *Result {
	r := NewResult()
	r.Target, r.Host, r.Port, r.Path, r.HTTP = cfg.Target, info.host, info.port, info.path, info.http
	r.Concurrency, r.Rate, r.Version = cfg.Concurrency, cfg.Rate, cfg.Version
	r.KeepAliveOn = cfg.KeepAlive && !info.packet
	r.SendsBody, r.VariableLength = cfg.Body != nil, cfg.AnyLength && info.http
	return r
}

// Add adds o's measurements to r: histograms, counts and client CPU add up,
// and so does concurrency (runs side by side); the longest duration and
// lag are kept; descriptions come from the first that has them.
func (r *Result) Add(o *Result) { r.AddAt(o, 0) }

// AddAt is Add with o's per-second series shifted by off seconds (a run
// that started off seconds after r's).
func (r *Result) AddAt(o *Result, off int) {
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
	for k, v := range o.FirstErrors {
		if r.FirstErrors[k] == "" {
			if r.FirstErrors == nil {
				r.FirstErrors = map[string]string{}
			}
			r.FirstErrors[k] = v
		}
	}
	if r.NotHTTPStart == "" {
		r.NotHTTPStart = o.NotHTTPStart
	}
	if r.Version == "" {
		r.Version = o.Version
	}
	if r.DocLength < 0 {
		r.DocLength = o.DocLength
	}
	if r.TLS == (TLSInfo{}) {
		r.TLS = o.TLS
	}
	if o.Handshake != nil {
		if r.Handshake == nil {
			r.Handshake = NewHistogram()
		}
		r.Handshake.Merge(o.Handshake)
	}
	if r.Protocol == "" {
		r.Protocol, r.MaxStreams = o.Protocol, o.MaxStreams
	}
	r.StreamsPerConn = append(r.StreamsPerConn, o.StreamsPerConn...)
	r.HandshakesFull += o.HandshakesFull
	r.HandshakesResumed += o.HandshakesResumed
	r.Latency.Merge(o.Latency)
	r.Connect.Merge(o.Connect)
	r.Wait.Merge(o.Wait)
	r.Processing.Merge(o.Processing)
	r.Requests += o.Requests
	r.Cut += o.Cut
	r.NotHTTP += o.NotHTTP
	r.Echoed += o.Echoed
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
		r.Seconds = AddSecond(r.Seconds, i+off, s)
	}
	perSecond := int(time.Second / FineBucket)
	for i, s := range o.Tenths {
		r.Tenths = AddSecond(r.Tenths, i+off*perSecond, s)
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

// Second is what the run saw in one second of wall time (counted from the
// run's start, warm-up included): its failures by kind and its latency, in
// a coarse HDR histogram (one significant digit: every value within about
// 6%, a few hundred bytes encoded) so an hour's series stays small and
// still merges exactly across shards. Requests per second are in
// Result.PerSecond.
type Second struct {
	Failures map[string]int64
	MaxUs    int64          // exact
	Latency  *hdr.Histogram // µs, coarse (NewSecondHistogram); nil for a second without requests
}

// Quantile is the second's q-th percentile latency in µs, clamped to its
// exact max (the coarse histogram's bucket may reach past it); ok is false
// for a second without requests.
func (s Second) Quantile(q float64) (us int64, ok bool) {
	if s.Latency == nil || s.Latency.TotalCount() == 0 {
		return 0, false
	}
	return min(s.Latency.ValueAtQuantile(q), s.MaxUs), true
}

// NewSecondHistogram returns a Second's coarse latency histogram.
func NewSecondHistogram() *hdr.Histogram { return hdr.New(1, int64(time.Hour/time.Microsecond), 1) }

// AddSecond adds s into secs[i], growing secs as needed, and returns secs;
// s is not kept.
func AddSecond(secs []Second, i int, s Second) []Second {
	for len(secs) <= i {
		secs = append(secs, Second{})
	}
	d := &secs[i]
	if d.Latency == nil {
		d.Latency = NewSecondHistogram()
	}
	if s.Latency != nil {
		d.Latency.Merge(s.Latency)
	}
	d.MaxUs = max(d.MaxUs, s.MaxUs)
	for k, v := range s.Failures {
		if d.Failures == nil {
			d.Failures = map[string]int64{}
		}
		d.Failures[k] += v
	}
	return secs
}

// Record is one request, as Config.Record receives it (report's CSV and
// gnuplot writers, ab's -v).
type Record struct {
	Start    time.Time     // when the request started (or was due, at a --rate)
	Latency  time.Duration // as the histograms count it
	Status   int           // HTTP status; 0 for raw protocols or when none was read
	Error    string        // failure kind; "" for success
	Sent     int64         // bytes
	Received int64         // bytes
	Connect  time.Duration // 0 on a kept-alive connection
	Wait     time.Duration // request sent to the first response byte
}
