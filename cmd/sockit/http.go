package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/internal/cli"
	"github.com/sockit/sockit/proto/httpraw"
)

// curl's exit statuses, which head and get keep beside main's (1,
// unsupported scheme, is exitFailure; 23 exitWrite, 28 exitTimeout).
const (
	exitURLMalformed = 3
	exitResolve      = 6
	exitConnect      = 7
	exitMalformed    = 8
	exitPartial      = 18
	exitHTTPFail     = 22
	exitTLS          = 35
	exitRedirects    = 47
	exitEmptyReply   = 52
	exitRecv         = 56
	exitPeerCert     = 60
	exitTooLarge     = 63
	exitCACert       = 77
)

type httpFlags struct {
	method         string
	data           []string
	dataBinary     []string
	json           []string
	headers        []string
	userAgent      string
	user           string
	headOnly       bool
	raw            bool
	output         string
	verbose        bool
	silent         bool
	showError      bool
	insecure       bool
	cacert         string
	unixSocket     string
	resolve        []string
	follow         bool
	trusted        bool
	maxRedirs      int
	connectTimeout time.Duration
	timeout        time.Duration
	maxTime        time.Duration
	fail           bool
	maxBytes       int64
	writeOut       string
	retry          int
	compressed     bool
	family         func() (int, error)
}

func (a *app) headCommand() *cobra.Command {
	return a.httpCommand("head", "Send HEAD requests by hand and print the response head (the brief's HEAD example)",
		`  sockit head http://127.0.0.1:8080/           # the brief's HEAD request, against sockit serve
  sockit head -v https://localhost:8443/ --cacert ca.pem
  sockit head --unix-socket unix:///run/app.sock http://app/`)
}

func (a *app) getCommand() *cobra.Command {
	return a.httpCommand("get", "Send GET (or -X METHOD) requests by hand and print the response (the brief's GET example)",
		`  sockit get http://127.0.0.1:8080/            # status line, headers, body, like curl -i
  sockit get --raw http://127.0.0.1:8080/      # the exact bytes received, as the brief prints them
  sockit get -o page.html http://127.0.0.1:8080/ http://127.0.0.1:8080/other   # one kept-alive connection
  sockit get --json '{"a":1}' http://127.0.0.1:8080/api        # POST, application/json
  sockit get -s -o /dev/null -w '%{http_code} %{time_total}\n' http://127.0.0.1:8080/`)
}

