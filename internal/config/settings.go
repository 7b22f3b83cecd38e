package config

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

// A Setting is one bound of `sockit serve` that is both a flag and a key
// of the file, with the values it takes: the flag and the key follow the
// same rule, and say the same thing when it is broken.
//
// What 0 means is chosen per setting, as nginx and xinetd do: a count of 0
// would serve nobody (nginx refuses worker_connections 0; xinetd spells
// "no bound" instances = UNLIMITED, not 0), so 0 is refused where it
// cannot be what the user meant, and -1 says "no bound" or "never"
// explicitly. Where 0 is a real choice (a grace of 0 closes at once; a
// refill rate of 0 refills nothing) it means just that.
type Setting struct {
	Flag, Key string
	// Min is the least value taken (for a duration, in nanoseconds).
	Min int64
	// Minus1 is what -1 (-1s for a duration) means, "" if it is refused.
	Minus1 string
	// Zero says why 0 is refused, when Min > 0.
	Zero string
	// Duration: the value is a time.Duration.
	Duration bool
}

// Settings are serve's bounds.
var Settings = []Setting{
	{Flag: "max-conns", Key: "guards.max_conns", Min: 1, Minus1: "no bound", Zero: "0 would serve nobody"},
	{Flag: "max-conns-per-source", Key: "guards.max_conns_per_source", Min: 1, Minus1: "no bound", Zero: "0 would serve nobody"},
	{Flag: "idle-timeout", Key: "guards.idle_timeout", Min: 1, Minus1: "never", Zero: "0 would close every connection at once", Duration: true},
	{Flag: "write-timeout", Key: "guards.write_timeout", Min: 1, Zero: "0 would close every connection at once", Duration: true},
	{Flag: "grace", Key: "grace", Min: 0, Duration: true},
	{Flag: "udp-burst", Key: "udp.burst", Min: 1, Zero: "0 would answer nothing beyond what a source sent (--udp-budget off turns the budget off)"},
	{Flag: "udp-rate", Key: "udp.rate", Min: 0},
	{Flag: "udp-rcvbuf", Key: "udp.rcvbuf", Min: 1, Minus1: "the system's default", Zero: "0 is no buffer"},
}

// Check returns nil when v is a value s takes, else what s takes.
func (s Setting) Check(v int64) error {
	minus1 := int64(-1)
	if s.Duration {
		minus1 = int64(-time.Second)
	}
	if v >= s.Min || (v == minus1 && s.Minus1 != "") {
		return nil
	}
	var want string
	switch {
	case s.Duration && s.Min == 0:
		want = "0 or more"
	case s.Duration:
		want = "more than 0"
	default:
		want = s.Show(s.Min) + " or more"
	}
	if s.Minus1 != "" {
		want += fmt.Sprintf(", or %s for %s", s.Show(minus1), s.Minus1)
	}
	if v == 0 && s.Zero != "" {
		return fmt.Errorf("%s; want %s", s.Zero, want)
	}
	return fmt.Errorf("want %s", want)
}

// A ServiceSetting only means something for one service: setting it (away
// from its default) while that service is not served is a mistake, as a
// `quotes` for a server that serves no qotd.
type ServiceSetting struct {
	Flag, Key, Service string
	// Default is the value that changes nothing.
	Default string
}

// ServiceSettings are serve's per-service settings.
var ServiceSettings = []ServiceSetting{
	{Flag: "quotes", Key: "quotes", Service: "qotd"},
	{Flag: "http-root", Key: "http_root", Service: "http"},
	{Flag: "access-log", Key: "access_log", Service: "http"},
	{Flag: "daytime-format", Key: "daytime_format", Service: "daytime", Default: "nist"},
}

// Unserved returns the settings of values (by Key) set away from their
// default while their service is not served.
func Unserved(values map[string]string, served func(service string) bool) []ServiceSetting {
	var bad []ServiceSetting
	for _, s := range ServiceSettings {
		if v := values[s.Key]; v != s.Default && !served(s.Service) {
			bad = append(bad, s)
		}
	}
	return bad
}

// CheckAddress checks a HOST:PORT listen address (the metrics one).
func CheckAddress(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("want HOST:PORT (127.0.0.1:9100, [::1]:9100, :9100): %v", err)
	}
	return nil
}

// Show writes v as the setting is written.
func (s Setting) Show(v int64) string {
	if s.Duration {
		return time.Duration(v).String()
	}
	return fmt.Sprint(v)
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
