package serve

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit/internal/duration"
	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

// Settings are what `sockit serve` runs with: Default's values, then a
// config file's keys, then the flags given on the command line, each
// overriding its key (as nginx -g does). Load builds them and checks every
// value; Fields lists them, each with its flag, its key, its rule and its
// help, so that a flag and a key never disagree.
//
// A new setting is one field here and one row in builtinFields (a
// protocol's own setting is a proto.Option of its registration instead).
type Settings struct {
	// Services are the listeners, in order: serve's arguments
	// (SERVICE[=ENDPOINT]) if any, else the file's [services], else every
	// service on its default endpoints.
	Services []Spec

	// MaxConns and MaxConnsPerSource bound open stream connections (-1: no
	// bound).
	MaxConns, MaxConnsPerSource int
	// IdleTimeout closes a silent connection (-1s: never); WriteTimeout
	// one whose peer takes no bytes.
	IdleTimeout, WriteTimeout time.Duration
	// Grace is how long connections in flight get to finish at shutdown.
	Grace time.Duration
	// Engine and Loops choose what runs the connections (server.Config).
	Engine string
	Loops  int
	// UDPBudget turns the per-source reply budget and the source checks
	// on; UDPBurst and UDPRate size the budget (UDPRate 0: no refill).
	UDPBudget             bool
	UDPBurst, UDPRate     int
	UDPReadBuffer         int // SO_RCVBUF of each UDP socket (-1: the system's)
	UDPAllowReservedPorts bool
	// Metrics is the address of /metrics, /healthz and /readyz; "" for none.
	Metrics string
	// UnixMode is the mode of every unix socket file serve creates; 0
	// leaves the umask's.
	UnixMode os.FileMode
	// AccessLog is http's access log file ("-": standard output); "" for none.
	AccessLog string
	// Protocol holds the registered protocols' options (proto.Option) as
	// written, by key; a key left out is the option's default.
	Protocol map[string]string
	// TLSCert and TLSKey are the certificate and key files of the tls://
	// listeners, pair by pair in order; the first pair is served to a
	// client that names no host a certificate has (SNI).
	TLSCert, TLSKey []string
	// Inetd, if set, serves this one service on the socket inetd passes as
	// standard input, and nothing else.
	Inetd string

	// Source is what the settings were loaded from; SIGHUP loads it again.
	Source Source

	origin   map[string]origin // by Field.Flag: where a value was written
	warnings []string          // see Warnings
}

// Source is where Settings come from.
type Source struct {
	// File is the config file (--config); "" for none.
	File string
	// Flags are the flags given on the command line, by name (without
	// dashes), each value as written; each overrides its key in File.
	Flags map[string]string
	// Args are serve's arguments, SERVICE=ENDPOINT or a bare SERVICE; given,
	// they replace File's [services].
	Args []string
}

// origin is where a value was written: on the command line, or at a line
// and column of the file.
type origin struct {
	flag      bool
	line, col int
}

// A Field is one setting of serve: a flag of `sockit serve` and, unless
// Key is "", a key of its config file, both following one rule.
type Field struct {
	// Flag is the flag's name, without the dashes.
	Flag string
	// Key is the file's key, dotted for a key in a table
	// ("guards.max_conns"); "" for a setting of the command line only.
	Key string
	// Usage is the flag's help (and what the example file says of the key).
	Usage string
	// Default is the value, as written, when neither flag nor key sets it.
	Default string
	// Service, if set, is the one service the setting is for: setting it
	// away from Default while that service is not served is a mistake.
	Service string
	// Values, if set, are all the values it takes (shell completion).
	Values []string

	kind kind
}

// Type names the flag's value in --help: int, time, string or bool.
func (f Field) Type() string { return f.kind.typ() }

// Bound returns the rule of a count or a duration; false for a setting of
// another kind.
func (f Field) Bound() (b Bound, dur, ok bool) {
	switch k := f.kind.(type) {
	case intKind:
		return k.b, false, true
	case durKind:
		return k.b, true, true
	}
	return Bound{}, false, false
}

// IsBool reports whether the flag may be given without a value.
func (f Field) IsBool() bool { return f.kind.typ() == "bool" }

