package bench

import (
	"crypto/x509"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strings"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/proto/httpraw"
)

// Config describes a run. Its zero value is ab's defaults for a Target:
// one request over one connection, a 30 s timeout.
type Config struct {
	// Target is what to load: an http:// or https:// URL, or a raw endpoint
	// tcp://, udp://, unix:// or unixgram:// served by Proto. Without a
	// scheme, host[:port]/path is HTTP, as ab takes it; host:port alone is
	// refused, as ab refuses it, rather than guessed HTTP or raw.
	Target string
	// Requests is ab's -n; zero means 1, or 50000 with a TimeLimit (as
	// ab's -t), or no bound with a Duration.
	Requests int64
	// Concurrency is ab's -c, the connections at a time; zero means 1, at
	// most MaxConcurrency. Above Requests, Run opens only as many
	// connections as there are requests (ab refuses -c above -n; a
	// ValidateSet caller that gave both is refused too).
	Concurrency int
	Duration    time.Duration // -d: run this long; zero: until Requests are done
	// TimeLimit is ab's -t: run at most this long, and send 50000 requests
	// unless Requests says otherwise. It cannot go with Duration.
	TimeLimit time.Duration
	KeepAlive bool   // -k: HTTP/1.1 keep-alive; raw stream targets reuse their connections
	Method    string // "" means GET, or POST with a Body
	// Headers are extra request header lines, "Name: value" each.
	Headers []string
	// Cookies are ab's -C: each "name=value" is sent as a Cookie field.
	Cookies []string
	// Auth and ProxyAuth are ab's -A and -P, "user:password": HTTP Basic
	// credentials in an Authorization and a Proxy-Authorization field.
	Auth, ProxyAuth string
	// UserAgent is the User-Agent field; "" means "sockit-bench".
	UserAgent   string
	Body        []byte        // the request body (-p, -u); nil for none, empty for an empty one (Content-Length: 0)
	ContentType string        // of the Body; "" means text/plain
	Timeout     time.Duration // -s, per request; zero means 30s
	Rate        float64       // requests per second in total; zero means closed loop
	Warmup      time.Duration // requests started before this are extra, not recorded
	AnyLength   bool          // -l: HTTP bodies may differ in length from the first
	Proxy       string        // -X host:port: send HTTP requests through this proxy
	UnixSocket  string        // HTTP over this socket
	Insecure    bool          // https: do not verify the certificate
	// ServerName is the name https sends (SNI) and verifies the
	// certificate against; "" means the URL's host (curl's and ab's
	// default; an IP address sends no SNI).
	ServerName string
	// NoResume makes every new https connection a full handshake; by
	// default a new connection resumes the TLS session of an earlier one
	// (session tickets, as browsers and curl do), and the result counts
	// handshakes full and resumed.
	NoResume bool
	// HTTP2 speaks HTTP/2, on the loop engine: over https h2 as ALPN
	// chooses it (a server that does not is a connect failure), over
	// http:// h2c with prior knowledge, as h2load and curl
	// --http2-prior-knowledge do.
	HTTP2 bool
	// Streams is the requests at a time on each HTTP/2 connection
	// (h2load's -m), over Concurrency connections; zero means 1.
	Streams int
	// RootCAs are the certificate authorities https trusts (--cacert); nil
	// means the system's.
	RootCAs *x509.CertPool
	// LocalAddr is ab's -B: the local IP address connections are made
	// from; "" lets the kernel choose.
	LocalAddr string
	Proto     string // raw targets: a registered protocol with a Bench mode; "" means echo
	Size      int    // raw payload bytes; zero means 64
	Seed      uint64 // of the echo payloads
	// Engine runs the load: EngineGoroutine (a goroutine per connection,
	// on Go's netpoller) or EngineLoop (epoll event loops, as wrk); ""
	// picks the loops where they can run the options given (see
	// DefaultEngine), the goroutines otherwise. Options the chosen engine
	// cannot run are an error naming it, never a silent switch.
	Engine string
	// Threads is the number of event-loop threads of EngineLoop (as wrk
	// -t); zero means one per GOMAXPROCS. A process that bounds its
	// threads for a run sets GOMAXPROCS to Procs(Threads): Run leaves
	// GOMAXPROCS, the process's setting, alone.
	Threads int
	// Progress, if set, is called about once a second with running counts.
	Progress func(done, failed int64, elapsed time.Duration)
	// Shard runs one exact part of the load (see Shard); zero runs all.
	Shard Shard
	// RunID names the run in the result, so merge can tell runs apart.
	RunID string
	// Record, if set, is called once per recorded request, from the
	// workers' goroutines at once: it must be safe for concurrent use.
	Record func(Record)
	// Version is the program's version, written into the result.
	Version string
}

