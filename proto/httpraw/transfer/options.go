package transfer

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/httpraw"
)

// Options are where and how a curl command line's requests go: the
// connection part of it (-4/-6, --connect-timeout, --timeout,
// --unix-socket, -x, -k, --cacert, --resolve, -L, --location-trusted,
// --max-redirs). Client turns them into an httpraw.Client.
type Options struct {
	// Family is 4 or 6 for -4/-6, 0 for either.
	Family int
	// ConnectTimeout bounds resolving, connecting and the TLS handshake;
	// Timeout each later wait (both 0: none).
	ConnectTimeout, Timeout time.Duration
	// UnixSocket is --unix-socket: PATH, or unix:///PATH.
	UnixSocket string
	// Proxy is -x: [http://][USER:PASSWORD@]HOST[:PORT], port 1080.
	Proxy string
	// Insecure is -k; CACert is --cacert FILE.
	Insecure bool
	CACert   string
	// Resolve are --resolve's HOST:PORT:ADDR.
	Resolve []string
	// Follow is -L; Trusted is --location-trusted (-L, credentials
	// sent to every host); MaxRedirs is --max-redirs (-1: no bound).
	Follow, Trusted bool
	MaxRedirs       int
	// Version is the HTTP version asked for, as curl's flags say it: ""
	// (curl's default: h2 or HTTP/1.1 as ALPN picks over TLS, HTTP/1.1 in
	// cleartext), "1.1" (--http1.1), "1.0" (--http1.0: HTTP/1.1's
	// connection, the request line saying HTTP/1.0), "2" (--http2) or
	// "2-prior-knowledge" (--http2-prior-knowledge). See
	// httpraw.HTTPVersion.
	Version string
}

// FlagError is an option that does not parse: the command line's error.
type FlagError struct{ Err error }

func (e *FlagError) Error() string { return e.Err.Error() }
func (e *FlagError) Unwrap() error { return e.Err }

// CACertError is a --cacert file that could not be used (curl's 77).
type CACertError struct {
	Path string
	Err  error
}

func (e *CACertError) Error() string {
	if errors.Is(e.Err, errNoPEM) {
		return "--cacert " + e.Path + ": " + e.Err.Error()
	}
	return "--cacert: " + e.Err.Error() // the error names the file
}

var errNoPEM = errors.New("no PEM certificates in it")

func (e *CACertError) Unwrap() error { return e.Err }

func flagErr(format string, a ...any) error { return &FlagError{fmt.Errorf(format, a...)} }

// Client checks the options and returns the client they describe.
func (o *Options) Client() (*httpraw.Client, error) {
	// curl refuses a negative bound; 0 is none.
	switch {
	case o.ConnectTimeout < 0:
		return nil, flagErr("--connect-timeout %v: want 0 (no bound) or more", o.ConnectTimeout)
	case o.Timeout < 0:
		return nil, flagErr("--timeout %v: want 0 (no bound) or more", o.Timeout)
	case o.MaxRedirs < -1:
		return nil, flagErr("--max-redirs %d: want -1 (no bound) or more", o.MaxRedirs)
	}
	v, ok := versions[o.Version]
	if !ok {
		return nil, flagErr("HTTP version %q: want 1.0, 1.1, 2 or 2-prior-knowledge", o.Version)
	}
	c := &httpraw.Client{ConnectTimeout: o.ConnectTimeout, Timeout: o.Timeout, Family: o.Family, HTTPVersion: v}
	if path := o.UnixSocket; path != "" {
		if strings.Contains(path, "://") {
			e, err := sockit.ParseEndpoint(path, sockit.Defaults{})
			if err != nil {
				return nil, &FlagError{fmt.Errorf("--unix-socket: %w", err)}
			}
			if e.Network != "unix" {
				return nil, flagErr("--unix-socket %s: HTTP needs a unix:// stream socket", path)
			}
			path = e.Address
		}
		c.UnixSocket = path
	}
	if o.Proxy != "" {
		p := o.Proxy
		if !strings.Contains(p, "://") {
			p = "http://" + p // curl's default proxy scheme
		}
		u, err := url.Parse(p)
		if err != nil || u.Scheme != "http" || u.Hostname() == "" {
			return nil, flagErr("-x %q: want [http://][USER:PASSWORD@]HOST[:PORT]", o.Proxy)
		}
		c.Proxy = u
	}
	c.TLS = &tls.Config{InsecureSkipVerify: o.Insecure}
	if o.CACert != "" {
		pem, err := os.ReadFile(o.CACert)
		if err != nil {
			return nil, &CACertError{o.CACert, err}
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, &CACertError{o.CACert, errNoPEM}
		}
		c.TLS.RootCAs = pool
	}
	for _, r := range o.Resolve {
		hostPort, addr, ok := cutLast(r, ":")
		host, port, ok2 := cutLast(hostPort, ":")
		ip, err := netip.ParseAddr(strings.Trim(addr, "[]"))
		if n, perr := strconv.Atoi(port); !ok || !ok2 || err != nil || perr != nil || n < 1 || n > 65535 || host == "" {
			return nil, flagErr("--resolve %q is not HOST:PORT:ADDR", r)
		}
		if c.Resolve == nil {
			c.Resolve = map[string]string{}
		}
		c.Resolve[net.JoinHostPort(strings.Trim(host, "[]"), port)] = ip.String()
	}
	if o.Follow || o.Trusted {
		c.CheckRedirect = httpraw.FollowRedirects(o.MaxRedirs, o.Trusted)
	}
	return c, nil
}

var versions = map[string]httpraw.HTTPVersion{
	"": httpraw.HTTPAuto, "1.0": httpraw.HTTP1, "1.1": httpraw.HTTP1, "2": httpraw.HTTP2, "2-prior-knowledge": httpraw.HTTP2PriorKnowledge,
}

func cutLast(s, sep string) (before, after string, ok bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}