// builtinFields are serve's own settings, in --help's order.
func builtinFields() []Field {
	engines := server.Engines()
	return append([]Field{
		{Flag: "max-conns", Key: "guards.max_conns", Default: "10000",
			Usage: "most stream connections open at once, 1 or more (-1: no bound; 0 would serve nobody)",
			kind:  intKind{func(s *Settings) *int { return &s.MaxConns }, Bound{Min: 1, Minus1: "no bound", Zero: "0 would serve nobody"}}},
		{Flag: "max-conns-per-source", Key: "guards.max_conns_per_source", Default: "256",
			Usage: "most stream connections from one IP address, 1 or more (-1: no bound)",
			kind:  intKind{func(s *Settings) *int { return &s.MaxConnsPerSource }, Bound{Min: 1, Minus1: "no bound", Zero: "0 would serve nobody"}}},
		{Flag: "idle-timeout", Key: "guards.idle_timeout", Default: "5m",
			Usage: "close a connection silent this long, more than 0 (-1s: never)",
			kind:  durKind{func(s *Settings) *time.Duration { return &s.IdleTimeout }, Bound{Min: 1, Minus1: "never", Zero: "0 would close every connection at once"}}},
		{Flag: "write-timeout", Key: "guards.write_timeout", Default: "30s",
			Usage: "close a connection whose peer takes no bytes this long, more than 0",
			kind:  durKind{func(s *Settings) *time.Duration { return &s.WriteTimeout }, Bound{Min: 1, Zero: "0 would close every connection at once"}}},
		{Flag: "grace", Key: "grace", Default: "10s",
			Usage: "on SIGINT/SIGTERM, time connections in flight get to finish (idle ones close at once; 0: close all at once)",
			kind:  durKind{func(s *Settings) *time.Duration { return &s.Grace }, Bound{Min: 0}}},
		{Flag: "engine", Default: engines[0], Values: engines,
			Usage: "what runs the connections: " + strings.Join(engines, " or "),
			kind:  stringKind{func(s *Settings) *string { return &s.Engine }, oneOf(engines)}},
		{Flag: "loops", Default: "0",
			Usage: "event-loop threads of the loop engine (0: one per CPU but one, at least one; N: N loops and N+1 Go Ps unless GOMAXPROCS is set)",
			kind:  intKind{func(s *Settings) *int { return &s.Loops }, Bound{Min: 0}}},
		{Flag: "udp-budget", Key: "udp.budget", Default: "on", Values: []string{"on", "off"},
			Usage: "per-source UDP reply budget and source checks: on, or off (benchmarks only)",
			kind:  onOffKind{func(s *Settings) *bool { return &s.UDPBudget }}},
		{Flag: "udp-burst", Key: "udp.burst", Default: "4096",
			Usage: "reply bytes a source prefix may get beyond what it sent, 1 or more",
			kind:  intKind{func(s *Settings) *int { return &s.UDPBurst }, Bound{Min: 1, Zero: "0 would answer nothing beyond what a source sent (--udp-budget off turns the budget off)"}}},
		{Flag: "udp-rate", Key: "udp.rate", Default: "1024",
			Usage: "bytes per second that refill a source prefix's burst (0: no refill)",
			kind:  intKind{func(s *Settings) *int { return &s.UDPRate }, Bound{Min: 0}}},
		{Flag: "udp-rcvbuf", Key: "udp.rcvbuf", Default: strconv.Itoa(4 << 20),
			Usage: "kernel receive buffer of each UDP socket in bytes, 1 or more, capped by net.core.rmem_max (-1: system default)",
			kind:  intKind{func(s *Settings) *int { return &s.UDPReadBuffer }, Bound{Min: 1, Minus1: "the system's default", Zero: "0 is no buffer"}}},
		{Flag: "udp-allow-reserved-ports", Key: "udp.allow_reserved_ports", Default: "false",
			Usage: "answer datagrams from source ports below 1024 and 2049",
			kind:  boolKind{func(s *Settings) *bool { return &s.UDPAllowReservedPorts }}},
		{Flag: "access-log", Key: "access_log", Service: "http",
			Usage: `http: append an access log line per response to FILE ("-": standard output) in nginx's combined format; SIGUSR1 reopens it`,
			kind:  stringKind{func(s *Settings) *string { return &s.AccessLog }, nil}},
		{Flag: "unix-mode", Key: "unix_mode",
			Usage: "mode of every unix and unixgram socket file serve creates, in octal as chmod takes it (0660: owner and group may connect; default: the umask's)",
			kind:  modeKind{func(s *Settings) *os.FileMode { return &s.UnixMode }}},
		{Flag: "metrics", Key: "metrics",
			Usage: "serve Prometheus metrics at http://ADDR/metrics, and probes at /healthz and /readyz",
			kind:  stringKind{func(s *Settings) *string { return &s.Metrics }, checkAddress}},
	}, append(tlsFields(), Field{Flag: "inetd",
		Usage: "serve SERVICE on the socket inetd passes as standard input: one connection (wait = no), or datagrams until --idle-timeout passes without one (wait = yes)",
		kind:  stringKind{func(s *Settings) *string { return &s.Inetd }, checkService}})...)
}

