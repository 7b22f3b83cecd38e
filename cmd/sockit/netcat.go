package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/netcat"
)

// familyFlags adds -4/-6 to a command and returns a function reading them.
func familyFlags(cmd *cobra.Command) func() (int, error) {
	var v4, v6 bool
	cmd.Flags().BoolVarP(&v4, "ipv4", "4", false, "use IPv4 only")
	cmd.Flags().BoolVarP(&v6, "ipv6", "6", false, "use IPv6 only")
	return func() (int, error) {
		switch {
		case v4 && v6:
			return 0, usageErr("%s: -4 and -6 exclude each other", cmd.CommandPath())
		case v4:
			return 4, nil
		case v6:
			return 6, nil
		}
		return 0, nil
	}
}

// sslFlags adds ncat's TLS flags to a command (netcat.SSL says what
// each means) and returns the options they fill.
func sslFlags(cmd *cobra.Command, listen bool) *netcat.SSL {
	var s netcat.SSL
	f := cmd.Flags()
	f.BoolVar(&s.On, "ssl", false, "TLS over TCP, as a tls:// endpoint (ncat's --ssl); every --ssl-* flag implies it")
	if listen {
		f.StringVar(&s.Cert, "ssl-cert", "", "PEM `FILE` of the server's certificate (and chain); without it, a temporary self-signed one")
		f.StringVar(&s.Key, "ssl-key", "", "PEM `FILE` of the certificate's private key")
		f.BoolVar(&s.Verify, "ssl-verify", false, "no effect in listen (as in ncat)")
		f.StringVar(&s.TrustFile, "ssl-trustfile", "", "no effect in listen (as in ncat)")
		f.StringVar(&s.ServerName, "ssl-servername", "", "no effect in listen (as in ncat)")
	} else {
		f.StringVar(&s.Cert, "ssl-cert", "", "PEM `FILE` of a client certificate (and chain)")
		f.StringVar(&s.Key, "ssl-key", "", "PEM `FILE` of the client certificate's private key")
		f.BoolVar(&s.Verify, "ssl-verify", false, "check the server's certificate and name (not checked without it, as in ncat)")
		f.StringVar(&s.TrustFile, "ssl-trustfile", "", "PEM `FILE` of the certificates to trust instead of the system's (implies --ssl-verify)")
		f.StringVar(&s.ServerName, "ssl-servername", "", "`NAME` to send as SNI and to verify (default: the host connected to)")
	}
	f.Func("ssl-alpn", "comma-separated ALPN `PROTOCOLS` to offer (connect) or accept (listen), e.g. h2,http/1.1", func(v string) error {
		s.ALPN = nil
		for p := range strings.SplitSeq(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				s.ALPN = append(s.ALPN, p)
			}
		}
		return nil
	})
	return &s
}

// sslEndpoint turns TLS on for e when the flags ask for it; a usage error
// when e cannot carry it.
func sslEndpoint(cmd *cobra.Command, s *netcat.SSL, e sockit.Endpoint) (sockit.Endpoint, error) {
	e, err := s.Endpoint(e)
	return e, sslErr(cmd, err)
}

// sslErr makes the errors of ncat's TLS options usage errors.
func sslErr(cmd *cobra.Command, err error) error {
	if errors.Is(err, netcat.ErrSSLUsage) {
		return usageErr("%s: %v", cmd.Name(), err)
	}
	return err
}

func (a *app) connectCommand() *cobra.Command {
	var (
		timeout time.Duration
		opt     netcat.Options
	)
	cmd := &cobra.Command{
		Use:   "connect [flags] ENDPOINT",
		Short: "Connect to ENDPOINT and join it to stdin and stdout (netcat)",
		Long: `connect sends stdin to the socket and the socket to stdout, over TCP, TLS,
UDP, unix or unixgram. At the end of stdin a stream connection is half-closed
(over TLS: close_notify, then the TCP FIN) and output goes on until the peer
closes. Over UDP and unixgram each read of stdin is one datagram, replies are
printed, and connect ends once stdin is done and no reply has come for --wait.

TLS (a tls:// endpoint, or --ssl) takes ncat's flags with ncat's meanings:
every --ssl-* flag turns TLS on, and the server's certificate is NOT checked
unless --ssl-verify or --ssl-trustfile is given (ncat's default; curl and
socat check by default).`,
		Example: `  printf 'hello there' | sockit connect localhost:8001   # the brief's client
  printf '' | sockit connect udp://127.0.0.1:8017          # a QOTD query
  sockit connect unix:///run/app.sock < request.bin > reply.bin
  printf 'HEAD / HTTP/1.0\r\n\r\n' | sockit connect --ssl-verify example.com:443
  sockit connect --ssl-trustfile cert.pem tls://127.0.0.1:8443`,
		Args: exactArgs(1),
	}
	family := familyFlags(cmd)
	ssl := sslFlags(cmd, false)
	durationVar(cmd.Flags(), &timeout, "timeout", 10*time.Second, "bound on the connect and TLS handshake and, once stdin has ended, on each wait for the peer (nc -w; 0: none)")
	durationVar(cmd.Flags(), &opt.Wait, "wait", 2*time.Second, "datagrams: quiet time to wait for replies after stdin ends")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fam, err := family()
		if err != nil {
			return err
		}
		if timeout < 0 {
			return usageErr("--timeout %v: want 0 (no bound) or more", timeout)
		}
		if opt.Wait <= 0 {
			return usageErr("--wait %v: want a positive time (replies take time to come back)", opt.Wait)
		}
		e, err := sockit.ParseEndpoint(args[0], sockit.Defaults{Network: "tcp"})
		if err != nil {
			return err
		}
		if err := checkTarget(e, fam); err != nil {
			return err
		}
		if e, err = sslEndpoint(cmd, ssl, e); err != nil {
			return err
		}
		d := &sockit.Dialer{Timeout: timeout, Family: fam}
		if e.IsTLS() {
			if d.TLS, err = ssl.Client(); err != nil {
				return sslErr(cmd, err)
			}
		}
		opt.StopOnPeerClose = isTerminal(a.stdin)
		return interrupted(a, netcat.Connect(a.ctx, d, e, a.stdin, a.stdout, opt))
	}
	return cmd
}

