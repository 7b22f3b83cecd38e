package transfer

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/sockit/sockit/proto/httpraw"
)

// Request is the request part of a curl command line. Its zero value is a
// GET with the default fields.
type Request struct {
	// Method is -X, sent as written; "" chooses: HEAD with Head, POST with
	// a body, GET otherwise (-G: always GET).
	Method string
	// Head is -I (and sockit head): a HEAD request.
	Head bool
	// Headers are -H's "Name: value" fields; "Name:" drops a default.
	Headers []string
	// Data, DataBinary and JSON are -d, --data-binary and --json: DATA,
	// or @FILE (@- for Stdin). -d's files lose their newlines, repeats of
	// either join with "&"; --json's concatenate.
	Data, DataBinary, JSON []string
	// Get is -G: the -d data goes into the URL's query, in a GET.
	Get bool
	// User is -u USER:PASSWORD (Basic); a URL's user:password is used
	// when it is empty.
	User string
	// UserAgent is the User-Agent unless -A or -H gives one; Agent is -A's
	// value (AgentSet: -A given at all, "" sending none).
	UserAgent, Agent string
	AgentSet         bool
	// Referer is -e URL; Cookie is -b: "NAME=VALUE; ..." sent as it is,
	// or the name of a cookie file (Netscape's format, curl's -c output)
	// whose cookies matching each URL are sent.
	Referer, Cookie string
	// Compressed asks for a gzip body (Accept-Encoding: gzip).
	Compressed bool
	// HTTP10 is --http1.0: the request line says HTTP/1.0.
	HTTP10 bool
	// Stdin is what @- reads.
	Stdin io.Reader
}

// Template is a Request with its files read and its fields checked: For
// gives each URL's request from it.
type Template struct {
	base  httpraw.Request
	query string // -G's data
	jar   []cookie
}

// Prepare reads the request's files and checks its fields; an error here
// is the command line's (sockit's usage error).
func (r *Request) Prepare() (*Template, error) {
	t := &Template{}
	var h []httpraw.Field
	for _, s := range r.Headers {
		n, v, ok := strings.Cut(s, ":")
		if !ok || strings.TrimSpace(n) == "" || strings.ContainsAny(s, "\r\n") {
			return nil, fmt.Errorf("-H %q is not 'Name: value'", s)
		}
		h = append(h, httpraw.Field{Name: strings.TrimSpace(n), Value: strings.TrimSpace(v)})
	}
	// Fields derived from flags give way to the same field given with -H.
	add := func(name, value string) {
		if !httpraw.Header(h).Has(name) {
			h = append(h, httpraw.Field{Name: name, Value: value})
		}
	}
	if r.AgentSet {
		add("User-Agent", r.Agent)
	}
	if r.User != "" {
		user, pw, ok := strings.Cut(r.User, ":")
		if !ok {
			return nil, fmt.Errorf("-u %q: give USER:PASSWORD (there is no password prompt)", r.User)
		}
		add("Authorization", httpraw.BasicAuth(url.UserPassword(user, pw)))
	}
	if r.Referer != "" {
		add("Referer", strings.TrimSuffix(r.Referer, ";auto"))
	}
	if r.Cookie != "" {
		if strings.Contains(r.Cookie, "=") {
			add("Cookie", r.Cookie)
		} else {
			jar, err := readJar(r.Cookie)
			if err != nil {
				return nil, fmt.Errorf("-b: %w", err)
			}
			t.jar = jar
		}
	}
	if r.Compressed {
		add("Accept-Encoding", "gzip")
	}
	if len(r.JSON) > 0 && len(r.Data)+len(r.DataBinary) > 0 {
		return nil, errors.New("--json and -d/--data-binary exclude each other")
	}
	var parts []string
	for i, d := range append(append([]string{}, r.Data...), r.DataBinary...) {
		b, err := r.read(d)
		if err != nil {
			return nil, fmt.Errorf("-d: %w", err)
		}
		if i < len(r.Data) && strings.HasPrefix(d, "@") {
			b = strings.NewReplacer("\r", "", "\n", "").Replace(b) // as curl -d @FILE
		}
		parts = append(parts, b)
	}
	req := &t.base
	switch {
	case len(parts) > 0 && r.Get:
		t.query = strings.Join(parts, "&")
	case len(parts) > 0:
		req.Body = []byte(strings.Join(parts, "&"))
		add("Content-Type", "application/x-www-form-urlencoded")
	case len(r.JSON) > 0:
		var body strings.Builder
		for _, d := range r.JSON {
			b, err := r.read(d)
			if err != nil {
				return nil, fmt.Errorf("--json: %w", err)
			}
			body.WriteString(b)
		}
		req.Body = []byte(body.String())
		add("Content-Type", "application/json")
		add("Accept", "application/json")
	}
	req.Method = r.Method
	if req.Method == "" {
		switch {
		case r.Head:
			req.Method = "HEAD"
		case req.Body != nil:
			req.Method = "POST"
		default:
			req.Method = "GET"
		}
	}
	if r.HTTP10 {
		req.Proto = "HTTP/1.0"
	}
	req.Header, req.UserAgent = h, r.UserAgent
	return t, nil
}