func (a *app) httpCommand(name, short, example string) *cobra.Command {
	f := &httpFlags{}
	cmd := &cobra.Command{
		Use:   name + " [flags] URL...",
		Short: short,
		Long: short + `.

The request is written by hand (request line, Host, User-Agent, Accept, any -H),
and the response framed by RFC 9112: HEAD, 1xx, 204 and 304 have no body;
chunked bodies are decoded, trailers kept; Content-Length is read exactly;
otherwise the body runs to the close. Several URLs share one kept-alive
connection when the server allows; a failed one does not stop the rest.

With -L, credentials (Authorization, Cookie, Proxy-Authorization, a URL's
user:password) go only to the origin they were given for, as curl does, and
never from https to http; --location-trusted sends them to other origins.

Exit statuses follow curl's: 1 unsupported scheme, 3 malformed URL, 6 name not
resolved, 7 connection failed, 8 malformed response, 18 body cut short by a
close, 22 status >= 400 with --fail, 23 write error, 28 timeout, 35 TLS
handshake failed, 47 too many redirects, 52 empty reply, 56 receive failure,
60 certificate not trusted, 61 bad gzip body, 63 --max-bytes, 77 --cacert
unreadable. With several URLs, the last failure's.`,
		Example: example,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("%s: no URL given", name)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if name == "head" {
				f.headOnly = true
			}
			if !cmd.Flags().Changed("request") {
				f.method = ""
			}
			return a.runHTTP(name, f, args, cmd.Flags().Changed("user-agent"))
		},
	}
	fl := cmd.Flags()
	f.family = familyFlags(cmd)
	fl.StringVarP(&f.method, "request", "X", "GET", "request method, sent as written")
	fl.BoolVarP(&f.headOnly, "head", "I", false, "HEAD request; print the response head (as sockit head)")
	if name == "get" {
		fl.StringArrayVarP(&f.data, "data", "d", nil, "POST this form body: DATA, or @FILE (newlines removed); repeats join with &")
		fl.StringArrayVar(&f.dataBinary, "data-binary", nil, "POST this body exactly: DATA, or @FILE")
		fl.StringArrayVar(&f.json, "json", nil, "POST this JSON body (DATA or @FILE) with JSON Content-Type and Accept")
	}
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "extra header 'Name: value' (repeatable; 'Name:' drops a default)")
	fl.StringVarP(&f.userAgent, "user-agent", "A", "", "User-Agent to send")
	fl.StringVarP(&f.user, "user", "u", "", "USER:PASSWORD for Basic authentication")
	fl.BoolVar(&f.raw, "raw", false, "print the exact bytes received")
	fl.StringVarP(&f.output, "output", "o", "", "write the body to FILE (- for stdout) instead of printing the response")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "show the connection (* ), request (> ), response head (< ) and phase timings on stderr")
	fl.BoolVarP(&f.silent, "silent", "s", false, "print no error messages")
	fl.BoolVarP(&f.showError, "show-error", "S", false, "with -s, still print error messages")
	fl.StringVarP(&f.writeOut, "write-out", "w", "", "after each transfer print FORMAT (or @FILE) with curl's %{variables}: http_code, time_total, size_download, url_effective, ...")
	fl.BoolVarP(&f.insecure, "insecure", "k", false, "https: do not verify the server's certificate")
	fl.StringVar(&f.cacert, "cacert", "", "https: trust the CA certificates in this PEM FILE")
	fl.StringVar(&f.unixSocket, "unix-socket", "", "connect to this Unix socket (unix:///path, unix://@abstract, or a path) instead of the URL's host")
	fl.StringArrayVar(&f.resolve, "resolve", nil, "HOST:PORT:ADDR: connect to ADDR for HOST:PORT (repeatable)")
	fl.BoolVarP(&f.follow, "location", "L", false, "follow redirects")
	fl.BoolVar(&f.trusted, "location-trusted", false, "as -L, and send credentials to other origins too (never from https to http)")
	fl.IntVar(&f.maxRedirs, "max-redirs", 50, "most redirects followed with -L (-1: no bound)")
	durationVar(fl, &f.connectTimeout, "connect-timeout", 10*time.Second, "bound on resolving, connecting and the TLS handshake")
	durationVar(fl, &f.timeout, "timeout", 30*time.Second, "bound on each wait for the server once connected: the first byte, each later 1 KiB, each write (0: none, as curl)")
	durationVarP(fl, &f.maxTime, "max-time", "m", 0, "bound on the whole command (0: none)")
	fl.BoolVarP(&f.fail, "fail", "f", false, "on a status of 400 or more print no body, only an error, and exit 22")
	fl.Int64Var(&f.maxBytes, "max-bytes", 0, "refuse a body larger than this (0: no bound)")
	fl.IntVar(&f.retry, "retry", 0, "retry a transient failure (timeout, 408, 429, 500, 502, 503, 504) up to N times, waiting 1s, 2s, 4s... or Retry-After")
	fl.BoolVar(&f.compressed, "compressed", false, "ask for a gzip body (Accept-Encoding) and decode it")
	return cmd
}

// httpFail is one failure with its curl exit status.
type httpFail struct {
	code int
	err  error
}

