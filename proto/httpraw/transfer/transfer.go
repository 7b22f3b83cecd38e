package transfer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/internal/cli"
	"github.com/sockit/sockit/proto/httpraw"
)

// Transfer fetches URLs one after the other over Client (one kept-alive
// connection where the server allows it), as a curl command line does.
type Transfer struct {
	Client   *httpraw.Client
	Template *Template
	// Stdout takes what is printed (heads, bodies, -w); Stderr the -v
	// trace and the messages, each "Prefix: …".
	Stdout, Stderr io.Writer
	Prefix         string

	// Output is -o FILE ("-": stdout, "": stdout, and the head too).
	Output string
	// RemoteName is -O: each URL's body goes to a file in the working
	// directory named as the URL's last path segment (curl's
	// --remote-name-all).
	RemoteName bool
	// Include is -i: the head goes where the body goes, -o's file too.
	Include bool
	// Raw is --raw: the exact bytes received, undecoded, to the output.
	Raw bool
	// Head is -I (sockit head): the head is the output.
	Head bool
	// Verbose is -v: the connection (* ), request (> ), response head
	// (< ) and curl's cumulative times on Stderr.
	Verbose bool
	// Silent and ShowError are -s and -S: no messages, unless -S.
	Silent, ShowError bool
	// Fail is -f: a status of 400 or more prints nothing but a message,
	// and fails (curl's 22).
	Fail bool
	// Retry is --retry: a transient failure (a timeout, a name that did
	// not resolve, 408, 429, 500, 502, 503, 504) is tried again up to Retry
	// times, 1 s apart, doubling, or as Retry-After says.
	Retry int
	// MaxTime is -m: a bound on the whole run (0: none).
	MaxTime time.Duration
	// MaxBytes refuses a body larger than this (0: no bound), leaving no
	// partial file.
	MaxBytes int64
	// WriteOut is -w's format, printed on Stdout after each URL.
	WriteOut string
	// Compressed decodes a gzip body.
	Compressed bool
	// Terminal says Stdout is a terminal: a body holding a NUL is refused
	// there, as curl refuses it, unless -o - asks for it.
	Terminal bool
}

// Error is one URL's failure.
type Error struct {
	URL string
	Err error
}

func (e *Error) Error() string { return e.URL + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// URLError is a URL that could not be read (curl's 3).
type URLError struct{ Err error }

func (e *URLError) Error() string { return "malformed URL: " + e.Err.Error() }
func (e *URLError) Unwrap() error { return e.Err }

// StatusError is a response that fails the transfer: a status of 400 or
// more under -f, or a transient one about to be retried (curl's 22).
type StatusError struct {
	Status int
	Reason string
	Fail   bool // under -f
}

func (e *StatusError) Error() string {
	if e.Fail {
		return fmt.Sprintf("(22) The requested URL returned error: %d", e.Status) // curl's words
	}
	return fmt.Sprintf("the server answered %d %s", e.Status, e.Reason)
}

// ErrNoRemoteName: -O with a URL whose path has no last segment.
var ErrNoRemoteName = errors.New("-O: no file name in the URL (its path ends with /); use -o FILE")

// Run fetches each URL; a failure is said (unless -s) and the next URL
// tried. It returns the last failure, an *Error (ExitCode gives curl's
// exit status for it), ctx's error if ctx ended (what was received stays
// where it was written, as curl leaves it), or a *FlagError, before any
// transfer, for a setting curl refuses.
func (t *Transfer) Run(ctx context.Context, urls []string) error {
	if err := t.check(); err != nil {
		return err
	}
	parent := ctx
	if t.MaxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t.MaxTime)
		defer cancel()
	}
	out := t.sink(t.Output)
	var last error
	for _, raw := range urls {
		start := time.Now()
		dst := out
		if t.RemoteName {
			dst = t.remoteSink(raw)
		}
		ex, err := t.fetch(ctx, raw, dst)
		if t.RemoteName && dst != nil {
			if ferr := dst.finish(err == nil); err == nil {
				err = ferr
			}
		}
		if parent.Err() != nil {
			out.finish(false)
			return parent.Err()
		}
		if err != nil {
			err = &Error{URL: urlOf(ex, raw), Err: err}
			t.Say(err)
			last = err
		}
		if t.WriteOut != "" {
			ti := &info{raw: raw, ex: ex, total: time.Since(start), err: err, code: ExitCode(err)}
			if werr := writeOut(t.Stdout, t.Stderr, t.Prefix, t.WriteOut, ti); werr != nil && last == nil {
				t.Say(werr)
				last = werr
			}
		}
	}
	if err := out.finish(last == nil); err != nil && last == nil {
		t.Say(err)
		last = err
	}
	return last
}

