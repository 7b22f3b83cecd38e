package serve

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/pelletier/go-toml/v2"
	"github.com/pelletier/go-toml/v2/unstable"
)

// Error is one mistake in the settings: in the file, where it is (File,
// Line, Col, Key), or on the command line (Flag, or neither for an
// argument).
type Error struct {
	File      string
	Line, Col int
	Key       string
	Flag      string
	// Value is the value as the message shows it, "" when it shows none.
	Value string
	Msg   string
}

func (e Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "":
		fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Col)
		if e.Key != "" {
			b.WriteString(e.Key + ": ")
		}
		if e.Value != "" {
			b.WriteString(e.Value + ": ")
		}
	case e.Flag != "" && e.Value != "":
		fmt.Fprintf(&b, "--%s %s: ", e.Flag, e.Value)
	case e.Flag != "":
		fmt.Fprintf(&b, "--%s ", e.Flag)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors are every mistake Load found: the file's in file order, then the
// command line's.
type Errors []Error

func (es Errors) Error() string {
	s := make([]string, len(es))
	for i, e := range es {
		s[i] = e.Error()
	}
	return strings.Join(s, "\n")
}

// InFile reports whether any mistake is the file's.
func (es Errors) InFile() bool {
	return slices.ContainsFunc(es, func(e Error) bool { return e.File != "" })
}

// syntax reports whether the file is no TOML at all (Load stops there).
func (es Errors) syntax() bool {
	return len(es) == 1 && es[0].File != "" && es[0].Key == "" && es[0].Value == ""
}

