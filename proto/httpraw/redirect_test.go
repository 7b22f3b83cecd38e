package httpraw_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/sockittest"
)

// redirector answers /start (and every target but /end) with code and
// Location loc, and /end with 200 "done".
func redirector(code int, loc string) func(*sockittest.HTTPRequest) string {
	return func(r *sockittest.HTTPRequest) string {
		if strings.HasSuffix(r.Target, "/end") && r.Method == "HEAD" {
			return "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n"
		}
		if strings.HasSuffix(r.Target, "/end") {
			return "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\ndone"
		}
		body := "moved"
		if r.Method == "HEAD" {
			body = ""
		}
		return fmt.Sprintf("HTTP/1.1 %d Moved\r\nLocation: %s\r\nContent-Length: 5\r\n\r\n%s", code, loc, body)
	}
}

var credentials = []httpraw.Field{
	{Name: "Authorization", Value: "Bearer secret"},
	{Name: "Cookie", Value: "session=secret"},
	{Name: "Proxy-Authorization", Value: "Basic c2VjcmV0"},
	{Name: "X-Other", Value: "kept"},
}

func get(t *testing.T, c *httpraw.Client, method, url string, body []byte) (*httpraw.Exchange, string, error) {
	t.Helper()
	u, err := httpraw.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	ex, err := c.Do(context.Background(), &httpraw.Request{Method: method, URL: u, Header: credentials, Body: body}, &out, nil, 0)
	return ex, out.String(), err
}

// checkCreds fails unless r carries the credentials exactly when want.
func checkCreds(t *testing.T, who string, r *sockittest.HTTPRequest, want bool) {
	t.Helper()
	for _, f := range credentials {
		v, has := r.Get(f.Name)
		if f.Name == "X-Other" {
			if v != "kept" {
				t.Errorf("%s: X-Other %q, want it kept", who, v)
			}
		} else if has != want || has && v != f.Value {
			t.Errorf("%s got %s %q (has %v), want present=%v", who, f.Name, v, has, want)
		}
	}
}

func TestRedirectCredentialsStayWithTheirOrigin(t *testing.T) {
	other, otherReqs := sockittest.ScriptedHTTP(t, nil, redirector(302, "/end"))
	first, firstReqs := sockittest.ScriptedHTTP(t, nil, redirector(302, "http://"+other+"/end"))
	for _, trusted := range []bool{false, true} {
		c := &httpraw.Client{CheckRedirect: httpraw.FollowRedirects(50, trusted)}
		ex, out, err := get(t, c, "GET", "http://"+first+"/start", nil)
		c.Close()
		if err != nil || out != "done" || ex.Redirects != 1 || ex.Request.URL.String() != "http://"+other+"/end" {
			t.Fatalf("trusted=%v: %v %q %+v", trusted, err, out, ex)
		}
		fr, or := firstReqs(), otherReqs()
		checkCreds(t, "the first origin", fr[len(fr)-1], true)
		// Same host (127.0.0.1), another port: another origin.
		checkCreds(t, fmt.Sprintf("trusted=%v: the other origin", trusted), or[len(or)-1], trusted)
	}

	// A redirect within the origin keeps them, over one kept-alive connection.
	same, sameReqs := sockittest.ScriptedHTTP(t, nil, redirector(301, "/end"))
	c := &httpraw.Client{CheckRedirect: httpraw.FollowRedirects(50, false)}
	defer c.Close()
	if _, out, err := get(t, c, "GET", "http://"+same+"/start", nil); err != nil || out != "done" {
		t.Fatalf("same origin: %v %q", err, out)
	}
	for _, r := range sameReqs() {
		checkCreds(t, "same origin "+r.Target, r, true)
	}
	// Absolute Location naming the same origin (explicit default port is
	// not needed here: same scheme, host and port).
	abs, absReqs := sockittest.ScriptedHTTP(t, nil, func(r *sockittest.HTTPRequest) string {
		return redirector(308, "http://"+r.Local+"/end")(r)
	})
	if _, out, err := get(t, c, "GET", "http://"+abs+"/start", nil); err != nil || out != "done" {
		t.Fatalf("absolute same origin: %v %q", err, out)
	}
	for _, r := range absReqs() {
		checkCreds(t, "absolute same origin "+r.Target, r, true)
	}
}

