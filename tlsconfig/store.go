package tlsconfig

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"time"
)

// ExpiryWarning is how long before a certificate's end Load and Check warn
// about it.
const ExpiryWarning = 14 * 24 * time.Hour

// MinRSABits is the smallest RSA key a Store takes (Mozilla's profiles
// and testssl.sh ask for 2048 bits).
const MinRSABits = 2048

// Pair names a certificate file and its key file, both PEM: the
// certificate file holds the server's certificate first, then the chain
// that leads to a root (as nginx's ssl_certificate); the key file its
// private key (PKCS #8, PKCS #1 or SEC 1).
type Pair struct{ Cert, Key string }

// PairError is why a pair was refused. Load refuses all of the pairs it
// was given when one is refused, and the Store keeps what it had.
type PairError struct {
	Pair Pair
	Err  error
}

func (e *PairError) Error() string {
	if e.Pair.Cert == "" {
		return e.Err.Error()
	}
	return fmt.Sprintf("certificate %s with key %s: %v", e.Pair.Cert, e.Pair.Key, e.Err)
}

func (e *PairError) Unwrap() error { return e.Err }

// A Warning is about a certificate that is served all the same: it
// expires within ExpiryWarning, has expired, is not valid yet, or names
// no host.
type Warning struct {
	// Cert is the certificate's file ("" for one given to Set).
	Cert string
	// Subject is the certificate's subject, for the log.
	Subject string
	// Message says what is wrong, in words ("expires in 9 days, on
	// 2026-06-01 12:00 UTC").
	Message string
}

func (w Warning) String() string {
	name := w.Cert
	if name == "" {
		name = w.Subject
	}
	return name + ": " + w.Message
}

// Store holds the certificates a server serves and picks one per
// handshake (GetCertificate, for tls.Config); Load and Set replace them
// all in one atomic swap, so a reload never drops a connection and no
// handshake sees half a set. The zero Store holds nothing (handshakes
// fail) until a Load or Set succeeds. It is safe for concurrent use.
type Store struct {
	// Now is the clock the warnings are worked out with; nil means
	// time.Now.
	Now func() time.Time

	set atomic.Pointer[certSet]
}

// certSet is one generation of certificates, never changed once built.
type certSet struct {
	all   []*tls.Certificate            // in the order given: the first is the default
	names map[string][]*tls.Certificate // by lower-case DNS name ("*.example.com" for wildcards), ECDSA first
}

// Load reads and checks pairs and, when every one is good, serves them
// from now on in place of what the Store had. When one is bad (a file
// missing or not PEM, a key that does not match its certificate, an RSA
// key under MinRSABits) the error names it and nothing changes: the
// Store keeps serving its old certificates. The first pair is the
// default, for clients that send no name or one no certificate has.
// Warnings (see Warning) come back either way.
func (s *Store) Load(pairs ...Pair) ([]Warning, error) {
	certs, warns, err := load(s.now(), pairs)
	if err != nil {
		return warns, err
	}
	s.set.Store(newCertSet(certs))
	return warns, nil
}

// Set serves certs, already in memory, in place of what the Store had,
// after the same checks as Load.
func (s *Store) Set(certs ...tls.Certificate) ([]Warning, error) {
	if len(certs) == 0 {
		return nil, errors.New("no certificate")
	}
	var warns []Warning
	ptrs := make([]*tls.Certificate, len(certs))
	for i := range certs {
		c := certs[i]
		w, err := check(s.now(), Pair{}, &c)
		warns = append(warns, w...)
		if err != nil {
			return warns, err
		}
		ptrs[i] = &c
	}
	s.set.Store(newCertSet(ptrs))
	return warns, nil
}

// Check reads and checks pairs as Load does, without serving them: what
// serve --check-config runs.
func Check(now time.Time, pairs ...Pair) ([]Warning, error) {
	_, warns, err := load(now, pairs)
	return warns, err
}

