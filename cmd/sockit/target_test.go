package main

import (
	"strings"
	"testing"

	"github.com/sockit/sockit/sockittest"
)

// TestGetEncodesTheQuery: a space or non-ASCII byte typed in a URL's query
// reaches the server percent-encoded, so the request line keeps its three
// parts (a raw space would split it: a smuggling risk).
func TestGetEncodesTheQuery(t *testing.T) {
	addr, reqs := sockittest.ScriptedHTTP(t, nil, ok200("ok"))
	for _, tc := range []struct{ url, line string }{
		{"http://" + addr + "/x?q=a b&x=é", "GET /x?q=a%20b&x=%C3%A9 HTTP/1.1"},
		{"http://" + addr + "/x?q=%41<\"|>", "GET /x?q=%41%3C%22%7C%3E HTTP/1.1"},
		{"http://" + addr + "/a b/é?", "GET /a%20b/%C3%A9? HTTP/1.1"},
		{"http://" + addr + "/plain?a=1&b=/c?d", "GET /plain?a=1&b=/c?d HTTP/1.1"},
	} {
		r := sockitRun(t, "", "get", tc.url)
		if r.code != 0 || !strings.HasSuffix(r.stdout, "\r\n\r\nok") {
			t.Fatalf("%s: exit %d %q %q", tc.url, r.code, r.stdout, r.stderr)
		}
		got := reqs()
		line, _, _ := strings.Cut(got[len(got)-1].Head, "\r\n")
		if line != tc.line {
			t.Errorf("%s: the server saw %q, want %q", tc.url, line, tc.line)
		}
	}
	// A control byte (here a tab) is refused as a malformed URL, curl's 3,
	// and nothing is sent.
	before := len(reqs())
	if r := sockitRun(t, "", "get", "http://"+addr+"/x?t=\t"); r.code != 3 {
		t.Errorf("a tab in the URL: exit %d, want 3", r.code)
	}
	if len(reqs()) != before {
		t.Error("a request was sent for a refused URL")
	}
}