// read reads curl's @FILE (@- for stdin) notation; other text is itself.
func (r *Request) read(s string) (string, error) {
	switch {
	case s == "@-":
		if r.Stdin == nil {
			return "", nil
		}
		b, err := io.ReadAll(r.Stdin)
		return string(b), err
	case strings.HasPrefix(s, "@"):
		b, err := os.ReadFile(s[1:])
		return string(b), err
	}
	return s, nil
}

// ReadArg reads a -w FORMAT given as @FILE (@- for stdin) as curl does;
// other text is itself.
func ReadArg(s string, stdin io.Reader) (string, error) {
	return (&Request{Stdin: stdin}).read(s)
}

// For returns the request for the URL u: the template's, with -G's data
// in the query, the URL's user:password as Basic authentication (under
// -u's or an Authorization -H, if given), and the cookies of a cookie file
// that match u.
func (t *Template) For(u *url.URL) *httpraw.Request {
	req := t.base
	req.Header = append([]httpraw.Field(nil), t.base.Header...)
	v := *u
	u = &v
	if t.query != "" {
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += t.query
	}
	if u.User != nil {
		if !req.Header.Has("Authorization") {
			req.Header = append(req.Header, httpraw.Field{Name: "Authorization", Value: httpraw.BasicAuth(u.User)})
		}
		u.User = nil
	}
	if c := matching(t.jar, u); c != "" && !req.Header.Has("Cookie") {
		req.Header = append(req.Header, httpraw.Field{Name: "Cookie", Value: c})
	}
	req.URL = u
	return &req
}

// cookie is one line of a Netscape cookie file.
type cookie struct {
	domain      string
	subdomains  bool
	path        string
	secure      bool
	name, value string
}

// readJar reads a cookie file in Netscape's format (what curl -c writes:
// domain, subdomains TRUE/FALSE, path, secure TRUE/FALSE, expiry, name,
// value, tab-separated; "#HttpOnly_" before a domain; # comments).
func readJar(path string) ([]cookie, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var jar []cookie
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimPrefix(sc.Text(), "#HttpOnly_")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 7 {
			return nil, fmt.Errorf("%s:%d: not a cookie line (7 fields, tab-separated, as curl -c writes)", path, n)
		}
		jar = append(jar, cookie{domain: strings.ToLower(strings.TrimPrefix(f[0], ".")), subdomains: f[1] == "TRUE",
			path: f[2], secure: f[3] == "TRUE", name: f[5], value: f[6]})
	}
	return jar, sc.Err()
}

// matching is the Cookie field for u: the jar's cookies for its host and
// path, the secure ones only over https or to the local host (curl's rule:
// loopback is a secure context), in curl's order: longer paths first
// (RFC 6265 §5.4), then longer domains, longer names, later lines.
func matching(jar []cookie, u *url.URL) string {
	host, path := strings.ToLower(u.Hostname()), u.Path
	if path == "" {
		path = "/"
	}
	ip, _ := netip.ParseAddr(host)
	secure := u.Scheme == "https" || host == "localhost" || ip.IsLoopback()
	var sent []cookie
	for i := len(jar) - 1; i >= 0; i-- {
		c := jar[i]
		hostOK := host == c.domain || c.subdomains && strings.HasSuffix(host, "."+c.domain)
		pathOK := strings.HasPrefix(path, c.path) &&
			(len(path) == len(c.path) || strings.HasSuffix(c.path, "/") || path[len(c.path)] == '/')
		if hostOK && pathOK && (!c.secure || secure) {
			sent = append(sent, c)
		}
	}
	slices.SortStableFunc(sent, func(a, b cookie) int {
		return cmp.Or(cmp.Compare(len(b.path), len(a.path)), cmp.Compare(len(b.domain), len(a.domain)),
			cmp.Compare(len(b.name), len(a.name)))
	})
	pairs := make([]string, len(sent))
	for i, c := range sent {
		pairs[i] = c.name + "=" + c.value
	}
	return strings.Join(pairs, "; ")
}
