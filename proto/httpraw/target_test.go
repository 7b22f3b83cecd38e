package httpraw_test

import (
	"bytes"
	"net/url"
	"strings"
	"testing"

	"github.com/sockit/sockit/proto/httpraw"
)

// TestRequestLineIsValid: whatever the URL holds (a redirect's Location is
// not checked by ParseURL), the request line keeps exactly two spaces and
// only visible ASCII.
func TestRequestLineIsValid(t *testing.T) {
	for _, q := range []string{"q=a b", "x=é", "a=%20&b=<>", "\x7f\x01"} {
		u := &url.URL{Scheme: "http", Host: "h", Path: "/p q", RawQuery: q}
		var b bytes.Buffer
		if err := (&httpraw.Request{Method: "GET", URL: u}).Write(&b); err != nil {
			t.Fatal(err)
		}
		line, _, _ := strings.Cut(b.String(), "\r\n")
		if strings.Count(line, " ") != 2 || strings.ContainsFunc(line, func(r rune) bool { return r < ' ' || r > '~' }) {
			t.Errorf("query %q: request line %q", q, line)
		}
	}
	u, err := httpraw.ParseURL("http://h/x?q=a b&x=é")
	if err != nil || u.RawQuery != "q=a%20b&x=%C3%A9" {
		t.Errorf("ParseURL: %v %q", err, u.RawQuery)
	}
}