// Fields returns every setting of serve: its own, then each registered
// protocol's options (proto.Option), in the order of proto.All.
func Fields() []Field {
	fields := builtinFields()
	for _, p := range proto.All() {
		for _, o := range p.Options {
			f := Field{Flag: o.Flag(), Key: o.Key, Default: o.Default, Service: p.Name, Values: o.Values,
				Usage: p.Name + ": " + o.Usage + "; a mistake if " + p.Name + " is not served",
				kind:  optionKind{o}}
			if slices.ContainsFunc(fields, func(g Field) bool { return g.Flag == f.Flag || g.Key == f.Key }) {
				panic("serve: the option " + o.Key + " of " + p.Name + " is a setting of serve already")
			}
			fields = append(fields, f)
		}
	}
	for i := range fields {
		if fields[i].kind.typ() == "time" {
			fields[i].Usage += "; " + duration.Help
		}
	}
	return fields
}

// Default returns the settings of `sockit serve` with no flags.
func Default() Settings {
	s := Settings{Services: Defaults(false), Protocol: map[string]string{}, origin: map[string]origin{}}
	for _, f := range Fields() {
		if err := f.kind.set(&s, f.Default); err != nil {
			panic("serve: the default of --" + f.Flag + ": " + err.Error())
		}
	}
	return s
}

// Load returns the settings src gives: Default's, then its file's keys,
// then its flags, then its arguments as the services, every value checked.
// The error, if any, is Errors listing every mistake (each in the file
// with its line and column, or on the command line with its flag), or the
// file's read error.
func Load(src Source) (Settings, error) {
	s := Default()
	s.Source = src
	var errs Errors
	fields := Fields()
	if src.File != "" {
		data, err := os.ReadFile(src.File)
		if err != nil {
			return s, err
		}
		if errs = s.decodeFile(src.File, data, fields); errs.syntax() {
			return s, errs // no values to check past a syntax error
		}
	}
	for _, f := range fields {
		text, ok := src.Flags[f.Flag]
		if !ok {
			continue
		}
		s.origin[f.Flag] = origin{flag: true}
		if err := f.kind.set(&s, text); err != nil {
			errs = append(errs, s.mistake(f, err.Error(), true))
		}
	}
	for name := range src.Flags {
		if !slices.ContainsFunc(fields, func(f Field) bool { return f.Flag == name }) {
			errs = append(errs, Error{Flag: name, Msg: "is no setting of serve"})
		}
	}
	if len(src.Args) > 0 {
		specs, err := ParseArgs(src.Args)
		if err != nil {
			errs = append(errs, Error{Msg: err.Error()})
		}
		s.Services = specs
	}
	errs = append(errs, s.check(fields)...)
	if len(errs) > 0 {
		errs.sort(fields)
		return s, errs
	}
	return s, nil
}

// check applies every field's rule, and the rules between fields.
func (s *Settings) check(fields []Field) Errors {
	var errs Errors
	for _, f := range fields {
		if err := f.kind.check(s); err != nil {
			errs = append(errs, s.mistake(f, err.Error(), true))
		}
	}
	specs := s.Services
	if s.Inetd != "" {
		specs = []Spec{{Service: s.Inetd}}
		if len(s.Source.Args) > 0 || s.Source.File != "" || s.Metrics != "" || s.UnixMode != 0 || s.AccessLog != "" {
			errs = append(errs, Error{Msg: "--inetd serves standard input only: no SERVICE=ENDPOINT, --metrics, --unix-mode, --access-log or --config"})
		}
	}
	errs = append(errs, s.unserved(fields, specs)...)
	errs = append(errs, s.checkTLS(specs)...)
	return errs
}

// unserved returns a mistake for each field of a service specs leave out
// that is set away from its default.
func (s *Settings) unserved(fields []Field, specs []Spec) Errors {
	var errs Errors
	for _, f := range fields {
		if f.Service == "" || served(specs, f.Service) || f.kind.show(s) == f.Default {
			continue
		}
		if s.origin[f.Flag].flag {
			errs = append(errs, s.mistake(f, fmt.Sprintf("is for %s, which is not served (serve %s too, or leave --%s out)", f.Service, f.Service, f.Flag), false))
		} else {
			errs = append(errs, s.mistake(f, fmt.Sprintf("set, but %s is not served (add it to [services], or leave %s out)", f.Service, f.Key), false))
		}
	}
	return errs
}

// mistake is msg about f, placed where f's value was written; withValue
// shows the value first.
func (s *Settings) mistake(f Field, msg string, withValue bool) Error {
	o := s.origin[f.Flag]
	if o.flag || o.line == 0 {
		e := Error{Flag: f.Flag, Msg: msg}
		if withValue {
			e.Value = f.quote(s.Source.Flags[f.Flag])
		}
		return e
	}
	e := Error{File: s.Source.File, Line: o.line, Col: o.col, Key: f.Key, Msg: msg}
	if withValue {
		e.Value = f.quote(f.kind.show(s))
	}
	return e
}