// sort puts the file's mistakes first, in file order, then the command
// line's in the order of fields.
func (es Errors) sort(fields []Field) {
	order := func(e Error) int {
		if i := slices.IndexFunc(fields, func(f Field) bool { return f.Flag == e.Flag }); i >= 0 {
			return i
		}
		return len(fields)
	}
	sort.SliceStable(es, func(i, j int) bool {
		a, b := es[i], es[j]
		switch {
		case (a.File == "") != (b.File == ""):
			return a.File != ""
		case a.File == "":
			return order(a) < order(b)
		case a.Line != b.Line:
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// decodeFile sets what data (the TOML file named file) sets, recording
// where each key is, and returns its mistakes of syntax, key and type.
//
// Why TOML, and why pelletier/go-toml/v2: a service's configuration lives
// in git and is edited by hand, and TOML has no indentation to get wrong,
// comments, and one obvious way to write each value. go-toml/v2's parser
// (package unstable) gives the line and column of every key, so every
// mistake — a syntax error, an unknown key, a value of the wrong type, an
// unknown service, a bad address or duration — is reported with where it
// is, and all of them at once, not the first one only. (BurntSushi/toml
// reports positions only for syntax errors; go-toml's own strict decoder
// stops at the first type error.)
func (s *Settings) decodeFile(file string, data []byte, fields []Field) Errors {
	if e, bad := badUTF8(file, data); bad {
		return Errors{e}
	}
	pos, err := positions(data)
	if err != nil {
		var pe *unstable.ParserError
		if errors.As(err, &pe) {
			sh := shapeOf(data, pe.Highlight)
			return Errors{{File: file, Line: sh.Line, Col: sh.Column, Msg: pe.Message}}
		}
		return Errors{{File: file, Line: 1, Col: 1, Msg: err.Error()}}
	}
	var raw map[string]any
	if err := toml.Unmarshal(data, &raw); err != nil {
		var de *toml.DecodeError
		if errors.As(err, &de) {
			row, col := de.Position()
			return Errors{{File: file, Line: row, Col: col, Key: strings.Join(de.Key(), "."), Msg: de.Error()}}
		}
		return Errors{{File: file, Line: 1, Col: 1, Msg: err.Error()}}
	}
	d := &decoder{s: s, file: file, pos: pos, fields: fields}
	d.table(raw, "")
	return d.errs
}

// badUTF8 finds the first byte of data that is not UTF-8 (TOML files are
// UTF-8 text): go-toml's parser would name it as a Latin-1 character at
// the start of a key ("U+00FF 'ÿ'"), which is no help.
func badUTF8(file string, data []byte) (Error, bool) {
	if utf8.Valid(data) {
		return Error{}, false
	}
	off := 0
	for off < len(data) {
		r, n := utf8.DecodeRune(data[off:])
		if r == utf8.RuneError && n <= 1 {
			break
		}
		off += n
	}
	line := 1 + strings.Count(string(data[:off]), "\n")
	col := off - strings.LastIndexByte(string(data[:off]), '\n')
	msg := fmt.Sprintf("invalid UTF-8: byte 0x%02x at offset %d; a TOML file is UTF-8 text", data[off], off)
	if len(data) >= 2 && (data[0] == 0xff && data[1] == 0xfe || data[0] == 0xfe && data[1] == 0xff) {
		msg += " (this one starts with a UTF-16 byte order mark: save it as UTF-8)"
	}
	return Error{File: file, Line: line, Col: col, Msg: msg}, true
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
	s      *Settings
	file   string
	pos    map[string]unstable.Position
	fields []Field
	errs   Errors
}

// at is where key (or the nearest enclosing key written) is.
func (d *decoder) at(key string) unstable.Position {
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
	return p
}

// fail records a mistake at key.
func (d *decoder) fail(key, value, format string, a ...any) {
	p := d.at(key)
	d.errs = append(d.errs, Error{File: d.file, Line: p.Line, Col: p.Column, Key: key, Value: value, Msg: fmt.Sprintf(format, a...)})
}

// table sets the keys of m, the table at prefix ("" or "guards."): a
// field's key, a table of fields' keys, or [services].
func (d *decoder) table(m map[string]any, prefix string) {
	for _, k := range slices.Sorted(maps.Keys(m)) {
		key, val := prefix+k, m[k]
		if i := slices.IndexFunc(d.fields, func(f Field) bool { return f.Key == key }); i >= 0 {
			f := d.fields[i]
			p := d.at(key)
			d.s.origin[f.Flag] = origin{line: p.Line, col: p.Column}
			if err := f.kind.decode(d.s, val); err != nil {
				var ve *valueError
				if errors.As(err, &ve) {
					d.fail(key, ve.value, "%s", ve.msg)
				} else {
					d.fail(key, "", "%v", err)
				}
			}
			continue
		}
		if key == "services" {
			d.services(val)
			continue
		}
		if !slices.Contains(d.known(prefix), k) {
			d.fail(key, "", "unknown key (known here: %s)", strings.Join(d.known(prefix), ", "))
			continue
		}
		sub, ok := val.(map[string]any)
		if !ok {
			d.fail(key, "", "want a table, not %s", kindName(val))
			continue
		}
		d.table(sub, key+".")
	}
}

// known lists the keys a table at prefix may hold.
func (d *decoder) known(prefix string) []string {
	var names []string
	if prefix == "" {
		names = append(names, "services")
	}
	for _, f := range d.fields {
		if rest, ok := strings.CutPrefix(f.Key, prefix); ok && f.Key != "" {
			name, _, _ := strings.Cut(rest, ".")
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
	}
	slices.Sort(names)
	return names
}

// services reads [services]: each service and its endpoints. Written, it
// replaces the default list.
func (d *decoder) services(val any) {
	m, ok := val.(map[string]any)
	if !ok {
		d.fail("services", "", "want a table, not %s", kindName(val))
		return
	}
	d.s.Services = []Spec{}
	// In the order serve starts its services (proto.All's), whatever the
	// file's.
	names := slices.SortedFunc(maps.Keys(m), func(a, b string) int {
		return cmp.Or(cmp.Compare(protocol(a).Local, protocol(b).Local), cmp.Compare(a, b))
	})
	for _, name := range names {
		key := "services." + name
		list, ok := m[name].([]any)
		if !ok {
			d.fail(key, "", "want an array of endpoints, not %s", kindName(m[name]))
			continue
		}
		if err := checkService(name); err != nil {
			d.fail(key, "", "%v", err)
			continue
		}
		for i, e := range list {
			s, ok := e.(string)
			if !ok {
				d.fail(key, "", "endpoint %d: want a string, not %s", i+1, kindName(e))
				continue
			}
			sp, err := ParseSpec(name + "=" + s)
			if err != nil {
				d.fail(key, "", "%v", err)
				continue
			}
			d.s.Services = append(d.s.Services, sp)
		}
	}
}
