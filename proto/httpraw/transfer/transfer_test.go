package transfer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/sockit/sockit/sockittest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestTemplateFor: -G's data joins the URL's query, a URL's user:password
// becomes Basic authentication (unless -u gave one) and leaves the URL, a
// cookie file's cookies go where their domain, path and secure flag allow,
// longer paths first.
func TestTemplateFor(t *testing.T) {
	jar := filepath.Join(t.TempDir(), "jar")
	os.WriteFile(jar, []byte("# Netscape HTTP Cookie File\n"+
		".example.test\tTRUE\t/\tFALSE\t0\tall\t1\n"+
		"example.test\tFALSE\t/a\tFALSE\t0\tdeep\t2\n"+
		"example.test\tFALSE\t/\tTRUE\t0\tsecure\t3\n"+
		"other.test\tFALSE\t/\tFALSE\t0\tnope\t4\n"), 0o644)
	tmpl, err := (&Request{Data: []string{"q=1"}, Get: true, Cookie: jar}).Prepare()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ url, target, auth, cookie string }{
		{"http://u:pw@example.test/a/b?x=0", "/a/b?x=0&q=1", "Basic dTpwdw==", "deep=2; all=1"},
		{"http://www.example.test/", "/?q=1", "", "all=1"},
		{"https://example.test/", "/?q=1", "", "secure=3; all=1"}, // same path and domain: the longer name first, as curl
		{"http://example.test/ab", "/ab?q=1", "", "all=1"},
	} {
		u, _ := url.Parse(tc.url)
		req := tmpl.For(u)
		auth, _ := req.Header.Get("Authorization")
		cookie, _ := req.Header.Get("Cookie")
		if req.Method != "GET" || req.URL.RequestURI() != tc.target || req.URL.User != nil || auth != tc.auth || cookie != tc.cookie {
			t.Errorf("%s: %s %s, Authorization %q, Cookie %q", tc.url, req.Method, req.URL, auth, cookie)
		}
	}
	if u, _ := url.Parse("http://example.test/"); u.RawQuery != "" {
		t.Errorf("For changed its argument: %s", u)
	}
}

// TestPrepareRefuses: what curl refuses on the command line is refused
// before any request.
func TestPrepareRefuses(t *testing.T) {
	for _, r := range []Request{
		{Headers: []string{"no colon"}},
		{Headers: []string{"X: a\r\nY: b"}},
		{User: "nopassword"},
		{JSON: []string{"{}"}, Data: []string{"a=1"}},
		{Data: []string{"@/nonexistent/file"}},
		{Cookie: "/nonexistent/jar"},
	} {
		if _, err := r.Prepare(); err == nil {
			t.Errorf("%+v: prepared", r)
		}
	}
}

// TestRunExitCodes: a transfer's failures over real sockets give curl's
// exit statuses through ExitCode, and -f's failure prints nothing of the
// response.
func TestRunExitCodes(t *testing.T) {
	srv, _ := sockittest.ScriptedHTTP(t, nil, func(r *sockittest.HTTPRequest) string {
		if r.Target == "/missing" {
			return "HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\nnope"
		}
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	})
	refused := fmt.Sprintf("127.0.0.1:%d", sockittest.FreePort(t))
	for _, tc := range []struct {
		url  string
		fail bool
		code int
		out  string
	}{
		{"http://" + srv + "/", false, 0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"},
		{"http://" + srv + "/missing", true, ExitHTTPFail, ""},
		{"http://" + refused + "/", false, ExitConnect, ""},
		{"http://[::1/", false, ExitURLMalformed, ""},
		{"ftp://" + srv + "/", false, ExitFailure, ""},
	} {
		var out, errb bytes.Buffer
		c, err := (&Options{}).Client()
		if err != nil {
			t.Fatal(err)
		}
		tmpl, _ := (&Request{}).Prepare()
		tr := &Transfer{Client: c, Template: tmpl, Stdout: &out, Stderr: &errb, Prefix: "test", Fail: tc.fail}
		err = tr.Run(context.Background(), []string{tc.url})
		c.Close()
		var te *Error
		if ExitCode(err) != tc.code || out.String() != tc.out || err != nil && (!errors.As(err, &te) || !strings.HasPrefix(errb.String(), "test: ")) {
			t.Errorf("%s: exit %d (%v), stdout %q, stderr %q; want %d", tc.url, ExitCode(err), err, out.String(), errb.String(), tc.code)
		}
	}
	var fe *FlagError
	if _, err := (&Options{Proxy: "ftp://p"}).Client(); !errors.As(err, &fe) {
		t.Errorf("-x ftp://p: %v", err)
	}
	if _, err := (&Options{CACert: "/nonexistent"}).Client(); ExitCode(err) != ExitCACert {
		t.Errorf("--cacert /nonexistent: %v, exit %d", err, ExitCode(err))
	}
}
