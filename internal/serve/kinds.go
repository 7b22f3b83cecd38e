package serve

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit/internal/duration"
	"github.com/sockit/sockit/proto"
)

// kind is how a Field reads and checks its value: from a flag's text and
// from a value of the file (go-toml's string, int64, bool, ...), into its
// place in Settings.
type kind interface {
	typ() string                        // the flag's value in --help: int, time, string, bool
	set(s *Settings, text string) error // a flag's value, as written
	decode(s *Settings, v any) error    // a value of the file; a *valueError to show the value
	check(s *Settings) error            // the rule beyond the type
	show(s *Settings) string            // the value as a flag writes it
}

// valueError is a value of the file of the right type that is still
// wrong: the message shows it before msg.
type valueError struct{ value, msg string }

func (e *valueError) Error() string { return e.msg }

// kindName says what the file gave, for "want an integer, not a string".
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

// intKind is a count with a bound.
type intKind struct {
	p func(*Settings) *int
	b Bound
}

func (k intKind) typ() string { return "int" }
func (k intKind) set(s *Settings, text string) error {
	n, err := strconv.Atoi(strings.TrimSpace(text))
	if err != nil {
		return errors.New("want an integer")
	}
	*k.p(s) = n
	return nil
}
func (k intKind) decode(s *Settings, v any) error {
	n, ok := v.(int64)
	if !ok {
		return fmt.Errorf("want an integer, not %s", kindName(v))
	}
	*k.p(s) = int(n)
	return nil
}
func (k intKind) check(s *Settings) error { return k.b.check(int64(*k.p(s)), false) }
func (k intKind) show(s *Settings) string { return strconv.Itoa(*k.p(s)) }

// durKind is a duration with a bound: seconds (5, 2.5) or a Go duration
// (500ms, 1m30s) on the command line and, as a string, in the file.
type durKind struct {
	p func(*Settings) *time.Duration
	b Bound
}

func (k durKind) typ() string { return "time" }
func (k durKind) set(s *Settings, text string) error {
	d, err := duration.Parse(text)
	if err != nil {
		return errors.New("want " + duration.Help)
	}
	*k.p(s) = d
	return nil
}
func (k durKind) decode(s *Settings, v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("want a string, not %s", kindName(v))
	}
	if err := k.set(s, str); err != nil {
		return &valueError{strconv.Quote(str), err.Error()}
	}
	return nil
}
func (k durKind) check(s *Settings) error { return k.b.check(int64(*k.p(s)), true) }
func (k durKind) show(s *Settings) string { return k.p(s).String() }

// boolKind is true or false; the flag alone means true.
type boolKind struct{ p func(*Settings) *bool }

func (k boolKind) typ() string { return "bool" }
func (k boolKind) set(s *Settings, text string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(text))
	if err != nil {
		return errors.New("want true or false")
	}
	*k.p(s) = b
	return nil
}
func (k boolKind) decode(s *Settings, v any) error {
	b, ok := v.(bool)
	if !ok {
		return fmt.Errorf("want true or false, not %s", kindName(v))
	}
	*k.p(s) = b
	return nil
}
func (k boolKind) check(*Settings) error   { return nil }
func (k boolKind) show(s *Settings) string { return strconv.FormatBool(*k.p(s)) }

// onOffKind is a switch: on or off on the command line, true or false in
// the file.
type onOffKind struct{ p func(*Settings) *bool }

func (k onOffKind) typ() string { return "string" }
func (k onOffKind) set(s *Settings, text string) error {
	switch text {
	case "on":
		*k.p(s) = true
	case "off":
		*k.p(s) = false
	default:
		return errors.New("want on or off")
	}
	return nil
}
func (k onOffKind) decode(s *Settings, v any) error { return boolKind(k).decode(s, v) }
func (k onOffKind) check(*Settings) error           { return nil }
func (k onOffKind) show(s *Settings) string {
	if *k.p(s) {
		return "on"
	}
	return "off"
}

// stringKind is a string with a rule (nil: any).
type stringKind struct {
	p    func(*Settings) *string
	rule func(string) error
}

func (k stringKind) typ() string { return "string" }
func (k stringKind) set(s *Settings, text string) error {
	*k.p(s) = text
	return nil
}
func (k stringKind) decode(s *Settings, v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("want a string, not %s", kindName(v))
	}
	*k.p(s) = str
	return nil
}
func (k stringKind) check(s *Settings) error {
	if k.rule == nil {
		return nil
	}
	return k.rule(*k.p(s))
}
func (k stringKind) show(s *Settings) string { return *k.p(s) }

// modeKind is a unix socket file's mode in octal ("0660"); "" leaves the
// umask's.
type modeKind struct{ p func(*Settings) *os.FileMode }

func (k modeKind) typ() string { return "string" }
func (k modeKind) set(s *Settings, text string) error {
	m, err := ParseUnixMode(text)
	if err != nil {
		return err
	}
	*k.p(s) = m
	return nil
}
func (k modeKind) decode(s *Settings, v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("want a string, not %s", kindName(v))
	}
	if err := k.set(s, str); err != nil {
		return &valueError{strconv.Quote(str), err.Error()}
	}
	return nil
}
func (k modeKind) check(*Settings) error { return nil }
func (k modeKind) show(s *Settings) string {
	if *k.p(s) == 0 {
		return ""
	}
	return fmt.Sprintf("0%o", uint32(*k.p(s)))
}

// optionKind is a protocol's option: a string its Parse checks.
type optionKind struct{ o proto.Option }

func (k optionKind) typ() string { return "string" }
func (k optionKind) set(s *Settings, text string) error {
	s.Protocol[k.o.Key] = text
	return nil
}
func (k optionKind) decode(s *Settings, v any) error {
	str, ok := v.(string)
	if !ok {
		return fmt.Errorf("want a string, not %s", kindName(v))
	}
	s.Protocol[k.o.Key] = str
	return nil
}
func (k optionKind) check(s *Settings) error {
	_, release, err := k.o.Parse(k.show(s))
	if release != nil {
		release()
	}
	return err
}
func (k optionKind) show(s *Settings) string {
	if v, ok := s.Protocol[k.o.Key]; ok {
		return v
	}
	return k.o.Default
}
