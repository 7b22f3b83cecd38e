package demo

import (
	"strings"
	"testing"
)

// The GET step's check passes a whole page only: a body cut short, one
// longer than its Content-Length, or no 200 fails it.
func TestWholePage(t *testing.T) {
	const head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 11\r\n\r\n"
	for out, ok := range map[string]bool{
		head + "hello there":  true,
		head + "hello the":    false,
		head + "hello there!": false,
		strings.Replace(head, "200 OK", "404 Not Found", 1) + "hello there": false,
		"HTTP/1.1 200 OK\r\n\r\nhello there":                                false,
		"hello there":                                                       false,
	} {
		if err := wholePage(out); (err == nil) != ok {
			t.Errorf("wholePage(%q) = %v, want ok %v", out, err, ok)
		}
	}
}

func TestShellJoin(t *testing.T) {
	got := shellJoin([]string{"get", "-H", "Accept: text/html", "it's"})
	if want := `get -H 'Accept: text/html' 'it'\''s'`; got != want {
		t.Errorf("shellJoin = %s, want %s", got, want)
	}
}
