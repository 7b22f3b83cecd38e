package serve

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sockit/sockit/tlsconfig"
)

// CertPoll is how often serve looks at its certificate and key files'
// sizes, modification times and inodes: a change reloads them (as a SIGHUP
// would, the certificates only), so a renewal by certbot or a mounted
// Secret's update needs no signal.
const CertPoll = 2 * time.Second

// listKind is a list of strings: a flag given again adds one (as curl's
// and nginx's repeated options), the file's key takes a string or an
// array of strings. Source.Flags holds a flag's values joined by "\n".
type listKind struct{ p func(*Settings) *[]string }

func (k listKind) typ() string { return "strings" }
func (k listKind) set(s *Settings, text string) error {
	*k.p(s) = nil
	if text != "" {
		*k.p(s) = strings.Split(text, "\n")
	}
	return nil
}
func (k listKind) decode(s *Settings, v any) error {
	switch v := v.(type) {
	case string:
		*k.p(s) = []string{v}
	case []any:
		var l []string
		for i, e := range v {
			str, ok := e.(string)
			if !ok {
				return fmt.Errorf("item %d: want a string, not %s", i+1, kindName(e))
			}
			l = append(l, str)
		}
		*k.p(s) = l
	default:
		return fmt.Errorf("want a string or an array of strings, not %s", kindName(v))
	}
	return nil
}
func (k listKind) check(s *Settings) error {
	for _, v := range *k.p(s) {
		if v == "" {
			return errors.New("want a file name, not \"\"")
		}
	}
	return nil
}
func (k listKind) show(s *Settings) string { return strings.Join(*k.p(s), "\n") }

// IsList reports whether the flag may be given more than once, each time
// adding a value (Source.Flags joins them with "\n").
func (f Field) IsList() bool { return f.kind.typ() == "strings" }

// tlsFields are the certificate settings.
func tlsFields() []Field {
	return []Field{
		{Flag: "tls-cert", Key: "tls.cert",
			Usage: "certificate FILE (PEM, the chain after it, as nginx's ssl_certificate) of the tls:// listeners; repeat for several, chosen by the name the client asks for (SNI), the first for any other; reloaded on SIGHUP and when the file changes",
			kind:  listKind{func(s *Settings) *[]string { return &s.TLSCert }}},
		{Flag: "tls-key", Key: "tls.key",
			Usage: "private key FILE (PEM) of the --tls-cert given in the same place: the first key is the first certificate's, and so on",
			kind:  listKind{func(s *Settings) *[]string { return &s.TLSKey }}},
	}
}

// Pairs returns the certificate and key pairs the settings name, in order.
func (s *Settings) Pairs() []tlsconfig.Pair {
	pairs := make([]tlsconfig.Pair, 0, len(s.TLSCert))
	for i := range s.TLSCert {
		if i < len(s.TLSKey) {
			pairs = append(pairs, tlsconfig.Pair{Cert: s.TLSCert[i], Key: s.TLSKey[i]})
		}
	}
	return pairs
}

// servesTLS reports whether any of specs listens on tls://.
func servesTLS(specs []Spec) bool {
	for _, sp := range specs {
		if sp.Endpoint.IsTLS() {
			return true
		}
	}
	return false
}

// checkTLS checks the certificate settings: as many keys as certificates,
// a certificate for a tls:// listener, and each pair read and matched
// (tlsconfig.Check); its warnings (a certificate expiring within 14 days)
// go to s.warnings.
func (s *Settings) checkTLS(specs []Spec) Errors {
	fields := tlsFields()
	cert, key := fields[0], fields[1]
	var errs Errors
	switch {
	case len(s.TLSCert) != len(s.TLSKey):
		f := key
		if len(s.TLSCert) > len(s.TLSKey) {
			f = cert
		}
		return Errors{s.mistake(f, fmt.Sprintf("%d certificates and %d keys: give a key for each certificate, in the same order", len(s.TLSCert), len(s.TLSKey)), false)}
	case len(s.TLSCert) == 0 && servesTLS(specs):
		for _, sp := range specs {
			if sp.Endpoint.IsTLS() {
				errs = append(errs, Error{Msg: fmt.Sprintf("%s=%s: tls:// needs a certificate and its key: --tls-cert FILE --tls-key FILE (tls.cert and tls.key in the file)", sp.Service, sp.Endpoint)})
			}
		}
		return errs
	case len(s.TLSCert) == 0:
		return nil
	}
	warns, err := tlsconfig.Check(time.Now(), s.Pairs()...)
	s.warnings = nil
	for _, w := range warns {
		s.warnings = append(s.warnings, w.String())
	}
	if err != nil {
		return Errors{s.mistake(cert, err.Error(), false)}
	}
	return nil
}

// Warnings are what Load found wrong but serves all the same: a
// certificate that expires within 14 days (or has expired), or names no
// host.
func (s *Settings) Warnings() []string { return s.warnings }

// certs is the certificates of a Run: one tls.Config for every generation
// (so session tickets resume across reloads), whose GetCertificate asks
// the Store in place, swapped whole by a reload.
type certs struct {
	store  atomic.Pointer[tlsconfig.Store]
	config *tls.Config
	stamp  string // the files' sizes and modification times, last looked at
}

func newCerts() *certs {
	c := &certs{}
	c.config = tlsconfig.Server(func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
		st := c.store.Load()
		if st == nil {
			return nil, errors.New("no certificate loaded")
		}
		return st.GetCertificate(hello)
	})
	return c
}

// load reads pairs into a new Store, not yet served.
func (r *runner) loadCerts(pairs []tlsconfig.Pair) (*tlsconfig.Store, error) {
	st := &tlsconfig.Store{}
	warns, err := st.Load(pairs...)
	for _, w := range warns {
		r.log.Warn("certificate", "cert", w.Cert, "subject", w.Subject, "warning", w.Message)
	}
	return st, err
}

// stamp identifies the contents of pairs' files as the file system says:
// each one's size and modification time, and which file the name leads
// to (device and inode, through symlinks): a name moved or symlinked onto
// another file is a change even when that file is as long and as old (cp
// -p, tar x, rsync -a), as when a Kubernetes Secret volume swaps its
// ..data symlink.
func stamp(pairs []tlsconfig.Pair) string {
	var b strings.Builder
	for _, p := range pairs {
		for _, name := range []string{p.Cert, p.Key} {
			b.WriteString(name)
			if fi, err := os.Stat(name); err == nil {
				b.WriteString(" " + strconv.FormatInt(fi.Size(), 10) + " " + strconv.FormatInt(fi.ModTime().UnixNano(), 10))
				if st, ok := fi.Sys().(*syscall.Stat_t); ok {
					fmt.Fprintf(&b, " %d:%d", st.Dev, st.Ino)
				}
			}
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// pollCerts reloads the certificates of r.cur when their files have
// changed since they were last read: a bad new pair (a certificate written
// before its key) is logged and the old one kept, and read again at the
// next change.
func (r *runner) pollCerts() {
	pairs := r.cur.Pairs()
	if r.certs == nil || len(pairs) == 0 {
		return
	}
	now := stamp(pairs)
	if now == r.certs.stamp {
		return
	}
	r.certs.stamp = now
	st, err := r.loadCerts(pairs)
	if err != nil {
		r.log.Error("certificates changed, reload refused; the running ones stay", "err", err)
		return
	}
	r.certs.store.Store(st)
	r.log.Info("certificates reloaded", "files", "changed", "certs", len(pairs))
}
