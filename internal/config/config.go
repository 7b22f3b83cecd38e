// Package config reads `sockit serve --config FILE`: a TOML file (see
// deploy/sockit.example.toml) naming the services and their listen
// addresses, the guards, the quotes file, the responder's root and the
// metrics address.
//
// Why TOML, and why pelletier/go-toml/v2: a service's configuration lives
// in git and is edited by hand, and TOML has no indentation to get wrong,
// comments, and one obvious way to write each value. go-toml/v2's parser
// (package unstable) gives the line and column of every key, so every
// mistake — a syntax error, an unknown key, a value of the wrong type, an
// unknown service, a bad address or duration — is reported with where it is,
// and all of them at once, not the first one only. (BurntSushi/toml reports
// positions only for syntax errors; go-toml's own strict decoder stops at
// the first type error.)
package config

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"

	"github.com/sockit/sockit/internal/services"
	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/proto/daytime"
)

// Config is the file's content. Every field's default is Default's.
type Config struct {
	// Metrics is the address of /metrics, /healthz and /readyz; "" for none.
	Metrics string `toml:"metrics"`
	// Quotes is a fortune-format file of qotd quotes; "" for the built-in ones.
	Quotes string `toml:"quotes"`
	// HTTPRoot is the directory the http responder serves; "" for its page.
	HTTPRoot string `toml:"http_root"`
	// AccessLog is the file of http's access log (nginx's combined format),
	// "-" for standard output; "" for none.
	AccessLog string `toml:"access_log"`
	// DaytimeFormat is nist, rfc822 or ctime.
	DaytimeFormat string `toml:"daytime_format"`
	// UnixMode is the octal mode of the unix sockets serve creates ("0660");
	// "" leaves the umask's.
	UnixMode string `toml:"unix_mode"`
	// Grace is how long connections in flight get at shutdown.
	Grace  string `toml:"grace"`
	Guards Guards `toml:"guards"`
	UDP    UDP    `toml:"udp"`
	// Services lists each service's endpoints (SERVICE = ["tcp://…", …]).
	Services map[string][]string `toml:"services"`
}

// Guards bound stream connections.
type Guards struct {
	MaxConns          int    `toml:"max_conns"`
	MaxConnsPerSource int    `toml:"max_conns_per_source"`
	IdleTimeout       string `toml:"idle_timeout"`
	WriteTimeout      string `toml:"write_timeout"`
}

// UDP bounds what datagram services answer.
type UDP struct {
	Budget             bool `toml:"budget"`
	Burst              int  `toml:"burst"`
	Rate               int  `toml:"rate"`
	ReadBuffer         int  `toml:"rcvbuf"`
	AllowReservedPorts bool `toml:"allow_reserved_ports"`
}

// Default is the configuration of `sockit serve` with no flags.
func Default() Config {
	c := Config{
		DaytimeFormat: "nist",
		Grace:         "10s",
		Guards:        Guards{MaxConns: 10000, MaxConnsPerSource: 256, IdleTimeout: "5m", WriteTimeout: "30s"},
		UDP:           UDP{Budget: true, Burst: 4096, Rate: 1024, ReadBuffer: 4 << 20},
		Services:      map[string][]string{},
	}
	for _, sp := range services.Defaults(false) {
		c.Services[sp.Service] = append(c.Services[sp.Service], sp.Endpoint.Network+"://"+sp.Endpoint.Address)
	}
	return c
}

// Error is one mistake in a file, where it is.
type Error struct {
	File      string
	Line, Col int
	Key       string
	Msg       string
}

func (e Error) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Col, e.Msg)
	}
	return fmt.Sprintf("%s:%d:%d: %s: %s", e.File, e.Line, e.Col, e.Key, e.Msg)
}

// Errors are every mistake of a file, in file order.
type Errors []Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// Load reads and checks file: the defaults, overridden by what it sets.
func Load(file string) (Config, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return Config{}, err
	}
	return Parse(file, b)
}