func (a *app) listenCommand() *cobra.Command {
	var opt netcat.Options
	cmd := &cobra.Command{
		Use:   "listen [flags] ENDPOINT",
		Short: "Wait for peers on ENDPOINT and join them to stdin and stdout (netcat -l)",
		Long: `listen binds ENDPOINT and relays between the peer and stdin/stdout. It
serves one connection and exits when that peer is done; with -k it keeps
accepting, serves peers concurrently, and copies stdin to all of them. Over UDP
and unixgram it prints each datagram and sends stdin to the latest sender.
Binding port 0 picks a free port; the real address is printed on stderr.
A bare PORT listens on every address, as nc -l PORT does.

TLS (a tls:// endpoint, or --ssl, or any --ssl-* flag, as in ncat) serves
TLS 1.2 and 1.3 with AEAD ciphers only. Without --ssl-cert and --ssl-key it
makes a temporary self-signed certificate (ECDSA P-256) and prints its
SHA-256 fingerprint on stderr, as ncat prints its temporary one's (openssl
x509 -fingerprint -sha256 shows the same digits in pairs). A peer whose
handshake fails or takes over 10 s is reported and dropped, and listen
waits for the next, as ncat does.`,
		Example: `  sockit listen 127.0.0.1:8001 > received.bin
  sockit listen 8001                          # nc -l 8001
  sockit listen -k tcp://[::1]:0
  sockit listen unixgram:///tmp/log.sock
  sockit listen --ssl 8443                    # ncat --ssl -l 8443
  sockit listen --ssl-cert cert.pem --ssl-key key.pem tls://0.0.0.0:8443`,
		Args: exactArgs(1),
	}
	family := familyFlags(cmd)
	ssl := sslFlags(cmd, true)
	cmd.Flags().BoolVarP(&opt.KeepOpen, "keep-open", "k", false, "keep accepting connections, serving them concurrently")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		fam, err := family()
		if err != nil {
			return err
		}
		arg := args[0]
		if _, err := strconv.ParseUint(arg, 10, 16); err == nil {
			arg = ":" + arg // nc -l 8001: the port on every address
		}
		e, err := sockit.ParseEndpoint(arg, sockit.Defaults{Network: "tcp"})
		if err != nil {
			return err
		}
		if e, err = sslEndpoint(cmd, ssl, e); err != nil {
			return err
		}
		if e.IsTLS() {
			fingerprint := ""
			if opt.TLS, fingerprint, err = ssl.Server(e.Host()); err != nil {
				return sslErr(cmd, err)
			}
			if fingerprint != "" {
				fmt.Fprintf(a.stderr, "temporary self-signed ECDSA P-256 certificate (--ssl-cert and --ssl-key give a permanent one)\nSHA-256 fingerprint: %s\n", fingerprint)
			}
			opt.PeerFailed = func(peer net.Addr, err error) {
				fmt.Fprintf(a.stderr, "%s: %s\n", errPrefix(cmd), errMessage(cmd, fmt.Errorf("TLS handshake with %s failed: %w", peer, err)))
			}
		}
		opt.StopOnPeerClose = isTerminal(a.stdin)
		opt.Announce = func(network string, addr net.Addr) {
			fmt.Fprintf(a.stderr, "listening %s %s\n", network, addr)
		}
		return interrupted(a, netcat.Listen(a.ctx, e.WithFamily(fam), a.stdin, a.stdout, opt))
	}
	return cmd
}

// isTerminal reports whether r is a terminal: input that may never end.
func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	return isatty.IsTerminal(f.Fd())
}

// interrupted makes a netcat that a signal ended exit 130, as nc killed by
// Ctrl-C does, even when it stopped cleanly.
func interrupted(a *app, err error) error {
	if err == nil && a.ctx.Err() != nil {
		return a.ctx.Err()
	}
	return err
}

// isTerminalOut reports whether w is a terminal (get refuses binary bodies there).
func isTerminalOut(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && isTerminal(f)
}
