package main

import (
	"errors"
	"time"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/proto/httpraw/transfer"
)

// httpFlags are the flags of get and head beside those that fill the
// request (transfer.Request) and the transfer (transfer.Transfer) directly.
type httpFlags struct {
	req      transfer.Request
	tr       transfer.Transfer
	opt      transfer.Options
	writeOut string
	// --http1.1, --http2, --http2-prior-knowledge: Options.Version.
	http11, http2, http2PK bool
	family                 func() (int, error)
}

func (a *app) headCommand() *cobra.Command {
	return a.httpCommand("head", "Send HEAD requests by hand, print the response head (the brief's HEAD)",
		`  sockit head http://127.0.0.1:8080/    # the brief's HEAD, against sockit serve
  sockit head -v https://localhost:8443/ --cacert ca.pem
  sockit head unix:///run/app.sock`)
}

func (a *app) getCommand() *cobra.Command {
	return a.httpCommand("get", "Send GET (or -X METHOD) requests by hand, print the response (the brief's GET)",
		`  sockit get http://127.0.0.1:8080/       # status line, headers, body (curl -i)
  sockit get --raw http://127.0.0.1:8080/ # the bytes as received (the brief)
  # two URLs, one kept-alive connection:
  sockit get -o page.html http://127.0.0.1:8080/ http://127.0.0.1:8080/other
  sockit get --json '{"a":1}' http://127.0.0.1:8080/api  # POST, JSON
  sockit get -G -d q=sockets -O http://127.0.0.1:8080/search  # into ./search
  sockit get -s -o /dev/null -w '%{http_code} %{time_total}\n' http://[::1]/`)
}

const httpLong = `.

The request is written by hand (request line, Host, User-Agent, Accept, any
-H), and the response framed by RFC 9112: HEAD, 1xx, 204 and 304 have no body;
chunked bodies are decoded, trailers kept; Content-Length is read exactly;
otherwise the body runs to the close. Several URLs share one kept-alive
connection when the server allows; a failed one does not stop the rest. A URL
unix:///path asks the socket at path for / (use --unix-socket for another
path). The output is the response head and body, as curl -i prints them; -o
and -O take the body alone (with -i, the head too).

With -L, credentials (Authorization, Cookie, Proxy-Authorization, a URL's
user:password) go only to the origin they were given for, as curl does, and
never from https to http; --location-trusted sends them to other origins.

Exit statuses follow curl's: 1 unsupported scheme, 3 malformed URL, 6 name not
resolved, 7 connection failed, 8 malformed response, 18 body cut short by a
close, 22 status >= 400 with --fail, 23 write error, 28 timeout, 35 TLS
handshake failed, 47 too many redirects, 52 empty reply, 56 receive failure,
60 certificate not trusted, 61 bad gzip body, 63 --max-bytes, 77 --cacert
unreadable. With several URLs, the last failure's.`

func (a *app) httpCommand(name, short, example string) *cobra.Command {
	f := &httpFlags{}
	cmd := &cobra.Command{
		Use:     name + " [flags] URL...",
		Short:   short,
		Long:    short + httpLong,
		Example: example,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				return usageErr("%s: no URL given", name)
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			f.req.Head = f.req.Head || name == "head"
			f.req.AgentSet = cmd.Flags().Changed("user-agent")
			return a.runHTTP(name, f, args)
		},
	}
	f.family = familyFlags(cmd)
	a.httpRequestFlags(cmd, name, f)
	a.httpTransferFlags(cmd, f)
	return cmd
}

// httpRequestFlags are the flags that say what is sent.
func (a *app) httpRequestFlags(cmd *cobra.Command, name string, f *httpFlags) {
	fl, r := cmd.Flags(), &f.req
	fl.StringVarP(&r.Method, "request", "X", "", "request method, sent as written (default GET, POST with a body)")
	fl.BoolVarP(&r.Head, "head", "I", false, "HEAD request; print the response head (as sockit head)")
	if name == "get" {
		fl.StringArrayVarP(&r.Data, "data", "d", nil, "POST this form body: DATA, or @FILE (newlines removed); repeats join with &")
		fl.StringArrayVar(&r.DataBinary, "data-binary", nil, "POST this body exactly: DATA, or @FILE")
		fl.StringArrayVar(&r.JSON, "json", nil, "POST this JSON body (DATA or @FILE) with JSON Content-Type and Accept")
		fl.BoolVarP(&r.Get, "get", "G", false, "put the -d data in the URL's query, in a GET")
	}
	fl.StringArrayVarP(&r.Headers, "header", "H", nil, "extra header 'Name: value' (repeatable; 'Name:' drops a default)")
	fl.StringVarP(&r.Agent, "user-agent", "A", "", "User-Agent to send (default sockit/VERSION)")
	fl.StringVarP(&r.User, "user", "u", "", "USER:PASSWORD for Basic authentication")
	fl.StringVarP(&r.Referer, "referer", "e", "", "Referer to send")
	fl.StringVarP(&r.Cookie, "cookie", "b", "", "cookies to send: 'NAME=VALUE; ...', or a cookie FILE (Netscape's format, curl -c's)")
	fl.BoolVar(&r.Compressed, "compressed", false, "ask for a gzip body (Accept-Encoding) and decode it")
	fl.BoolVar(&r.HTTP10, "http1.0", false, "send HTTP/1.0 requests")
	fl.BoolVar(&f.http11, "http1.1", false, "HTTP/1.1 only (over TLS ALPN offers http/1.1 alone); by default, as curl, ALPN offers h2 and http/1.1 and the server picks")
	fl.BoolVar(&f.http2, "http2", false, "ask for HTTP/2: over TLS by ALPN (the default); in cleartext the first request asks to upgrade to h2c (Upgrade: h2c), else HTTP/1.1")
	fl.BoolVar(&f.http2PK, "http2-prior-knowledge", false, "speak HTTP/2 from the first byte to a cleartext port (h2c), as curl")
	fl.StringVarP(&f.opt.Proxy, "proxy", "x", "", "go through this HTTP proxy: [http://][USER:PASSWORD@]HOST[:PORT] (port 1080)")
}