// quote writes v as a message shows it: strings quoted, numbers not.
func (f Field) quote(v string) string {
	if t := f.kind.typ(); t == "string" || t == "strings" {
		return strconv.Quote(v)
	}
	return v
}

// Set reports whether f's value was written in the file or on the
// command line.
func (s *Settings) Set(f Field) bool {
	_, ok := s.origin[f.Flag]
	return ok
}

// serverConfig is the server.Config the settings give.
func (s *Settings) serverConfig(logger *slog.Logger) server.Config {
	c := server.Config{
		MaxConns: s.MaxConns, MaxConnsPerSource: s.MaxConnsPerSource,
		IdleTimeout: s.IdleTimeout, WriteTimeout: s.WriteTimeout,
		Engine: s.Engine, Loops: s.Loops, UDPReadBuffer: s.UDPReadBuffer, Logger: logger,
		UDP: server.UDPGuard{Off: !s.UDPBudget, BurstBytes: s.UDPBurst, RateBytes: s.UDPRate, AllowReservedPorts: s.UDPAllowReservedPorts},
	}
	if s.UDPRate == 0 {
		c.UDP.RateBytes = -1 // serve's 0 is "no refill", the server's -1
	}
	return c
}

// Bound is the rule of a count or a duration, as nginx and xinetd write
// theirs: a count of 0 would serve nobody (nginx refuses
// worker_connections 0; xinetd spells "no bound" instances = UNLIMITED, not
// 0), so 0 is refused where it cannot be what the user meant, and -1 says
// "no bound" or "never" explicitly. Where 0 is a real choice (a grace of 0
// closes at once; a refill rate of 0 refills nothing) it means just that.
type Bound struct {
	// Min is the least value taken (for a duration, in nanoseconds).
	Min int64
	// Minus1 is what -1 (-1s for a duration) means, "" if it is refused.
	Minus1 string
	// Zero says why 0 is refused, when Min > 0.
	Zero string
}

// check returns nil when v is a value b takes, else what b takes.
func (b Bound) check(v int64, dur bool) error {
	minus1 := int64(-1)
	if dur {
		minus1 = int64(-time.Second)
	}
	if v >= b.Min || (v == minus1 && b.Minus1 != "") {
		return nil
	}
	show := func(v int64) string {
		if dur {
			return time.Duration(v).String()
		}
		return strconv.FormatInt(v, 10)
	}
	var want string
	switch {
	case dur && b.Min == 0:
		want = "0 or more"
	case dur:
		want = "more than 0"
	default:
		want = show(b.Min) + " or more"
	}
	if b.Minus1 != "" {
		want += fmt.Sprintf(", or %s for %s", show(minus1), b.Minus1)
	}
	if v == 0 && b.Zero != "" {
		return fmt.Errorf("%s; want %s", b.Zero, want)
	}
	return fmt.Errorf("want %s", want)
}

// checkAddress checks a HOST:PORT listen address (the metrics one).
func checkAddress(addr string) error {
	if addr == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("want HOST:PORT (127.0.0.1:9100, [::1]:9100, :9100): %v", err)
	}
	return nil
}

// checkService checks a service name (--inetd's).
func checkService(name string) error {
	if _, ok := proto.Lookup(name); name != "" && !ok {
		return fmt.Errorf("unknown service (known: %s)", Names())
	}
	return nil
}

// oneOf is the rule of a value from a closed set.
func oneOf(values []string) func(string) error {
	return func(v string) error {
		if !slices.Contains(values, v) {
			return fmt.Errorf("want %s", orList(values))
		}
		return nil
	}
}

// orList writes "a, b or c".
func orList(values []string) string {
	if len(values) < 2 {
		return strings.Join(values, "")
	}
	return strings.Join(values[:len(values)-1], ", ") + " or " + values[len(values)-1]
}

// ParseUnixMode reads a unix socket mode in octal, as chmod takes it
// ("0660", "660"); "" is none (the umask's). 0 would let only root
// connect, and is refused.
func ParseUnixMode(s string) (os.FileMode, error) {
	if s == "" {
		return 0, nil
	}
	m, err := strconv.ParseUint(s, 8, 32)
	switch {
	case err != nil:
		return 0, fmt.Errorf("want an octal mode such as 0660")
	case m > 0o777:
		return 0, fmt.Errorf("want permission bits, 0777 at most (no setuid, setgid or sticky bit)")
	case m == 0:
		return 0, fmt.Errorf("0 would let only root connect; want an octal mode such as 0660")
	}
	return os.FileMode(m), nil
}