// Parse checks data (named file in messages).
func Parse(file string, data []byte) (Config, error) {
	pos, err := positions(data)
	if err != nil {
		var pe *unstable.ParserError
		if errors.As(err, &pe) {
			sh := shapeOf(data, pe.Highlight)
			return Config{}, Errors{{File: file, Line: sh.Line, Col: sh.Column, Msg: pe.Message}}
		}
		return Config{}, err
	}
	var raw map[string]any
	if err := toml.Unmarshal(data, &raw); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return Config{}, Errors{{File: file, Line: row, Col: col, Key: strings.Join(de.Key(), "."), Msg: de.Error()}}
		}
		return Config{}, err
	}
	c := Default()
	if _, ok := raw["services"]; ok {
		c.Services = map[string][]string{} // the file's list replaces the default one
	}
	d := &decoder{file: file, pos: pos}
	d.assign(reflect.ValueOf(&c).Elem(), raw, "")
	d.validate(&c)
	if len(d.errs) > 0 {
		sort.SliceStable(d.errs, func(i, j int) bool {
			if d.errs[i].Line != d.errs[j].Line {
				return d.errs[i].Line < d.errs[j].Line
			}
			return d.errs[i].Col < d.errs[j].Col
		})
		return Config{}, d.errs
	}
	return c, nil
}

// shapeOf is the position of b, a subslice of data.
func shapeOf(data, b []byte) unstable.Position {
	var p unstable.Parser
	p.Reset(data)
	if len(b) == 0 || cap(b) > cap(data) {
		return unstable.Position{Line: 1, Column: 1}
	}
	return p.Shape(p.Range(b)).Start
}

// positions maps every dotted key of data ("guards.max_conns") to where it
// is written.
func positions(data []byte) (map[string]unstable.Position, error) {
	pos := map[string]unstable.Position{}
	var p unstable.Parser
	p.Reset(data)
	var table []string
	keyOf := func(n *unstable.Node) ([]string, unstable.Position) {
		var parts []string
		var first unstable.Position
		it := n.Key()
		for i := 0; it.Next(); i++ {
			k := it.Node()
			if i == 0 {
				first = p.Shape(k.Raw).Start
			}
			parts = append(parts, string(k.Data))
		}
		return parts, first
	}
	for p.NextExpression() {
		n := p.Expression()
		switch n.Kind {
		case unstable.Table, unstable.ArrayTable:
			parts, at := keyOf(n)
			table = parts
			pos[strings.Join(parts, ".")] = at
		case unstable.KeyValue:
			parts, at := keyOf(n)
			pos[strings.Join(append(slices.Clone(table), parts...), ".")] = at
		}
	}
	return pos, p.Error()
}

type decoder struct {
	file string
	pos  map[string]unstable.Position
	errs Errors
}

// fail records a mistake at key (or the nearest enclosing key written).
func (d *decoder) fail(key, format string, a ...any) {
	p, ok := d.pos[key]
	for k := key; !ok && k != ""; {
		i := strings.LastIndexByte(k, '.')
		if i < 0 {
			break
		}
		k = k[:i]
		p, ok = d.pos[k]
	}
	if !ok {
		p = unstable.Position{Line: 1, Column: 1}
	}
	d.errs = append(d.errs, Error{File: d.file, Line: p.Line, Col: p.Column, Key: key, Msg: fmt.Sprintf(format, a...)})
}

// assign sets struct v from m, by toml tags; keys without a field are
// errors.
func (d *decoder) assign(v reflect.Value, m map[string]any, prefix string) {
	fields := map[string]reflect.Value{}
	for i := 0; i < v.NumField(); i++ {
		fields[v.Type().Field(i).Tag.Get("toml")] = v.Field(i)
	}
	for k, val := range m {
		key := prefix + k
		f, ok := fields[k]
		if !ok {
			d.fail(key, "unknown key (known here: %s)", strings.Join(slices.Sorted(maps.Keys(fields)), ", "))
			continue
		}
		d.set(f, val, key)
	}
}

func kindName(v any) string {
	switch v.(type) {
	case string:
		return "a string"
	case int64:
		return "an integer"
	case float64:
		return "a float"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "a table"
	}
	return fmt.Sprintf("a %T", v)
}

