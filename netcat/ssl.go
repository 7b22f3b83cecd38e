package netcat

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/tlsconfig"
)

// SSL holds ncat's TLS options as connect and listen take them, with
// ncat's meanings: every one of them turns TLS on, as --ssl does, and
// --ssl-trustfile turns on --ssl-verify. The client does not check the
// server's certificate unless Verify is set (ncat's default; curl and
// socat check by default).
type SSL struct {
	// On is --ssl (also implied by a tls:// endpoint).
	On bool
	// Cert and Key are --ssl-cert and --ssl-key, PEM files: the server's
	// certificate (chain) and key in listen, a client certificate in
	// connect. They go together.
	Cert, Key string
	// Verify is --ssl-verify: connect checks the server's certificate
	// against the system's roots (or TrustFile) and its name (ServerName,
	// else the host connected to). Listen ignores it, as ncat does.
	Verify bool
	// TrustFile is --ssl-trustfile: a PEM file of the certificates to
	// trust in place of the system's roots (a CA, or the server's own).
	TrustFile string
	// ServerName is --ssl-servername: the name sent as SNI (and verified);
	// empty means the host connected to (an IP address is sent as no SNI).
	ServerName string
	// ALPN is --ssl-alpn: the application protocols (RFC 7301) connect
	// offers, or listen accepts, most preferred first.
	ALPN []string
}

// Enabled reports whether the options ask for TLS.
func (s *SSL) Enabled() bool {
	return s.On || s.Cert != "" || s.Key != "" || s.Verify || s.TrustFile != "" || s.ServerName != "" || len(s.ALPN) > 0
}

// ErrSSLUsage is wrapped by the errors of SSL's methods that come from the
// options themselves (not from reading their files).
var ErrSSLUsage = errors.New("bad TLS options")

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
func (e *usageError) Unwrap() error { return ErrSSLUsage }

// Endpoint returns e with TLS turned on when the options ask for it (a tcp
// endpoint becomes tls), or an error wrapping ErrSSLUsage when e cannot
// carry TLS (udp, unix: ncat refuses SSL over unix sockets, and DTLS is
// not done).
func (s *SSL) Endpoint(e sockit.Endpoint) (sockit.Endpoint, error) {
	if !s.Enabled() || e.IsTLS() {
		return e, nil
	}
	switch e.Network {
	case "tcp", "tcp4", "tcp6":
		e.Network = "tls" + e.Network[3:]
		return e, nil
	}
	return e, &usageError{fmt.Sprintf("TLS runs over TCP only, not %s (%s)", e.Network, e)}
}

func (s *SSL) checkPair() error {
	if (s.Cert == "") != (s.Key == "") {
		return &usageError{"--ssl-cert and --ssl-key go together"}
	}
	return nil
}

// Client returns connect's TLS configuration.
func (s *SSL) Client() (*tls.Config, error) {
	if err := s.checkPair(); err != nil {
		return nil, err
	}
	cfg := &tls.Config{
		ServerName:         s.ServerName,
		NextProtos:         s.ALPN,
		InsecureSkipVerify: !s.Verify && s.TrustFile == "",
	}
	if s.TrustFile != "" {
		pem, err := os.ReadFile(s.TrustFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no PEM certificate in it", s.TrustFile)
		}
	}
	if s.Cert != "" {
		c, err := tls.LoadX509KeyPair(s.Cert, s.Key)
		if err != nil {
			return nil, fmt.Errorf("certificate %s with key %s: %w", s.Cert, s.Key, err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	return cfg, nil
}

// Server returns listen's TLS configuration (tlsconfig.Server's
// defaults) for an endpoint on host. Without Cert it makes a throwaway
// self-signed certificate (ECDSA P-256, for host, localhost and the
// loopback addresses), as ncat does, and returns its SHA-256 fingerprint
// for the user to compare with what the client is shown; with Cert the
// fingerprint is "".
func (s *SSL) Server(host string) (cfg *tls.Config, fingerprint string, err error) {
	if err := s.checkPair(); err != nil {
		return nil, "", err
	}
	var store tlsconfig.Store
	if s.Cert != "" {
		if _, err := store.Load(tlsconfig.Pair{Cert: s.Cert, Key: s.Key}); err != nil {
			return nil, "", err
		}
	} else {
		c, err := tlsconfig.SelfSigned(host)
		if err != nil {
			return nil, "", err
		}
		if _, err := store.Set(c); err != nil {
			return nil, "", err
		}
		fingerprint = tlsconfig.Fingerprint(c.Certificate[0])
	}
	return tlsconfig.Server(store.GetCertificate, s.ALPN...), fingerprint, nil
}
