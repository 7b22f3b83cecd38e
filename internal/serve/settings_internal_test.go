package serve

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const example = "../../deploy/sockit.example.toml"

// TestExampleIsDefault: deploy/sockit.example.toml loads, sets every key
// to its default, and writes every key of every field (the protocols'
// options included) and every default service.
func TestExampleIsDefault(t *testing.T) {
	got, err := Load(Source{File: example})
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	got.Source, got.origin, want.origin = Source{}, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the example is not the defaults:\n%+v\n%+v", got, want)
	}
	b, _ := os.ReadFile(example)
	pos, err := positions(b)
	if err != nil {
		t.Fatal(err)
	}
	keys := 0
	for _, f := range Fields() {
		if f.Key == "" {
			continue
		}
		keys++
		if _, ok := pos[f.Key]; !ok {
			t.Errorf("the example does not show %s", f.Key)
		}
	}
	if keys < 15 {
		t.Fatalf("only %d fields have a key", keys)
	}
	for _, sp := range Defaults(false) {
		if _, ok := pos["services."+sp.Service]; !ok {
			t.Errorf("the example does not list service %s", sp.Service)
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
	name := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(name, []byte(file), 0o644)
	_, err := Load(Source{File: name})
	es, ok := err.(Errors)
	if !ok {
		t.Fatalf("Load: %v, want Errors", err)
	}
	want := []string{
		`:1:1: metric: unknown key`,
		`:2:1: grace: "10 s": want seconds (5, 2.5) or a duration`,
		`:5:1: guards.max_conns: want an integer, not a string`,
		`:6:1: guards.idle_timeout: want a string, not an integer`,
		`:9:1: udp.burts: unknown key`,
		`:13:1: services.gopher: unknown service`,
		`:14:1: services.http: `,
	}
	if len(es) != len(want) {
		t.Fatalf("%d errors, want %d:\n%v", len(es), len(want), err)
	}
	for i, w := range want {
		if !strings.HasPrefix(es[i].Error(), name+w) {
			t.Errorf("error %d: %q, want it to start %q", i, es[i].Error(), name+w)
		}
	}
}

func TestSyntaxError(t *testing.T) {
	name := filepath.Join(t.TempDir(), "x.toml")
	os.WriteFile(name, []byte("grace = \"1s\"\n[guards\nmax_conns = 1\n"), 0o644)
	_, err := Load(Source{File: name})
	if err == nil || !strings.HasPrefix(err.Error(), name+":2:") {
		t.Errorf("syntax error: %v, want it at x.toml:2", err)
	}
}

// TestInvalidUTF8: a file that is not UTF-8 (a stray Latin-1 byte, a
// UTF-16 file) is said to be so, naming the byte and where it is, not as a
// strange character at the start of a key.
func TestInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		data []byte
		want string
	}{
		{[]byte("\xffgrace = \"1s\"\n"), ":1:1: invalid UTF-8: byte 0xff at offset 0; a TOML file is UTF-8 text"},
		{[]byte("grace = \"1s\"\nquotes = \"caf\xe9\"\n"), ":2:14: invalid UTF-8: byte 0xe9 at offset 26"},
		{[]byte("\xff\xfeg\x00r\x00"), ":1:1: invalid UTF-8: byte 0xff at offset 0; a TOML file is UTF-8 text (this one starts with a UTF-16 byte order mark: save it as UTF-8)"},
	} {
		name := filepath.Join(dir, "f.toml")
		os.WriteFile(name, tc.data, 0o644)
		_, err := Load(Source{File: name})
		if err == nil || !strings.HasPrefix(err.Error(), name+tc.want) || strings.Contains(err.Error(), "U+00") {
			t.Errorf("%q: %v, want %q", tc.data, err, tc.want)
		}
	}
}

// TestFlagsOverrideKeys: a flag given beside the file overrides its key,
// arguments replace [services], and the rest of the file stays.
func TestFlagsOverrideKeys(t *testing.T) {
	name := filepath.Join(t.TempDir(), "s.toml")
	os.WriteFile(name, []byte("grace = \"3s\"\n[guards]\nmax_conns = 5\n[services]\necho = [\"tcp://127.0.0.1:0\"]\n"), 0o644)
	s, err := Load(Source{File: name, Flags: map[string]string{"max-conns": "7"}, Args: []string{"daytime=tcp://127.0.0.1:0"}})
	if err != nil {
		t.Fatal(err)
	}
	if s.MaxConns != 7 || s.Grace.String() != "3s" || len(s.Services) != 1 || s.Services[0].Service != "daytime" {
		t.Errorf("max_conns %d (want the flag's 7), grace %v (want the file's 3s), services %v (want the argument's)", s.MaxConns, s.Grace, s.Services)
	}
	// Both sides' mistakes are reported, each where it is written.
	os.WriteFile(name, []byte("[guards]\nmax_conns = 0\n"), 0o644)
	_, err = Load(Source{File: name, Flags: map[string]string{"udp-rate": "-3", "idle-timeout": "soon"}})
	want := fmt.Sprintf("%s:2:1: guards.max_conns: 0: 0 would serve nobody; want 1 or more, or -1 for no bound\n"+
		"--idle-timeout soon: want seconds (5, 2.5) or a duration (500ms, 1m30s)\n"+
		"--udp-rate -3: want 0 or more", name)
	if err == nil || err.Error() != want {
		t.Errorf("Load:\n%v\nwant\n%s", err, want)
	}
}

// TestUDPRateZero: serve's --udp-rate 0 (and udp.rate = 0) reaches the
// server as "no refill" (its negative rate, see TestBudgetRefill), not as
// the server's zero, which is its default of 1024.
func TestUDPRateZero(t *testing.T) {
	name := filepath.Join(t.TempDir(), "r.toml")
	os.WriteFile(name, []byte("udp.rate = 0\n"), 0o644)
	for _, tc := range []struct {
		what string
		src  Source
		want int
	}{
		{"--udp-rate 0", Source{Flags: map[string]string{"udp-rate": "0"}}, -1},
		{"udp.rate = 0", Source{File: name}, -1},
		{"--udp-rate 1024", Source{Flags: map[string]string{"udp-rate": "1024"}}, 1024},
	} {
		s, err := Load(tc.src)
		if got := s.serverConfig(nil).UDP.RateBytes; err != nil || got != tc.want {
			t.Errorf("%s: the server's RateBytes is %d (%v), want %d", tc.what, got, err, tc.want)
		}
	}
}