// https to http: never, not even with trusted (--location-trusted).
func TestRedirectNeverDowngradesCredentials(t *testing.T) {
	plain, plainReqs := sockittest.ScriptedHTTP(t, nil, redirector(302, "/end"))
	cert, key := sockittest.SelfSignedCert(t, t.TempDir())
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	secure, secureReqs := sockittest.ScriptedHTTP(t, &tls.Config{Certificates: []tls.Certificate{pair}}, redirector(302, "http://"+plain+"/end"))
	c := &httpraw.Client{CheckRedirect: httpraw.FollowRedirects(50, true), TLS: &tls.Config{InsecureSkipVerify: true}}
	defer c.Close()
	if _, out, err := get(t, c, "GET", "https://"+secure+"/start", nil); err != nil || out != "done" {
		t.Fatalf("%v %q", err, out)
	}
	checkCreds(t, "https origin", secureReqs()[0], true)
	checkCreds(t, "http after https", plainReqs()[0], false)
}

// 301/302/303 turn POST into GET without its body; 307/308 keep both.
func TestRedirectMethodAndBody(t *testing.T) {
	for _, tc := range []struct {
		code       int
		method     string
		wantMethod string
		keepBody   bool
	}{
		{301, "POST", "GET", false}, {302, "POST", "GET", false}, {303, "POST", "GET", false},
		{303, "PUT", "GET", false}, {303, "HEAD", "HEAD", false}, {302, "PUT", "PUT", true},
		{307, "POST", "POST", true}, {308, "POST", "POST", true}, {308, "PUT", "PUT", true},
	} {
		addr, reqs := sockittest.ScriptedHTTP(t, nil, redirector(tc.code, "/end"))
		c := &httpraw.Client{CheckRedirect: httpraw.FollowRedirects(50, false)}
		_, _, err := get(t, c, tc.method, "http://"+addr+"/start", []byte("a=1"))
		c.Close()
		if err != nil {
			t.Fatalf("%d %s: %v", tc.code, tc.method, err)
		}
		rs := reqs()
		if len(rs) != 2 {
			t.Fatalf("%d %s: %d requests", tc.code, tc.method, len(rs))
		}
		r := rs[1]
		_, hasLen := r.Get("Content-Length")
		if r.Method != tc.wantMethod || (string(r.Body) == "a=1") != tc.keepBody || hasLen != tc.keepBody {
			t.Errorf("%d %s: followed with %s, body %q, Content-Length %v", tc.code, tc.method, r.Method, r.Body, hasLen)
		}
	}
}

func TestRedirectLimitAndStop(t *testing.T) {
	loop, reqs := sockittest.ScriptedHTTP(t, nil, redirector(302, "/again"))
	c := &httpraw.Client{CheckRedirect: httpraw.FollowRedirects(3, false)}
	defer c.Close()
	_, _, err := get(t, c, "GET", "http://"+loop+"/start", nil)
	if !errors.Is(err, httpraw.ErrTooManyRedirects) || len(reqs()) != 4 {
		t.Errorf("limit 3: %v after %d requests, want ErrTooManyRedirects after 4", err, len(reqs()))
	}

	c.CheckRedirect = func(next *httpraw.Request, via []*httpraw.Request) error { return httpraw.ErrUseLastResponse }
	ex, out, err := get(t, c, "GET", "http://"+loop+"/start", nil)
	if err != nil || ex.Response.Status != 302 || out != "moved" {
		t.Errorf("ErrUseLastResponse: %v %q", err, out)
	}
	c.CheckRedirect = nil
	if ex, out, err := get(t, c, "GET", "http://"+loop+"/start", nil); err != nil || ex.Response.Status != 302 || out != "moved" {
		t.Errorf("no policy: %v %q", err, out)
	}

	ftp, _ := sockittest.ScriptedHTTP(t, nil, redirector(302, "ftp://127.0.0.1/x"))
	c.CheckRedirect = httpraw.FollowRedirects(50, false)
	if _, _, err := get(t, c, "GET", "http://"+ftp+"/start", nil); !errors.Is(err, httpraw.ErrUnsupportedScheme) {
		t.Errorf("ftp Location: %v", err)
	}
}