func (a *app) runHTTP(name string, f *httpFlags, urls []string, uaSet bool) error {
	say := func(e *httpFail) {
		if !f.silent || f.showError {
			fmt.Fprintf(a.stderr, "sockit %s: %s\n", name, cli.Message(e.err))
		}
	}
	client, req, fail := a.httpSetup(f, uaSet)
	if fail != nil {
		say(fail)
		return quietExit(fail.code)
	}
	defer client.Close()
	format, err := readArg(a, f.writeOut)
	if err != nil {
		return usageErr("%s: -w: %w", name, err)
	}
	ctx := a.ctx
	if f.maxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.maxTime)
		defer cancel()
	}
	out := &sink{path: f.output, stdout: a.stdout}
	if f.output == "-" {
		out.path = ""
	} else if f.output == "" && a.stdoutTTY {
		out.binaryCheck = true
	}
	var last *httpFail
	for _, raw := range urls {
		start := time.Now()
		ex, fail := a.transfer(ctx, name, f, client, req, raw, out)
		if a.ctx.Err() != nil {
			// Ctrl-C: quiet, 130, as every command; what was received so
			// far stays where it was written, as curl leaves it.
			out.finish(false)
			return quietExit(exitInterrupted)
		}
		if fail != nil {
			say(fail)
			last = fail
		}
		if format != "" {
			writeOut(a.stdout, a.stderr, format, &transferInfo{raw: raw, ex: ex, total: time.Since(start), fail: fail})
		}
	}
	if err := out.finish(last == nil); err != nil && last == nil {
		last = &httpFail{exitWrite, err}
		say(last)
	}
	if last != nil {
		return quietExit(last.code)
	}
	return nil
}