// check refuses what curl refuses before any transfer.
func (t *Transfer) check() error {
	switch {
	case t.MaxTime < 0:
		return flagErr("-m %v: want 0 (no bound) or more", t.MaxTime)
	case t.MaxBytes < 0:
		return flagErr("--max-bytes %d: want 0 (no bound) or more", t.MaxBytes)
	case t.Retry < 0:
		return flagErr("--retry %d: want 0 or more", t.Retry)
	case t.RemoteName && t.Output != "":
		return flagErr("-O and -o exclude each other")
	}
	return nil
}

// Say says err on Stderr, "Prefix: …" in cli's words, unless -s (without
// -S) silences it.
func (t *Transfer) Say(err error) {
	if !t.Silent || t.ShowError {
		fmt.Fprintf(t.Stderr, "%s: %s\n", t.Prefix, cli.Message(err))
	}
}

func (t *Transfer) sink(path string) *sink {
	s := &sink{path: path, stdout: t.Stdout}
	if path == "-" {
		s.path = ""
	} else if path == "" && t.Terminal {
		s.binaryCheck = true
	}
	return s
}

// remoteSink is -O's file for raw, nil when raw names none (fetch says so).
func (t *Transfer) remoteSink(raw string) *sink {
	u, err := httpraw.ParseURL(raw)
	if err != nil {
		return t.sink("-") // fetch reports the URL
	}
	name := path.Base(u.Path)
	if u.Path == "" || strings.HasSuffix(u.Path, "/") || name == "." || name == ".." {
		return nil
	}
	return t.sink(name)
}

// urlOf names a transfer in its messages: the URL as the request went (a
// redirect's), or as written (unix:///path, whose request is for /).
func urlOf(ex *httpraw.Exchange, raw string) string {
	if ex != nil && ex.Request != nil && !strings.HasPrefix(raw, "unix://") {
		return ex.Request.URL.String()
	}
	return raw
}

// target reads raw as a URL: http, https, or unix:///path (the socket
// at path, asked for / of localhost, as curl --unix-socket PATH
// http://localhost/), and says which socket to use ("" for none).
func target(raw string) (*url.URL, string, error) {
	if rest, ok := strings.CutPrefix(raw, "unix://"); ok {
		e, err := sockit.ParseEndpoint(raw, sockit.Defaults{})
		if err != nil || e.Network != "unix" || rest == "" {
			return nil, "", &URLError{fmt.Errorf("want unix:///path/to/socket or unix://@abstract")}
		}
		u, _ := url.Parse("http://localhost/")
		return u, e.Address, nil
	}
	u, err := httpraw.ParseURL(raw)
	if err != nil {
		if errors.Is(err, httpraw.ErrUnsupportedScheme) {
			return nil, "", err
		}
		return nil, "", &URLError{err}
	}
	return u, "", nil
}

// fetch fetches one URL with --retry.
func (t *Transfer) fetch(ctx context.Context, raw string, out *sink) (*httpraw.Exchange, error) {
	u, socket, err := target(raw)
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, ErrNoRemoteName
	}
	if socket != "" {
		prev := t.Client.UnixSocket
		t.Client.UnixSocket = socket
		defer func() { t.Client.UnixSocket = prev }()
	}
	req := t.Template.For(u)
	delay := time.Second
	for attempt := 0; ; attempt++ {
		left := t.Retry - attempt
		ex, err, transient := t.attempt(ctx, req, out, left > 0)
		if err == nil || !transient || left <= 0 {
			return ex, err
		}
		wait := delay
		if ex != nil && ex.Response != nil {
			if d, ok := retryAfter(ex.Response); ok {
				wait = d
			}
		}
		wait = min(wait, 10*time.Minute) // curl's cap on its backoff
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return ex, err // the wait would outlast -m
		}
		if !t.Silent {
			fmt.Fprintf(t.Stderr, "%s: %s: %s; will retry in %v, %d retries left\n", t.Prefix, urlOf(ex, raw), cli.Message(err), wait, left)
		}
		tm := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			tm.Stop()
			return ex, ctx.Err()
		case <-tm.C:
		}
		delay *= 2
	}
}

// transientStatus: the HTTP statuses curl's --retry retries.
func transientStatus(code int) bool {
	switch code {
	case 408, 429, 500, 502, 503, 504:
		return true
	}
	return false
}

// retryAfter reads Retry-After: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
func retryAfter(resp *httpraw.Response) (time.Duration, bool) {
	v, ok := resp.Header.Get("Retry-After")
	if !ok {
		return 0, false
	}
	if n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 32); err == nil {
		return time.Duration(n) * time.Second, true
	}
	if t, err := time.Parse(time.RFC1123, strings.TrimSpace(v)); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

