package config

import (
	"os"
	"reflect"
	"strings"
	"testing"
)

const example = "../../deploy/sockit.example.toml"

// TestExampleIsDefault: deploy/sockit.example.toml loads, sets every key
// to its default, and writes every key of Config.
func TestExampleIsDefault(t *testing.T) {
	c, err := Load(example)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("the example is not the defaults:\n%+v\n%+v", c, Default())
	}
	b, _ := os.ReadFile(example)
	pos, err := positions(b)
	if err != nil {
		t.Fatal(err)
	}
	var walk func(t reflect.Type, prefix string) []string
	walk = func(t reflect.Type, prefix string) []string {
		var keys []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			k := prefix + f.Tag.Get("toml")
			keys = append(keys, k)
			if f.Type.Kind() == reflect.Struct {
				keys = append(keys, walk(f.Type, k+".")...)
			}
		}
		return keys
	}
	keys := walk(reflect.TypeOf(Config{}), "")
	if len(keys) < 15 {
		t.Fatalf("found only %d keys in Config: %v", len(keys), keys)
	}
	for _, k := range keys {
		if _, ok := pos[k]; !ok {
			t.Errorf("the example does not show %s", k)
		}
	}
	for name := range Default().Services {
		if _, ok := pos["services."+name]; !ok {
			t.Errorf("the example does not list service %s", name)
		}
	}
}

// TestEveryMistake: all mistakes of a file at once, each with its key,
// line and column.
func TestEveryMistake(t *testing.T) {
	file := `metric = "127.0.0.1:9100"
grace = "10 s"

[guards]
max_conns = "many"
idle_timeout = 300

[udp]
burts = 1

[services]
echo = ["tcp://127.0.0.1:0"]
gopher = ["tcp://127.0.0.1:70"]
http = ["udp://127.0.0.1:8080"]
`
	_, err := Parse("bad.toml", []byte(file))
	es, ok := err.(Errors)
	if !ok {
		t.Fatalf("Parse: %v, want Errors", err)
	}
	want := []string{
		`bad.toml:1:1: metric: unknown key`,
		`bad.toml:2:1: grace: "10 s" is not a duration`,
		`bad.toml:5:1: guards.max_conns: want an integer, not a string`,
		`bad.toml:6:1: guards.idle_timeout: want a string, not an integer`,
		`bad.toml:9:1: udp.burts: unknown key`,
		`bad.toml:13:1: services.gopher: unknown service`,
		`bad.toml:14:1: services.http: `,
	}
	if len(es) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(es[i].Error(), w) {
			t.Errorf("error %d: %q, want it to start %q", i, es[i].Error(), w)
		}
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse("x.toml", []byte("grace = \"1s\"\n[guards\nmax_conns = 1\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "x.toml:2:") {
		t.Errorf("syntax error: %v, want it at x.toml:2", err)
	}
}
