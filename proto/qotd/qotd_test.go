package qotd

import (
	"strings"
	"testing"
)

func TestEmbeddedQuotes(t *testing.T) {
	q := Default()
	if len(q) < 100 {
		t.Errorf("%d embedded quotes, want at least 100", len(q))
	}
	for i, s := range q {
		if len(s) > MaxLen || !strings.HasSuffix(s, "\r\n") {
			t.Errorf("quote %d: %d bytes, %q", i, len(s), s)
		}
	}
}

func TestParse(t *testing.T) {
	q, err := Parse(strings.NewReader("\none\nline two\n%\n%\n\nthree\n\n%\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 2 || q[0] != "one\r\nline two\r\n" || q[1] != "three\r\n" {
		t.Errorf("Parse = %q", q)
	}
	long := strings.Repeat("x", 510) + "\n%\n"
	if _, err := Parse(strings.NewReader("ok\n%\n" + long)); err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("a 512-byte quote: err %v, want one naming line 3", err)
	}
	if q, err := Parse(strings.NewReader(strings.Repeat("y", 509))); err != nil || len(q[0]) != 511 {
		t.Errorf("a 509-character quote (511 with CRLF) should pass: %v", err)
	}
	if _, err := Parse(strings.NewReader("caf\xc3\xa9\n")); err == nil {
		t.Error("non-ASCII quote accepted")
	}
	if _, err := Parse(strings.NewReader("%\n%\n")); err == nil {
		t.Error("a file with no quotes accepted")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("a\n%\nb\n")
	f.Add("%%\n%\n\n")
	f.Add(strings.Repeat("z", 600))
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(strings.NewReader(s))
		if err != nil {
			return
		}
		for _, x := range q {
			if len(x) > MaxLen || x == "" {
				t.Fatalf("Parse returned %q", x)
			}
		}
	})
}