// Len is the number of certificates served.
func (s *Store) Len() int {
	if set := s.set.Load(); set != nil {
		return len(set.all)
	}
	return 0
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// GetCertificate is the tls.Config hook: the certificate for the host the
// client named (SNI), matched exactly or by a wildcard one label deep
// (*.example.com serves a.example.com, not example.com nor a.b.example.com);
// when no certificate has that name, or the client sent none (as it
// does when it connects to an IP address), the first pair's. Among those
// with the name, the first the client can use, ECDSA before RSA (a client
// that takes both gets the faster handshake).
func (s *Store) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	set := s.set.Load()
	if set == nil {
		return nil, errors.New("tlsconfig: no certificate loaded")
	}
	if name := strings.ToLower(strings.TrimSuffix(hello.ServerName, ".")); name != "" {
		if c := pick(hello, set.names[name]); c != nil {
			return c, nil
		}
		if i := strings.IndexByte(name, '.'); i > 0 {
			if c := pick(hello, set.names["*"+name[i:]]); c != nil {
				return c, nil
			}
		}
	}
	if c := pick(hello, set.all); c != nil {
		return c, nil
	}
	return set.all[0], nil // the handshake then says what the client lacks
}

// pick returns the first of certs hello can use; one candidate is taken
// without asking.
func pick(hello *tls.ClientHelloInfo, certs []*tls.Certificate) *tls.Certificate {
	if len(certs) == 1 {
		return certs[0]
	}
	for _, c := range certs {
		if hello.SupportsCertificate(c) == nil {
			return c
		}
	}
	return nil
}

func newCertSet(certs []*tls.Certificate) *certSet {
	set := &certSet{all: certs, names: map[string][]*tls.Certificate{}}
	for _, ecdsaPass := range []bool{true, false} {
		for _, c := range certs {
			if _, ok := c.PrivateKey.(*ecdsa.PrivateKey); ok != ecdsaPass {
				continue
			}
			for _, n := range c.Leaf.DNSNames {
				n = strings.ToLower(strings.TrimSuffix(n, "."))
				set.names[n] = append(set.names[n], c)
			}
		}
	}
	return set
}

func load(now time.Time, pairs []Pair) ([]*tls.Certificate, []Warning, error) {
	if len(pairs) == 0 {
		return nil, nil, errors.New("no certificate")
	}
	var warns []Warning
	certs := make([]*tls.Certificate, 0, len(pairs))
	for _, p := range pairs {
		certPEM, err := os.ReadFile(p.Cert)
		if err != nil {
			return nil, warns, &PairError{p, err}
		}
		keyPEM, err := os.ReadFile(p.Key)
		if err != nil {
			return nil, warns, &PairError{p, err}
		}
		// X509KeyPair refuses a key that does not match the certificate
		// ("tls: private key does not match public key").
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, warns, &PairError{p, err}
		}
		w, err := check(now, p, &c)
		warns = append(warns, w...)
		if err != nil {
			return nil, warns, err
		}
		certs = append(certs, &c)
	}
	return certs, warns, nil
}

// check refuses what no handshake should be served with, and warns about
// what should be fixed soon. It sets c.Leaf if it is missing.
func check(now time.Time, p Pair, c *tls.Certificate) ([]Warning, error) {
	if len(c.Certificate) == 0 {
		return nil, &PairError{p, errors.New("no certificate in the chain")}
	}
	if c.Leaf == nil {
		leaf, err := x509.ParseCertificate(c.Certificate[0])
		if err != nil {
			return nil, &PairError{p, err}
		}
		c.Leaf = leaf
	}
	leaf := c.Leaf
	switch k := c.PrivateKey.(type) {
	case *rsa.PrivateKey:
		if bits := k.N.BitLen(); bits < MinRSABits {
			return nil, &PairError{p, fmt.Errorf("RSA key of %d bits: want %d or more", bits, MinRSABits)}
		}
	case *ecdsa.PrivateKey, ed25519.PrivateKey, crypto.Signer:
	default:
		return nil, &PairError{p, fmt.Errorf("private key of type %T: want ECDSA, RSA or Ed25519", k)}
	}
	var warns []Warning
	warn := func(format string, a ...any) {
		warns = append(warns, Warning{Cert: p.Cert, Subject: leaf.Subject.String(), Message: fmt.Sprintf(format, a...)})
	}
	const day = 24 * time.Hour
	date := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
	switch left := leaf.NotAfter.Sub(now); {
	case left <= 0:
		warn("expired on %s", date(leaf.NotAfter))
	case left < ExpiryWarning:
		warn("expires in %d days, on %s", int((left+day-1)/day), date(leaf.NotAfter))
	}
	if now.Before(leaf.NotBefore) {
		warn("not valid before %s", date(leaf.NotBefore))
	}
	if len(leaf.DNSNames) == 0 && len(leaf.IPAddresses) == 0 {
		warn("names no host (no subjectAltName): clients refuse it")
	}
	return warns, nil
}