// MaxConcurrency is the most connections a run opens: each is a
// descriptor, and a process may hold 20,000.
const MaxConcurrency = 15000

// MaxStreams is the most HTTP/2 streams a run keeps open per connection.
const MaxStreams = 10000

// MaxDatagram is the largest payload one UDP datagram carries.
const MaxDatagram = 65507

// FieldError is a Config setting Run cannot honour: Field names it (as the
// struct field, e.g. "Requests"), Other the field it cannot go with, if
// that is the fault. A command maps the names to its flags (Message).
type FieldError struct {
	Field, Other string
	Reason       string
}

func (e *FieldError) Error() string { return e.Message(func(f string) string { return f }) }

// Message is the error with each field named by name (a flag, for a
// command).
func (e *FieldError) Message(name func(field string) string) string {
	s := name(e.Field) + ": "
	if e.Other != "" {
		s += "cannot go with " + name(e.Other)
		if e.Reason != "" {
			s += ": "
		}
	}
	return s + e.Reason
}

func bad(field, format string, a ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, a...)}
}

// Validate reports the first setting Run cannot honour, as a *FieldError.
// Zero values take their defaults. Run validates first.
func (c *Config) Validate() error { return c.ValidateSet(nil) }

// ValidateSet is Validate for settings a person typed: set reports whether
// the field was given. A given zero count, time or rate is refused where
// Validate would take it for the default (ab refuses -n 0: a typed 0 never
// means "the default"), and so is a given Concurrency above a given
// Requests, as ab refuses -c above -n.
func (c *Config) ValidateSet(set func(field string) bool) error {
	given := func(f string) bool { return set != nil && set(f) }
	target, err := parseTarget(c.Target)
	if err != nil {
		return err
	}
	switch {
	case c.Requests < 0 || c.Requests == 0 && given("Requests"):
		return bad("Requests", "want at least 1 request, not %d", c.Requests)
	case c.Concurrency < 0 || c.Concurrency == 0 && given("Concurrency"):
		return bad("Concurrency", "want at least 1 connection, not %d", c.Concurrency)
	case c.Concurrency > MaxConcurrency:
		return bad("Concurrency", "%d is more connections than this process may open (open files are capped; at most %d)", c.Concurrency, MaxConcurrency)
	case given("Requests") && given("Concurrency") && int64(c.Concurrency) > c.Requests:
		return bad("Concurrency", "%d connections for %d requests: no more connections than requests (as in ab)", c.Concurrency, c.Requests)
	}
	for _, d := range []struct {
		field string
		v     time.Duration
	}{{"TimeLimit", c.TimeLimit}, {"Duration", c.Duration}, {"Timeout", c.Timeout}} {
		if d.v < 0 || d.v == 0 && given(d.field) {
			return bad(d.field, "want a positive time, not %v", d.v)
		}
	}
	switch {
	case c.TimeLimit > 0 && c.Duration > 0:
		return &FieldError{Field: "TimeLimit", Other: "Duration", Reason: "one says how long the run lasts"}
	case c.Warmup < 0:
		return bad("Warmup", "want a positive time, not %v", c.Warmup)
	case math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate < 0 || c.Rate == 0 && given("Rate"):
		return bad("Rate", "want a positive rate, not %v", c.Rate)
	case c.Size < 0 || c.Size == 0 && given("Size"):
		return bad("Size", "want at least 1 byte, not %d", c.Size)
	case c.Size > MaxDatagram && target.packet:
		return bad("Size", "%d bytes do not fit in one datagram (at most %d)", c.Size, MaxDatagram)
	case c.Threads < 0:
		return bad("Threads", "want 0 (one per GOMAXPROCS) or more, not %d", c.Threads)
	case c.Engine != "" && c.Engine != EngineGoroutine && c.Engine != EngineLoop:
		return bad("Engine", "%q: want %s or %s", c.Engine, EngineGoroutine, EngineLoop)
	case c.Streams < 0 || c.Streams == 0 && given("Streams") || c.Streams > MaxStreams:
		return bad("Streams", "want 1 to %d streams per connection, not %d", MaxStreams, c.Streams)
	case c.Streams > 0 && !c.HTTP2 && target.http:
		return &FieldError{Field: "Streams", Reason: "streams are HTTP/2's: give HTTP2 too"}
	case c.Shard.Count < 0 || c.Shard.Count > 0 && (c.Shard.Index < 1 || c.Shard.Index > c.Shard.Count):
		return bad("Shard", "%d/%d: want I/N with 1 <= I <= N", c.Shard.Index, c.Shard.Count)
	}
	if target.http {
		return c.validateHTTP(target)
	}
	return c.validateRaw(target)
}