// httpSetup turns the flags into a client and the request every URL
// starts from (URL left unset).
func (a *app) httpSetup(f *httpFlags, uaSet bool) (*httpraw.Client, *httpraw.Request, *httpFail) {
	usage := func(format string, args ...any) *httpFail { return &httpFail{exitUsage, fmt.Errorf(format, args...)} }
	fam, err := f.family()
	if err != nil {
		return nil, nil, &httpFail{exitUsage, err}
	}
	// curl refuses a negative bound; 0 is none, as the help says.
	switch {
	case f.connectTimeout < 0:
		return nil, nil, usage("--connect-timeout %v: want 0 (no bound) or more", f.connectTimeout)
	case f.timeout < 0:
		return nil, nil, usage("--timeout %v: want 0 (no bound) or more", f.timeout)
	case f.maxTime < 0:
		return nil, nil, usage("-m %v: want 0 (no bound) or more", f.maxTime)
	case f.maxBytes < 0:
		return nil, nil, usage("--max-bytes %d: want 0 (no bound) or more", f.maxBytes)
	case f.retry < 0:
		return nil, nil, usage("--retry %d: want 0 or more", f.retry)
	case f.maxRedirs < -1:
		return nil, nil, usage("--max-redirs %d: want -1 (no bound) or more", f.maxRedirs)
	}
	client := &httpraw.Client{ConnectTimeout: f.connectTimeout, Timeout: f.timeout, Family: fam}
	if f.unixSocket != "" {
		path := f.unixSocket
		if strings.Contains(path, "://") {
			e, err := sockit.ParseEndpoint(path, sockit.Defaults{})
			if err != nil {
				return nil, nil, usage("--unix-socket: %w", err)
			}
			if e.Network != "unix" {
				return nil, nil, usage("--unix-socket %s: HTTP needs a unix:// stream socket", path)
			}
			path = e.Address
		}
		client.UnixSocket = path
	}
	tlsCfg := &tls.Config{InsecureSkipVerify: f.insecure}
	if f.cacert != "" {
		pem, err := os.ReadFile(f.cacert)
		if err != nil {
			return nil, nil, &httpFail{exitCACert, fmt.Errorf("--cacert: %w", err)}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, &httpFail{exitCACert, fmt.Errorf("--cacert %s: no PEM certificates in it", f.cacert)}
		}
		tlsCfg.RootCAs = pool
	}
	client.TLS = tlsCfg
	for _, r := range f.resolve {
		hostPort, addr, ok := cutLast(r, ":")
		host, port, ok2 := cutLast(hostPort, ":")
		ip, err := netip.ParseAddr(strings.Trim(addr, "[]"))
		if n, perr := strconv.Atoi(port); !ok || !ok2 || err != nil || perr != nil || n < 1 || n > 65535 || host == "" {
			return nil, nil, usage("--resolve %q is not HOST:PORT:ADDR", r)
		}
		if client.Resolve == nil {
			client.Resolve = map[string]string{}
		}
		client.Resolve[net.JoinHostPort(strings.Trim(host, "[]"), port)] = ip.String()
	}
	if f.follow || f.trusted {
		client.CheckRedirect = httpraw.FollowRedirects(f.maxRedirs, f.trusted)
	}

	req := &httpraw.Request{Method: f.method, UserAgent: "sockit/" + version()}
	var h []httpraw.Field
	for _, s := range f.headers {
		n, v, ok := strings.Cut(s, ":")
		if !ok || strings.TrimSpace(n) == "" || strings.ContainsAny(s, "\r\n") {
			return nil, nil, usage("-H %q is not 'Name: value'", s)
		}
		h = append(h, httpraw.Field{Name: strings.TrimSpace(n), Value: strings.TrimSpace(v)})
	}
	// Fields derived from flags give way to the same field given with -H.
	add := func(name, value string) {
		if httpraw.Header(h).Has(name) {
			return
		}
		h = append(h, httpraw.Field{Name: name, Value: value})
	}
	if uaSet {
		add("User-Agent", f.userAgent)
	}
	if f.user != "" {
		if !strings.Contains(f.user, ":") {
			return nil, nil, usage("-u %q: give USER:PASSWORD (there is no password prompt)", f.user)
		}
		add("Authorization", basicAuth(f.user))
	}
	if f.compressed {
		add("Accept-Encoding", "gzip")
	}
	if len(f.json) > 0 && len(f.data)+len(f.dataBinary) > 0 {
		return nil, nil, usage("--json and -d/--data-binary exclude each other")
	}
	var parts []string
	for i, d := range append(append([]string{}, f.data...), f.dataBinary...) {
		b, err := readArg(a, d)
		if err != nil {
			return nil, nil, usage("-d: %w", err)
		}
		if i < len(f.data) && strings.HasPrefix(d, "@") {
			b = strings.NewReplacer("\r", "", "\n", "").Replace(b) // as curl -d @FILE
		}
		parts = append(parts, b)
	}
	if len(parts) > 0 {
		req.Body = []byte(strings.Join(parts, "&"))
		add("Content-Type", "application/x-www-form-urlencoded")
	}
	if len(f.json) > 0 {
		var body strings.Builder
		for _, d := range f.json {
			b, err := readArg(a, d)
			if err != nil {
				return nil, nil, usage("--json: %w", err)
			}
			body.WriteString(b)
		}
		req.Body = []byte(body.String())
		add("Content-Type", "application/json")
		add("Accept", "application/json")
	}
	if req.Method == "" {
		switch {
		case f.headOnly:
			req.Method = "HEAD"
		case req.Body != nil:
			req.Method = "POST"
		default:
			req.Method = "GET"
		}
	}
	req.Header = h
	return client, req, nil
}

// readArg reads curl's @FILE (@- for stdin) notation; other text is itself.
func readArg(a *app, s string) (string, error) {
	switch {
	case s == "@-":
		b, err := io.ReadAll(a.stdin)
		return string(b), err
	case strings.HasPrefix(s, "@"):
		b, err := os.ReadFile(s[1:])
		return string(b), err
	}
	return s, nil
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

func basicAuth(userPass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(userPass))
}

