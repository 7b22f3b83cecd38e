package transfer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"

	"github.com/sockit/sockit/internal/cli"
	"github.com/sockit/sockit/proto/httpraw"
)

// curl's exit statuses (man curl, EXIT CODES), which ExitCode gives.
const (
	ExitFailure      = 1 // an unsupported scheme
	ExitURLMalformed = 3
	ExitResolve      = 6
	ExitConnect      = 7
	ExitMalformed    = 8
	ExitHTTP2        = 16 // an HTTP/2 connection error
	ExitPartial      = 18
	ExitHTTPFail     = 22
	ExitWrite        = 23
	ExitTimeout      = 28
	ExitTLS          = 35
	ExitRedirects    = 47
	ExitEmptyReply   = 52
	ExitRecv         = 56
	ExitPeerCert     = 60
	ExitBadEncoding  = 61
	ExitTooLarge     = 63
	ExitCACert       = 77
	ExitHTTP2Stream  = 92 // an HTTP/2 stream error
)

// ExitCode is curl's exit status for a transfer's error (0 for none).
func ExitCode(err error) int {
	var (
		re     *httpraw.ResolveError
		ce     *httpraw.ConnectError
		te     *httpraw.TLSError
		me     *httpraw.MalformedError
		we     *cli.WriteError
		ee     *EncodingError
		se     *StatusError
		ue     *URLError
		ca     *CACertError
		ne     net.Error
		ua     x509.UnknownAuthorityError
		ci     x509.CertificateInvalidError
		he     x509.HostnameError
		cve    *tls.CertificateVerificationError
		closed *httpraw.ClosedError
		h2e    *httpraw.H2Error
	)
	switch {
	case err == nil:
		return 0
	case errors.As(err, &we) || errors.Is(err, ErrNoRemoteName):
		return ExitWrite
	case errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return ExitTimeout
	case errors.As(err, &ca):
		return ExitCACert
	case errors.As(err, &ue):
		return ExitURLMalformed
	case errors.As(err, &se):
		return ExitHTTPFail
	case errors.As(err, &re):
		return ExitResolve
	case errors.As(err, &ua) || errors.As(err, &ci) || errors.As(err, &he) || errors.As(err, &cve):
		return ExitPeerCert
	case errors.As(err, &te):
		return ExitTLS
	case errors.As(err, &ce):
		return ExitConnect
	case errors.Is(err, httpraw.ErrTooManyRedirects):
		return ExitRedirects
	case errors.Is(err, httpraw.ErrUnsupportedScheme):
		return ExitFailure
	case errors.As(err, &closed) && closed.Empty:
		return ExitEmptyReply
	case errors.As(err, &closed):
		return ExitPartial
	case errors.As(err, &h2e) && h2e.Stream:
		return ExitHTTP2Stream
	case errors.As(err, &h2e):
		return ExitHTTP2
	case errors.As(err, &me):
		return ExitMalformed
	case errors.Is(err, httpraw.ErrBodyTooLarge):
		return ExitTooLarge
	case errors.As(err, &ee):
		return ExitBadEncoding
	case errors.Is(err, context.Canceled):
		return ExitFailure
	}
	return ExitRecv
}