// attempt does one try of a transfer; transient says whether --retry may
// try again.
func (t *Transfer) attempt(ctx context.Context, req *httpraw.Request, out *sink, mayRetry bool) (ex *httpraw.Exchange, err error, transient bool) {
	// Where the head goes: into the output with -I or -i; to stdout
	// unless -o or -v (which shows it on stderr) or --raw.
	var headOut, rawOut io.Writer
	if !t.Raw && (t.Head || t.Include || t.Output == "" && !t.RemoteName && !t.Verbose) {
		headOut = out
	}
	if t.Raw {
		rawOut = out
	}
	body := &bodyWriter{}
	var failed *httpraw.Response
	var headErr error
	mark := out.mark()
	c := t.Client
	c.OnSend, c.OnDone, c.OnInfo = nil, nil, nil
	// -v shows the head on stderr, unless stdout shows it already.
	headOnStdout := out.path == "" && (headOut != nil || t.Raw)
	if t.Verbose {
		c.OnSend, c.OnDone, c.OnInfo = t.traceSend, t.traceDone, t.traceInfo
	}
	c.OnHead = func(resp *httpraw.Response) {
		if t.Verbose && !headOnStdout {
			for _, l := range strings.Split(strings.TrimRight(string(resp.Head), "\r\n"), "\n") {
				fmt.Fprintf(t.Stderr, "< %s\n", strings.TrimRight(l, "\r"))
			}
			fmt.Fprintln(t.Stderr, "<")
		}
		body.reset(out)
		switch {
		case t.Fail && resp.Status >= 400, mayRetry && transientStatus(resp.Status):
			// curl -f prints no part of a failed response; a response
			// that will be retried is not printed either.
			failed = resp
			body.reset(io.Discard)
			return
		case t.Compressed:
			if enc, _ := resp.Header.Get("Content-Encoding"); strings.EqualFold(strings.TrimSpace(enc), "gzip") {
				body.gunzip()
			}
		}
		if headOut != nil {
			if _, err := headOut.Write(resp.Head); err != nil && headErr == nil {
				headErr = err
			}
		}
	}
	ex, err = c.Do(ctx, req, body, rawOut, t.MaxBytes)
	if cerr := body.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil && headErr != nil {
		err = headErr
	}
	if err != nil {
		if errors.Is(err, httpraw.ErrBodyTooLarge) {
			out.rollback(mark) // leave no partial file behind
		}
		var re *httpraw.ResolveError
		return ex, err, isTimeout(err) || errors.As(err, &re)
	}
	if failed != nil {
		return ex, &StatusError{Status: failed.Status, Reason: failed.Reason, Fail: t.Fail && failed.Status >= 400}, transientStatus(failed.Status)
	}
	return ex, nil, false
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// traceSend is -v's view of a request: the connection, then the request
// head as sent.
func (t *Transfer) traceSend(r *httpraw.Request, wire []byte, addr net.Addr, reused bool) {
	host := r.URL.Hostname()
	switch ta, ok := addr.(*net.TCPAddr); {
	case reused:
		fmt.Fprintf(t.Stderr, "* Re-using existing connection with host %s\n", host)
	case ok:
		fmt.Fprintf(t.Stderr, "* Connected to %s (%s) port %d\n", host, ta.IP, ta.Port)
	default:
		fmt.Fprintf(t.Stderr, "* Connected to %s (%s)\n", host, addr)
	}
	head, _, _ := strings.Cut(string(wire), "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n") {
		fmt.Fprintf(t.Stderr, "> %s\n", l)
	}
	fmt.Fprintln(t.Stderr, ">")
}

// traceInfo is -v's word on the protocol (ALPN, HTTP/2 streams), curl's "* " lines.
func (t *Transfer) traceInfo(msg string) { fmt.Fprintf(t.Stderr, "* %s\n", msg) }

// traceDone is -v's last line of an exchange: curl's cumulative times,
// named as -w names them.
func (t *Transfer) traceDone(ex *httpraw.Exchange) {
	ts := timesOf(ex.Timings)
	reused := ""
	if ex.Timings.Reused {
		reused = " (connection reused)"
	}
	fmt.Fprintf(t.Stderr, "* time_namelookup %s time_connect %s time_appconnect %s time_starttransfer %s time_total %s%s, %d body bytes\n",
		secs(ts.namelookup), secs(ts.connect), secs(ts.appconnect), secs(ts.starttransfer), secs(ex.Timings.Total), reused, ex.BodySize)
}