func (d *decoder) set(f reflect.Value, val any, key string) {
	switch f.Kind() {
	case reflect.String:
		s, ok := val.(string)
		if !ok {
			d.fail(key, "want a string, not %s", kindName(val))
			return
		}
		f.SetString(s)
	case reflect.Int:
		n, ok := val.(int64)
		if !ok {
			d.fail(key, "want an integer, not %s", kindName(val))
			return
		}
		f.SetInt(n)
	case reflect.Bool:
		b, ok := val.(bool)
		if !ok {
			d.fail(key, "want true or false, not %s", kindName(val))
			return
		}
		f.SetBool(b)
	case reflect.Struct:
		m, ok := val.(map[string]any)
		if !ok {
			d.fail(key, "want a table, not %s", kindName(val))
			return
		}
		d.assign(f, m, key+".")
	case reflect.Map: // services: name → endpoints
		m, ok := val.(map[string]any)
		if !ok {
			d.fail(key, "want a table, not %s", kindName(val))
			return
		}
		for name, eps := range m {
			list, ok := eps.([]any)
			if !ok {
				d.fail(key+"."+name, "want an array of endpoints, not %s", kindName(eps))
				continue
			}
			var out []string
			for i, e := range list {
				s, ok := e.(string)
				if !ok {
					d.fail(key+"."+name, "endpoint %d: want a string, not %s", i+1, kindName(e))
					continue
				}
				out = append(out, s)
			}
			f.SetMapIndex(reflect.ValueOf(name), reflect.ValueOf(out))
		}
	}
}

// validate checks the values the types let through.
func (d *decoder) validate(c *Config) {
	values := map[string]int64{
		"guards.max_conns":            int64(c.Guards.MaxConns),
		"guards.max_conns_per_source": int64(c.Guards.MaxConnsPerSource),
		"udp.burst":                   int64(c.UDP.Burst),
		"udp.rate":                    int64(c.UDP.Rate),
		"udp.rcvbuf":                  int64(c.UDP.ReadBuffer),
	}
	for key, s := range map[string]string{"grace": c.Grace, "guards.idle_timeout": c.Guards.IdleTimeout, "guards.write_timeout": c.Guards.WriteTimeout} {
		if v, err := time.ParseDuration(s); err != nil {
			d.fail(key, "%q is not a duration (e.g. 30s, 5m)", s)
		} else {
			values[key] = int64(v)
		}
	}
	for _, s := range Settings {
		v, ok := values[s.Key]
		if !ok {
			continue
		}
		if err := s.Check(v); err != nil {
			d.fail(s.Key, "%s: %v", s.Show(v), err)
		}
	}
	if !daytime.ValidFormat(c.DaytimeFormat) {
		d.fail("daytime_format", "%q is not nist, rfc822 or ctime", c.DaytimeFormat)
	}
	if _, err := ParseUnixMode(c.UnixMode); err != nil {
		d.fail("unix_mode", "%q: %v", c.UnixMode, err)
	}
	if c.Metrics != "" {
		if err := CheckAddress(c.Metrics); err != nil {
			d.fail("metrics", "%q: %v", c.Metrics, err)
		}
	}
	if c.Quotes != "" {
		if _, err := os.Stat(c.Quotes); err != nil {
			d.fail("quotes", "%v", err)
		}
	}
	if c.HTTPRoot != "" {
		if st, err := os.Stat(c.HTTPRoot); err != nil || !st.IsDir() {
			d.fail("http_root", "%q is not a directory", c.HTTPRoot)
		}
	}
	for _, s := range Unserved(map[string]string{"quotes": c.Quotes, "http_root": c.HTTPRoot, "access_log": c.AccessLog, "daytime_format": c.DaytimeFormat},
		func(name string) bool { return len(c.Services[name]) > 0 }) {
		d.fail(s.Key, "set, but %s is not served (add it to [services], or leave %s out)", s.Service, s.Key)
	}
	for name, eps := range c.Services {
		key := "services." + name
		if _, ok := proto.Lookup(name); !ok {
			d.fail(key, "unknown service (known: %s)", services.Names())
			continue
		}
		for _, e := range eps {
			if _, err := services.ParseSpec(name + "=" + e); err != nil {
				d.fail(key, "%v", err)
			}
		}
	}
}

// Specs returns the services to start, in a stable order.
func (c *Config) Specs() []services.Spec {
	var specs []services.Spec
	for _, name := range slices.Sorted(maps.Keys(c.Services)) {
		for _, e := range c.Services[name] {
			sp, _ := services.ParseSpec(name + "=" + e) // checked by Parse
			specs = append(specs, sp)
		}
	}
	return specs
}

// Durations returns grace, idle and write timeouts (checked by Parse).
func (c *Config) Durations() (grace, idle, write time.Duration) {
	grace, _ = time.ParseDuration(c.Grace)
	idle, _ = time.ParseDuration(c.Guards.IdleTimeout)
	write, _ = time.ParseDuration(c.Guards.WriteTimeout)
	return
}
