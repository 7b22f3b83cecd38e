package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/proto/httpraw"
)

// curl's exit statuses, which head and get keep.
const (
	exitResolve   = 6
	exitConnect   = 7
	exitMalformed = 8
	exitHTTPFail  = 22
	exitTimeout   = 28
	exitRedirects = 47
	exitRecv      = 56
	exitTooLarge  = 63
)

type httpFlags struct {
	method         string
	data           string
	headers        []string
	raw            bool
	output         string
	verbose        bool
	insecure       bool
	cacert         string
	unixSocket     string
	follow         bool
	maxRedirs      int
	connectTimeout time.Duration
	maxTime        time.Duration
	fail           bool
	maxBytes       int64
	family         func() (int, error)
}

func (a *app) headCommand() *cobra.Command {
	return a.httpCommand("head", "HEAD", "Send HEAD requests by hand and print the response head (the brief's HEAD example)",
		`  sockit head http://127.0.0.1:8080/           # the brief's HEAD request, against sockit serve
  sockit head -v https://localhost:8443/ --cacert ca.pem
  sockit head --unix-socket /run/app.sock http://app/`)
}

func (a *app) getCommand() *cobra.Command {
	return a.httpCommand("get", "GET", "Send GET (or -X METHOD) requests by hand and print the response (the brief's GET example)",
		`  sockit get http://127.0.0.1:8080/            # status line, headers, body, like curl -i
  sockit get --raw http://127.0.0.1:8080/      # the exact bytes received, as the brief prints them
  sockit get -o page.html http://127.0.0.1:8080/ http://127.0.0.1:8080/other   # one kept-alive connection
  sockit get -X POST -d @body.json -H 'Content-Type: application/json' http://127.0.0.1:8080/api`)
}

func (a *app) httpCommand(name, method, short, example string) *cobra.Command {
	f := &httpFlags{method: method}
	cmd := &cobra.Command{
		Use:   name + " [flags] URL...",
		Short: short,
		Long: short + `.

The request is written by hand (request line, Host, User-Agent, Accept, any -H),
and the response framed by RFC 9112: HEAD, 1xx, 204 and 304 have no body;
chunked bodies are decoded, trailers kept; Content-Length is read exactly;
otherwise the body runs to the close. Several URLs share one kept-alive
connection when the server allows. Exit statuses follow curl's: 6 name not
resolved, 7 connection failed, 8 malformed response, 22 status >= 400 with
--fail, 28 timeout, 47 too many redirects, 56 receive failure, 63 --max-bytes.`,
		Example: example,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("%s: no URL given", name)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runHTTP(name, f, args)
		},
	}
	fl := cmd.Flags()
	f.family = familyFlags(cmd)
	if name == "get" {
		fl.StringVarP(&f.method, "request", "X", "GET", "request method")
		fl.StringVarP(&f.data, "data", "d", "", "request body: DATA, or @FILE to read it from FILE")
	}
	fl.StringArrayVarP(&f.headers, "header", "H", nil, "extra header 'Name: value' (repeatable; 'Name:' drops a default)")
	fl.BoolVar(&f.raw, "raw", false, "print the exact bytes received")
	fl.StringVarP(&f.output, "output", "o", "", "write the body to FILE instead of printing the response")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "show the request (> ), response head (< ) and phase timings (* ) on stderr")
	fl.BoolVarP(&f.insecure, "insecure", "k", false, "https: do not verify the server's certificate")
	fl.StringVar(&f.cacert, "cacert", "", "https: trust the CA certificates in this PEM FILE")
	fl.StringVar(&f.unixSocket, "unix-socket", "", "connect to this Unix socket instead of the URL's host")
	fl.BoolVarP(&f.follow, "location", "L", false, "follow redirects")
	fl.IntVar(&f.maxRedirs, "max-redirs", 10, "most redirects followed with -L")
	durationVar(fl, &f.connectTimeout, "connect-timeout", 10*time.Second, "bound on resolving, connecting and the TLS handshake")
	durationVarP(fl, &f.maxTime, "max-time", "m", 0, "bound on the whole command (0: none)")
	fl.BoolVarP(&f.fail, "fail", "f", false, "exit 22 when a status is 400 or more")
	fl.Int64Var(&f.maxBytes, "max-bytes", 0, "refuse a body larger than this (0: no bound)")
	return cmd
}

