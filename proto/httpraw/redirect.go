package httpraw

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
)

// Redirect errors, matchable with errors.Is.
var (
	// ErrTooManyRedirects: FollowRedirects' bound was reached (curl exits 47).
	ErrTooManyRedirects = errors.New("httpraw: too many redirects")
	// ErrUseLastResponse, returned by a CheckRedirect, stops following:
	// Do returns the redirect response itself, with its body.
	ErrUseLastResponse = errors.New("httpraw: use last response")
	// ErrUnsupportedScheme: a URL, or a redirect's Location, is not http
	// or https.
	ErrUnsupportedScheme = errors.New("httpraw: unsupported scheme")
)

// CheckRedirect decides whether a redirect is followed, and may edit the
// request that follows it. next is built by NextRequest; via holds the
// requests sent so far, oldest first (the last one got the redirect). It
// is called once the redirect's head is read. ErrUseLastResponse stops and
// returns the redirect response; any other error ends Do with that error.
type CheckRedirect func(next *Request, via []*Request) error

// credentialFields go only to the origin they were given for. Host too:
// a custom Host would aim the new origin's request at the old virtual host.
var credentialFields = []string{"Authorization", "Cookie", "Proxy-Authorization", "Host"}

// FollowRedirects returns curl -L's policy. At most max redirects are
// followed (curl's default is 50; negative: no bound); one more ends with
// ErrTooManyRedirects. Authorization, Cookie, Proxy-Authorization (and a
// custom Host) are dropped when a redirect leaves the origin they were
// given for (scheme, host or port differs), as curl does since the fix for
// CVE-2018-1000007 and as Go's net/http does. trusted keeps them across
// origins (curl's --location-trusted), except from https to http: unlike
// curl, credentials are never sent in clear text once they were protected.
func FollowRedirects(max int, trusted bool) CheckRedirect {
	return func(next *Request, via []*Request) error {
		if max >= 0 && len(via) > max {
			return fmt.Errorf("%w: more than %d", ErrTooManyRedirects, max)
		}
		prev := via[len(via)-1]
		downgrade := prev.URL.Scheme == "https" && next.URL.Scheme != "https"
		if downgrade || !trusted && !sameOrigin(prev.URL, next.URL) {
			next.Header = without(next.Header, credentialFields...)
		}
		return nil
	}
}

// NextRequest builds the request that follows a redirect of prev with
// status code and Location loc, as curl does (RFC 9110 §15.4 leaves the
// method of 301 and 302 to the client): 303 turns any method but HEAD into
// GET, 301 and 302 turn POST into GET, each dropping the body and the
// fields that describe it; 307 and 308 keep method and body. Fields are
// copied otherwise; the policy (CheckRedirect) decides which may cross.
// ok is false when code is not a redirect.
func NextRequest(prev *Request, code int, loc string) (next *Request, ok bool, err error) {
	switch code {
	case 301, 302, 303, 307, 308:
	default:
		return nil, false, nil
	}
	u, err := prev.URL.Parse(loc)
	if err != nil {
		return nil, true, &MalformedError{Msg: fmt.Sprintf("bad Location %q: %v", loc, err)}
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, true, fmt.Errorf("%w %q in Location %q", ErrUnsupportedScheme, u.Scheme, loc)
	}
	if u.Host == "" {
		return nil, true, &MalformedError{Msg: fmt.Sprintf("bad Location %q: no host", loc)}
	}
	u.User = nil // credentials travel as fields, under the policy
	u.Fragment = ""
	next = &Request{Method: prev.Method, URL: u, Header: append([]Field(nil), prev.Header...), Body: prev.Body}
	if code == 303 || (code == 301 || code == 302) && prev.Method == "POST" {
		if next.Method != "HEAD" {
			next.Method = "GET"
		}
		next.Body = nil
		next.Header = without(next.Header, "Content-Length", "Content-Type", "Transfer-Encoding")
	}
	return next, true, nil
}

// sameOrigin: RFC 6454's origin, scheme, host and port (the scheme's
// default port when none is written).
func sameOrigin(a, b *url.URL) bool {
	return strings.EqualFold(a.Scheme, b.Scheme) && strings.EqualFold(a.Hostname(), b.Hostname()) && urlPort(a) == urlPort(b)
}

func without(h []Field, names ...string) []Field {
	out := h[:0:0]
	for _, f := range h {
		drop := false
		for _, n := range names {
			drop = drop || strings.EqualFold(f.Name, n)
		}
		if !drop {
			out = append(out, f)
		}
	}
	return out
}

// follow runs req and, while c.CheckRedirect agrees, the redirects that
// answer it. A followed redirect's body is read (so the connection can be
// kept) but not written to body.
func (c *Client) follow(do func(req *Request, body func(*Response) io.Writer) (*Exchange, error), req *Request, body io.Writer) (*Exchange, error) {
	var via []*Request
	for {
		var next *Request
		var stop error
		pick := func(resp *Response) io.Writer {
			if c.CheckRedirect == nil {
				return body
			}
			loc, has := resp.Header.Get("Location")
			if !has {
				return body
			}
			n, ok, err := NextRequest(req, resp.Status, loc)
			if !ok {
				return body
			}
			if err == nil {
				err = c.CheckRedirect(n, append(via, req))
			}
			if err == ErrUseLastResponse {
				return body
			}
			next, stop = n, err
			return io.Discard
		}
		ex, err := do(req, pick)
		if ex != nil {
			ex.Redirects = len(via)
		}
		if err == nil {
			err = stop
		}
		if err != nil || next == nil {
			return ex, err
		}
		via = append(via, req)
		req = next
	}
}