// httpTransferFlags are the flags that say where it goes and what is shown.
func (a *app) httpTransferFlags(cmd *cobra.Command, f *httpFlags) {
	fl, t := cmd.Flags(), &f.tr
	fl.BoolVar(&t.Raw, "raw", false, "print the exact bytes received")
	fl.StringVarP(&t.Output, "output", "o", "", "write the body to FILE (- for stdout) instead of printing the response")
	fl.BoolVarP(&t.RemoteName, "remote-name", "O", false, "write each body to a file named as its URL's last path segment")
	fl.BoolVarP(&t.Include, "include", "i", false, "put the response head in the output (-o FILE too)")
	fl.BoolVarP(&t.Verbose, "verbose", "v", false, "show the connection (* ), request (> ), response head (< ) and curl's times on stderr")
	fl.BoolVarP(&t.Silent, "silent", "s", false, "print no error messages")
	fl.BoolVarP(&t.ShowError, "show-error", "S", false, "with -s, still print error messages")
	fl.StringVarP(&f.writeOut, "write-out", "w", "", "after each transfer print FORMAT (or @FILE) with curl's %{variables}: http_code, time_total, size_download, url_effective, ...")
	fl.BoolVarP(&f.opt.Insecure, "insecure", "k", false, "https: do not verify the server's certificate")
	fl.StringVar(&f.opt.CACert, "cacert", "", "https: trust the CA certificates in this PEM FILE")
	fl.StringVar(&f.opt.UnixSocket, "unix-socket", "", "connect to this Unix socket (unix:///path, unix://@abstract, or a path) instead of the URL's host")
	fl.StringArrayVar(&f.opt.Resolve, "resolve", nil, "HOST:PORT:ADDR: connect to ADDR for HOST:PORT (repeatable)")
	fl.BoolVarP(&f.opt.Follow, "location", "L", false, "follow redirects")
	fl.BoolVar(&f.opt.Trusted, "location-trusted", false, "as -L, and send credentials to other origins too (never from https to http)")
	fl.IntVar(&f.opt.MaxRedirs, "max-redirs", 50, "most redirects followed with -L (-1: no bound)")
	durationVar(fl, &f.opt.ConnectTimeout, "connect-timeout", 10*time.Second, "bound on resolving, connecting and the TLS handshake")
	durationVar(fl, &f.opt.Timeout, "timeout", 30*time.Second, "bound on each wait for the server once connected: the first byte, each later 1 KiB, each write (0: none, as curl)")
	durationVarP(fl, &t.MaxTime, "max-time", "m", 0, "bound on the whole command (0: none)")
	fl.BoolVarP(&t.Fail, "fail", "f", false, "on a status of 400 or more print no body, only an error, and exit 22")
	fl.Int64Var(&t.MaxBytes, "max-bytes", 0, "refuse a body larger than this (0: no bound)")
	fl.IntVar(&t.Retry, "retry", 0, "retry a transient failure (timeout, 408, 429, 500, 502, 503, 504) up to N times, waiting 1s, 2s, 4s... or Retry-After")
}

func (a *app) runHTTP(name string, f *httpFlags, urls []string) error {
	var err error
	if f.opt.Family, err = f.family(); err != nil {
		return err
	}
	switch {
	case f.req.HTTP10:
		f.opt.Version = "1.0"
	case f.http11:
		f.opt.Version = "1.1"
	case f.http2PK:
		f.opt.Version = "2-prior-knowledge"
	case f.http2:
		f.opt.Version = "2"
	}
	t := &f.tr
	t.Stdout, t.Stderr, t.Prefix, t.Terminal = a.stdout, a.stderr, "sockit "+name, a.stdoutTTY
	t.Head, t.Compressed = f.req.Head, f.req.Compressed
	f.req.Stdin, f.req.UserAgent = a.stdin, "sockit/"+version()
	if t.Template, err = f.req.Prepare(); err != nil {
		return usageErr("%w", err)
	}
	if t.WriteOut, err = transfer.ReadArg(f.writeOut, a.stdin); err != nil {
		return usageErr("-w: %w", err)
	}
	if t.Client, err = f.opt.Client(); err == nil {
		defer t.Client.Close()
		err = t.Run(a.ctx, urls)
	} else if !errors.As(err, new(*transfer.FlagError)) {
		t.Say(err) // --cacert: curl's 77
	}
	switch {
	case a.ctx.Err() != nil:
		// Ctrl-C: quiet, 130, as every command.
		return quietExit(exitInterrupted)
	case errors.As(err, new(*transfer.FlagError)):
		return usageErr("%w", err)
	case err != nil:
		return quietExit(transfer.ExitCode(err))
	}
	return nil
}