func (a *app) runHTTP(name string, f *httpFlags, urls []string) error {
	ctx := a.ctx
	if f.maxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.maxTime)
		defer cancel()
	}
	fam, err := f.family()
	if err != nil {
		return err
	}
	client := &httpraw.Client{ConnectTimeout: f.connectTimeout, UnixSocket: f.unixSocket, Family: fam}
	defer client.Close()
	tlsCfg := &tls.Config{InsecureSkipVerify: f.insecure}
	if f.cacert != "" {
		pem, err := os.ReadFile(f.cacert)
		if err != nil {
			return usageErr("%s: --cacert: %v", name, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return usageErr("%s: --cacert %s: no PEM certificates in it", name, f.cacert)
		}
		tlsCfg.RootCAs = pool
	}
	client.TLS = tlsCfg

	var body []byte
	if strings.HasPrefix(f.data, "@") {
		b, err := os.ReadFile(f.data[1:])
		if err != nil {
			return usageErr("%s: -d: %v", name, err)
		}
		body = b
	} else if f.data != "" {
		body = []byte(f.data)
	}
	var extra []httpraw.Field
	for _, h := range f.headers {
		n, v, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(n) == "" || strings.ContainsAny(h, "\r\n") {
			return usageErr("%s: -H %q is not 'Name: value'", name, h)
		}
		extra = append(extra, httpraw.Field{Name: strings.TrimSpace(n), Value: strings.TrimSpace(v)})
	}
	var out io.Writer = a.stdout
	if f.output != "" {
		file, err := os.Create(f.output)
		if err != nil {
			return usageErr("%s: -o: %v", name, err)
		}
		defer file.Close()
		out = file
	}
	failed := false
	for _, raw := range urls {
		u, err := httpraw.ParseURL(raw)
		if err != nil {
			return usageErr("%s %s: %v", name, raw, err)
		}
		req := &httpraw.Request{Method: strings.ToUpper(f.method), URL: u, Header: extra, Body: body}
		for redirects := 0; ; redirects++ {
			ex, err := a.exchange(ctx, client, f, req, out)
			if err != nil {
				return &exitError{code: httpExit(err), err: fmt.Errorf("%s %s: %w", name, req.URL, err)}
			}
			resp := ex.Response
			loc, hasLoc := resp.Header.Get("Location")
			if f.follow && hasLoc && isRedirect(resp.Status) {
				if redirects >= f.maxRedirs {
					return &exitError{code: exitRedirects, err: fmt.Errorf("%s %s: more than %d redirects", name, raw, f.maxRedirs)}
				}
				next, err := req.URL.Parse(loc)
				if err != nil || (next.Scheme != "http" && next.Scheme != "https") {
					return &exitError{code: exitMalformed, err: fmt.Errorf("%s %s: bad Location %q", name, req.URL, loc)}
				}
				nreq := *req
				nreq.URL = next
				if resp.Status == 303 || (resp.Status == 301 || resp.Status == 302) && req.Method == "POST" {
					nreq.Method, nreq.Body = "GET", nil
				}
				req = &nreq
				continue
			}
			if f.fail && resp.Status >= 400 {
				fmt.Fprintf(a.stderr, "sockit: %s %s: the server answered %d %s\n", name, req.URL, resp.Status, resp.Reason)
				failed = true
			}
			break
		}
	}
	if failed {
		return quietExit(exitHTTPFail)
	}
	return nil
}

// switchWriter lets the body's destination change once the head is known.
type switchWriter struct{ w io.Writer }

func (s *switchWriter) Write(p []byte) (int, error) { return s.w.Write(p) }

func isRedirect(code int) bool {
	switch code {
	case 301, 302, 303, 307, 308:
		return true
	}
	return false
}

// exchange does one request and prints it as the flags ask.
func (a *app) exchange(ctx context.Context, client *httpraw.Client, f *httpFlags, req *httpraw.Request, out io.Writer) (*httpraw.Exchange, error) {
	if f.verbose {
		var sb strings.Builder
		req.Write(&sb)
		head, _, _ := strings.Cut(sb.String(), "\r\n\r\n")
		for _, l := range strings.Split(head, "\r\n") {
			fmt.Fprintf(a.stderr, "> %s\n", l)
		}
		fmt.Fprintln(a.stderr, ">")
	}
	var raw io.Writer
	body := &switchWriter{w: out}
	if f.raw {
		raw, body.w = out, io.Discard
	}
	client.OnHead = func(resp *httpraw.Response) {
		if _, loc := resp.Header.Get("Location"); f.follow && loc && isRedirect(resp.Status) {
			// As curl -L: a redirect's head is shown, its body is not.
			body.w = io.Discard
		}
		if !f.raw && f.output == "" {
			out.Write(resp.Head)
		}
		if f.verbose {
			for _, l := range strings.Split(strings.TrimRight(string(resp.Head), "\r\n"), "\n") {
				fmt.Fprintf(a.stderr, "< %s\n", strings.TrimRight(l, "\r"))
			}
			fmt.Fprintln(a.stderr, "<")
		}
	}
	ex, err := client.Do(ctx, req, body, raw, f.maxBytes)
	if f.verbose && ex != nil {
		t := ex.Timings
		conn := fmt.Sprintf("resolve %s connect %s tls %s", ms(t.Resolve), ms(t.Connect), ms(t.TLS))
		if t.Reused {
			conn = "connection reused"
		}
		fmt.Fprintf(a.stderr, "* %s first-byte %s total %s, %d body bytes\n", conn, ms(t.FirstByte), ms(t.Total), ex.BodySize)
	}
	return ex, err
}

func ms(d time.Duration) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3fms", float64(d)/1e6)
}

func httpExit(err error) int {
	var (
		re *httpraw.ResolveError
		ce *httpraw.ConnectError
		me *httpraw.MalformedError
		ne net.Error
	)
	switch {
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return exitTimeout
	case errors.As(err, &re):
		return exitResolve
	case errors.As(err, &ce):
		return exitConnect
	case errors.As(err, &me):
		return exitMalformed
	case errors.Is(err, httpraw.ErrBodyTooLarge):
		return exitTooLarge
	case errors.Is(err, context.Canceled):
		return exitFailure
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return exitUsage
	}
	return exitRecv
}