// transfer fetches one URL, with --retry, and prints it as the flags ask.
func (a *app) transfer(ctx context.Context, name string, f *httpFlags, client *httpraw.Client, base *httpraw.Request, raw string, out *sink) (*httpraw.Exchange, *httpFail) {
	u, err := httpraw.ParseURL(raw)
	if err != nil {
		if errors.Is(err, httpraw.ErrUnsupportedScheme) {
			return nil, &httpFail{exitFailure, fmt.Errorf("%s: %w", raw, err)}
		}
		return nil, &httpFail{exitURLMalformed, fmt.Errorf("%s: malformed URL: %w", raw, err)}
	}
	req := *base
	if u.User != nil {
		// curl sends a URL's user:password as Basic authentication (under
		// -u's, or -H Authorization's, if given).
		user := u.User.Username()
		pw, _ := u.User.Password()
		if !req.Header.Has("Authorization") {
			req.Header = append(append([]httpraw.Field(nil), req.Header...), httpraw.Field{Name: "Authorization", Value: basicAuth(user + ":" + pw)})
		}
		u.User = nil
	}
	req.URL = u
	delay := time.Second
	for attempt := 0; ; attempt++ {
		retriesLeft := f.retry - attempt
		ex, fail, transient := a.attempt(ctx, f, client, &req, out, retriesLeft > 0)
		if fail == nil || !transient || retriesLeft <= 0 {
			return ex, fail
		}
		wait := delay
		if ex != nil && ex.Response != nil {
			if d, ok := retryAfter(ex.Response); ok {
				wait = d
			}
		}
		wait = min(wait, 10*time.Minute) // curl's cap on its backoff
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
			return ex, fail // the wait would outlast -m
		}
		if !f.silent {
			fmt.Fprintf(a.stderr, "sockit %s: %s; will retry in %v, %d retries left\n", name, cli.Message(fail.err), wait, retriesLeft)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ex, &httpFail{httpExit(ctx.Err()), fmt.Errorf("%s: %w", raw, ctx.Err())}
		case <-t.C:
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
func (a *app) attempt(ctx context.Context, f *httpFlags, client *httpraw.Client, req *httpraw.Request, out *sink, mayRetry bool) (ex *httpraw.Exchange, fail *httpFail, transient bool) {
	// Where the head goes: into the output with head/-I (as curl -I -o),
	// to stdout unless -o or -v (which shows it on stderr) or --raw.
	headOut := io.Writer(nil)
	if !f.raw && (f.headOnly || f.output == "" && !f.verbose) {
		headOut = out
	}
	var rawOut io.Writer
	body := &bodyWriter{}
	if f.raw {
		rawOut = out
	}
	var failed *httpraw.Response
	var headErr error
	mark := out.mark()
	client.OnSend = nil
	client.OnDone = nil
	if f.verbose {
		client.OnSend = func(r *httpraw.Request, addr net.Addr, reused bool) {
			host := r.URL.Hostname()
			if reused {
				fmt.Fprintf(a.stderr, "* Re-using existing connection with host %s\n", host)
			} else if ta, ok := addr.(*net.TCPAddr); ok {
				fmt.Fprintf(a.stderr, "* Connected to %s (%s) port %d\n", host, ta.IP, ta.Port)
			} else {
				fmt.Fprintf(a.stderr, "* Connected to %s (%s) port %s\n", host, addr, port(r))
			}
			var sb strings.Builder
			r.Write(&sb)
			head, _, _ := strings.Cut(sb.String(), "\r\n\r\n")
			for _, l := range strings.Split(head, "\r\n") {
				fmt.Fprintf(a.stderr, "> %s\n", l)
			}
			fmt.Fprintln(a.stderr, ">")
		}
		client.OnDone = func(ex *httpraw.Exchange) {
			t := ex.Timings
			conn := fmt.Sprintf("resolve %s connect %s tls %s", ms(t.Resolve), ms(t.Connect), ms(t.TLS))
			if t.Reused {
				conn = "connection reused"
			}
			fmt.Fprintf(a.stderr, "* %s first-byte %s total %s, %d body bytes\n", conn, ms(t.FirstByte), ms(t.Total), ex.BodySize)
		}
	}
	// -v shows the head on stderr, unless stdout shows it already.
	headOnStdout := out.path == "" && (headOut != nil || f.raw)
	client.OnHead = func(resp *httpraw.Response) {
		if f.verbose && !headOnStdout {
			for _, l := range strings.Split(strings.TrimRight(string(resp.Head), "\r\n"), "\n") {
				fmt.Fprintf(a.stderr, "< %s\n", strings.TrimRight(l, "\r"))
			}
			fmt.Fprintln(a.stderr, "<")
		}
		body.reset(out)
		switch {
		case f.fail && resp.Status >= 400, mayRetry && transientStatus(resp.Status):
			// curl -f prints no part of a failed response; a response
			// that will be retried is not printed either.
			failed = resp
			body.reset(io.Discard)
			return
		case f.compressed:
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
	ex, err := client.Do(ctx, req, body, rawOut, f.maxBytes)
	if cerr := body.close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil && headErr != nil {
		err = headErr
	}
	if err != nil {
		code := httpExit(err)
		if code == exitTooLarge {
			out.rollback(mark) // leave no partial file behind
		}
		return ex, &httpFail{code, fmt.Errorf("%s: %w", urlOf(ex, req), err)}, code == exitTimeout || code == exitResolve
	}
	if failed != nil {
		err := fmt.Errorf("%s: (22) The requested URL returned error: %d", urlOf(ex, req), failed.Status)
		if f.fail && failed.Status >= 400 {
			return ex, &httpFail{exitHTTPFail, err}, transientStatus(failed.Status)
		}
		return ex, &httpFail{exitHTTPFail, fmt.Errorf("%s: the server answered %d %s", urlOf(ex, req), failed.Status, failed.Reason)}, true
	}
	return ex, nil, false
}

func port(r *httpraw.Request) string {
	if p := r.URL.Port(); p != "" {
		return p
	}
	if r.URL.Scheme == "https" {
		return "443"
	}
	return "80"
}

func urlOf(ex *httpraw.Exchange, req *httpraw.Request) string {
	if ex != nil && ex.Request != nil {
		return ex.Request.URL.String()
	}
	return req.URL.String()
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3fms", float64(d)/1e6)
}

func httpExit(err error) int {
	var (
		re     *httpraw.ResolveError
		ce     *httpraw.ConnectError
		te     *httpraw.TLSError
		me     *httpraw.MalformedError
		we     *cli.WriteError
		ee     *encodingError
		ne     net.Error
		ua     x509.UnknownAuthorityError
		ci     x509.CertificateInvalidError
		he     x509.HostnameError
		cve    *tls.CertificateVerificationError
		closed *httpraw.ClosedError
	)
	switch {
	case errors.As(err, &we):
		return exitWrite
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return exitTimeout
	case errors.As(err, &re):
		return exitResolve
	case errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he) || errors.As(err, &cve):
		return exitPeerCert
	case errors.As(err, &te):
		return exitTLS
	case errors.As(err, &ce):
		return exitConnect
	case errors.Is(err, httpraw.ErrTooManyRedirects):
		return exitRedirects
	case errors.Is(err, httpraw.ErrUnsupportedScheme):
		return exitFailure
	case errors.As(err, &closed) && closed.Empty:
		return exitEmptyReply
	case errors.As(err, &closed):
		return exitPartial
	case errors.As(err, &me):
		return exitMalformed
	case errors.Is(err, httpraw.ErrBodyTooLarge):
		return exitTooLarge
	case errors.As(err, &ee):
		return exitBadEncoding
	case errors.Is(err, context.Canceled):
		return exitFailure
	}
	return exitRecv
}