// target is what parseTarget learnt of a Config's Target.
type target struct {
	http, https, packet, unix bool
	endpoint                  sockit.Endpoint // raw targets
}

// rawSchemes are the raw targets' schemes, for the messages.
const rawSchemes = "tcp://, udp://, unix://, unixgram://"

func parseTarget(s string) (target, error) {
	scheme, _, ok := strings.Cut(s, "://")
	if !ok {
		// As ab: host[:port]/path is an HTTP URL; host:port alone is
		// refused, and so is guessing a raw load.
		if !strings.Contains(s, "/") {
			return target{}, bad("Target", "no scheme: want http:// or https:// (or host:port/path, which ab takes for http://), or for a raw load %s", rawSchemes)
		}
		scheme = "http"
	}
	switch scheme {
	case "http", "https":
		if _, err := httpraw.ParseURL(s); err != nil {
			return target{}, bad("Target", "malformed URL: %v", err)
		}
		return target{http: true, https: scheme == "https"}, nil
	}
	e, err := sockit.ParseEndpoint(s, sockit.Defaults{Network: "tcp"})
	if err != nil {
		var ee *sockit.EndpointError
		if errors.As(err, &ee) {
			return target{}, bad("Target", "%s", ee.Reason)
		}
		return target{}, bad("Target", "%v", err)
	}
	return target{packet: e.IsPacket(), unix: e.IsUnix(), endpoint: e}, nil
}

// validateHTTP refuses what HTTP targets cannot use.
func (c *Config) validateHTTP(t target) error {
	switch {
	case c.Proto != "":
		return bad("Proto", "applies to raw targets (%s), not to an HTTP URL", rawSchemes)
	case c.Size != 0:
		return bad("Size", "applies to raw targets (%s), not to an HTTP URL", rawSchemes)
	case c.Seed != 0:
		return bad("Seed", "applies to raw targets (%s), not to an HTTP URL", rawSchemes)
	case c.Body != nil && strings.EqualFold(c.Method, "HEAD"):
		return &FieldError{Field: "Body", Other: "Method", Reason: "a HEAD request has no body"}
	case c.HTTP2 && c.Proxy != "":
		return &FieldError{Field: "HTTP2", Other: "Proxy"}
	case c.HTTP2 && len(c.Body) > 65535:
		return bad("Body", "%d bytes: over HTTP/2 a body goes in the server's first stream window, at most 65535 bytes", len(c.Body))
	case c.HTTP2 && c.Engine == EngineGoroutine:
		return bad("Engine", "%s cannot run HTTP/2; the %s engine can", EngineGoroutine, EngineLoop)
	case isDigits(c.Method):
		return bad("Method", "%q is not a method (h2load's -m, the streams per connection, is --max-concurrent-streams here: -m is ab's method)", c.Method)
	case c.Proxy != "" && t.https:
		return bad("Proxy", "a proxy for https (CONNECT) is not supported")
	case !t.https && (c.ServerName != "" || c.NoResume || c.Insecure || c.RootCAs != nil):
		return bad(tlsField(c), "applies to https:// targets, not to %s", c.Target)
	case strings.ContainsAny(c.ServerName, " \t\r\n/:"):
		return bad("ServerName", "%q is not a host name", c.ServerName)
	case c.Proxy != "" && c.UnixSocket != "":
		return &FieldError{Field: "Proxy", Other: "UnixSocket"}
	case c.LocalAddr != "" && c.UnixSocket != "":
		return &FieldError{Field: "LocalAddr", Other: "UnixSocket"}
	case strings.ContainsAny(c.Method, " \t\r\n:"):
		return bad("Method", "%q is not a method", c.Method)
	}
	for _, f := range []struct{ field, v string }{{"ContentType", c.ContentType}, {"UserAgent", c.UserAgent}, {"Proxy", c.Proxy}} {
		if strings.ContainsAny(f.v, "\r\n") {
			return bad(f.field, "%q holds a line break", f.v)
		}
	}
	for _, h := range c.Headers {
		if name, _, ok := strings.Cut(h, ":"); !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(h, "\r\n") {
			return bad("Headers", "%q is not 'Name: value'", h)
		}
	}
	for _, ck := range c.Cookies {
		if strings.ContainsAny(ck, "\r\n") {
			return bad("Cookies", "%q holds a line break", ck)
		}
	}
	for _, a := range []struct{ field, v string }{{"Auth", c.Auth}, {"ProxyAuth", c.ProxyAuth}} {
		if a.v != "" && (!strings.Contains(a.v, ":") || strings.ContainsAny(a.v, "\r\n")) {
			return bad(a.field, "want user:password, not %q", a.v)
		}
	}
	return c.validateLocal()
}

// tlsField is the first TLS setting given.
func tlsField(c *Config) string {
	switch {
	case c.ServerName != "":
		return "ServerName"
	case c.NoResume:
		return "NoResume"
	case c.Insecure:
		return "Insecure"
	}
	return "RootCAs"
}

// validateRaw refuses what raw targets cannot use.
func (c *Config) validateRaw(t target) error {
	for _, f := range []struct {
		field string
		set   bool
	}{{"Headers", len(c.Headers) > 0}, {"Body", c.Body != nil}, {"ContentType", c.ContentType != ""},
		{"Method", c.Method != ""}, {"Cookies", len(c.Cookies) > 0}, {"Auth", c.Auth != ""},
		{"ProxyAuth", c.ProxyAuth != ""}, {"Proxy", c.Proxy != ""}, {"AnyLength", c.AnyLength},
		{"UnixSocket", c.UnixSocket != ""}, {"Insecure", c.Insecure}, {"RootCAs", c.RootCAs != nil},
		{"ServerName", c.ServerName != ""}, {"NoResume", c.NoResume}, {"HTTP2", c.HTTP2}, {"Streams", c.Streams != 0},
		{"UserAgent", c.UserAgent != ""}} {
		if f.set {
			return bad(f.field, "applies to HTTP targets (http://, https://), not to %s", c.Target)
		}
	}
	if c.Proto != "" {
		p, ok := proto.Lookup(c.Proto)
		if !ok || p.Bench == nil {
			return bad("Proto", "%q: want %s", c.Proto, orList(proto.Names(func(p proto.Protocol) bool { return p.Bench != nil })))
		}
		if p.Bench.Mode == proto.BenchSink && t.packet {
			return bad("Proto", "%s over %s: the server never replies, so nothing can be timed", c.Proto, t.endpoint.Network)
		}
	}
	if c.LocalAddr != "" && t.unix {
		return bad("LocalAddr", "applies to IP targets, not to %s", c.Target)
	}
	return c.validateLocal()
}

func (c *Config) validateLocal() error {
	if c.LocalAddr == "" {
		return nil
	}
	if _, err := netip.ParseAddr(strings.Trim(c.LocalAddr, "[]")); err != nil {
		return bad("LocalAddr", "%q is not an IP address", c.LocalAddr)
	}
	return nil
}

// normalize turns a TimeLimit into the Duration and Requests it stands for
// (ab's -t: at most that long, 50000 requests unless told).
func (c *Config) normalize() {
	if c.TimeLimit > 0 {
		c.Duration = c.TimeLimit
		if c.Requests == 0 {
			c.Requests = 50000
		}
		c.TimeLimit = 0
	}
}

// fill gives the zero fields their defaults.
func (c *Config) fill() {
	if c.Concurrency <= 0 {
		c.Concurrency = 1
	}
	if c.Requests <= 0 {
		c.Requests = 1
		if c.Duration > 0 {
			c.Requests = math.MaxInt64 // the duration ends the run
		}
	}
	if int64(c.Concurrency) > c.Requests && c.Duration == 0 {
		// ab refuses -c > -n; running fewer workers gives the same load.
		c.Concurrency = int(c.Requests)
	}
	if c.Timeout <= 0 {
		c.Timeout = 30 * time.Second
	}
	if c.Size <= 0 {
		c.Size = 64
	}
	if c.Proto == "" {
		c.Proto = "echo"
	}
	if c.Method == "" {
		c.Method = "GET"
		if c.Body != nil {
			c.Method = "POST"
		}
	}
	if c.UserAgent == "" {
		c.UserAgent = "sockit-bench"
	}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// orList writes names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
