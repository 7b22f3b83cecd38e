package main

import (
	"bufio"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

// testsslFinding is one entry of testssl's flat JSON (--jsonfile).
type testsslFinding struct {
	ID       string `json:"id"`
	Severity string `json:"severity"`
	Finding  string `json:"finding"`
}

// testsslAllowed are the findings rated HIGH or CRITICAL that come from the
// test's self-signed certificates, not from sockit's TLS: each matched by
// its id and a part of its text in the JSON, and by its line in testssl's
// report (where it says "NOT ok"), each with its reason. Nothing else is
// let through.
var testsslAllowed = []struct{ id, finding, line, why string }{
	{"cert_chain_of_trust", "self signed", `Chain of trust\s+NOT ok \(self signed\)`,
		"the test's certificates sign themselves: there is no CA to chain to (a deployment's certificate comes from its CA)"},
	{"cert_revocation", "Neither CRL nor OCSP URI provided", `NOT ok -- neither CRL nor OCSP URI provided`,
		"a self-signed certificate has no issuer to publish a CRL or answer OCSP"},
}

// testsslExpect are checks that must have run and passed, so that a run
// that could not reach the server, or skipped a section, does not pass
// for finding nothing: id, and a regular expression its finding matches.
var testsslExpect = []struct{ id, finding string }{
	{"SSLv2", "^not offered"}, {"SSLv3", "^not offered"},
	{"TLS1", "^not offered"}, {"TLS1_1", "^not offered"},
	{"TLS1_2", "^offered"}, {"TLS1_3", "^offered"},
	{"cipherlist_NULL", "^not offered"}, {"cipherlist_aNULL", "^not offered"},
	{"cipherlist_EXPORT", "^not offered"}, {"cipherlist_LOW", "^not offered"},
	{"cipherlist_3DES_IDEA", "^not offered"}, {"cipherlist_AVERAGE", "^not offered"},
	{"cipherlist_STRONG", "^offered"},
	{"cipher_order", "^server"},
	{"secure_renego", "^supported"}, {"secure_client_renego", "^not vulnerable"},
	{"heartbleed", "^not vulnerable"}, {"CCS", "^not vulnerable"},
	{"ROBOT", "^not vulnerable"}, {"CRIME_TLS", "^not vulnerable"}, {"POODLE_SSL", "^not vulnerable"},
	{"fallback_SCSV", "^(no protocol below TLS 1.2 offered|supported)"}, {"SWEET32", "^not vulnerable"}, {"FREAK", "^not vulnerable"},
	{"DROWN", "^not vulnerable"}, {"LOGJAM", "^not vulnerable"}, {"BEAST", "^not vulnerable"},
	{"LUCKY13", "^not vulnerable"}, {"RC4", "^not vulnerable"},
}

// TestTestssl: testssl.sh's protocols (-p), cipher categories (-s), server
// preferences (-P), server defaults (-S), renegotiation (-R) and
// vulnerabilities (-U) against serve's TLS listener (http=tls://, an ECDSA
// P-256 and an RSA 2048 certificate) and against listen -k --ssl (its
// temporary certificate) rate nothing HIGH or CRITICAL, VULNERABLE or NOT
// ok, except the allow-listed findings of a self-signed certificate. The
// three runs go side by side (testssl waits on the network half the time),
// each killed after 5 minutes.
func TestTestssl(t *testing.T) {
	testssl := sockittest.RequireTool(t, "testssl")
	dir := t.TempDir()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	var runs []*testsslRun
	for _, c := range []struct {
		name string
		key  crypto.Signer
	}{{"serve-ecdsa", ecKey}, {"serve-rsa", rsaKey}} {
		cert, key := writeLeaf(t, dir, c.name, c.key)
		_, out := serveProcess(t, exec.Command(os.Args[0], "serve", "--tls-cert", cert, "--tls-key", key, "http=tls://127.0.0.1:0"))
		addr := out.wait(t, regexp.MustCompile(`msg=listening service=http network=tls addr=(\S+)$`))[1]
		go func() {
			for range out { // serve logs as testssl connects: keep its stderr flowing
			}
		}()
		runs = append(runs, &testsslRun{name: c.name, addr: addr, http: true})
	}

	cmd := exec.Command(os.Args[0], "listen", "-k", "--ssl", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SOCKIT_BE_MAIN=1")
	// stdin stays open (its end would half-close every peer); what testssl
	// sends goes to /dev/null.
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	pr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Process.Kill(); cmd.Wait() })
	stderr := bufio.NewReader(pr)
	addr, _ := waitListening(t, stderr)
	go io.Copy(io.Discard, stderr) // failed handshakes are reported there
	runs = append(runs, &testsslRun{name: "listen-ssl", addr: addr})

	for _, r := range runs {
		r.dir = t.TempDir()
		r.done = make(chan struct{})
		go r.run(testssl) // ends within its 5 minutes; waited for below
	}
	for _, r := range runs {
		t.Run(r.name, func(t *testing.T) {
			<-r.done
			r.check(t)
		})
	}
}

// testsslRun is one run of testssl against addr, which answers HTTP or not.
type testsslRun struct {
	name, addr string
	http       bool

	dir    string        // its JSON and its output go here
	done   chan struct{} // closed when testssl has ended
	took   time.Duration
	err    error
	killed bool
}

func (r *testsslRun) jsonFile() string { return filepath.Join(r.dir, "testssl.json") }
func (r *testsslRun) logFile() string  { return filepath.Join(r.dir, "testssl.out") }

// run runs testssl, for 5 minutes at most, and closes r.done.
func (r *testsslRun) run(testssl string) {
	defer close(r.done)
	log, err := os.Create(r.logFile())
	if err != nil {
		r.err = err
		return
	}
	defer log.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, testssl,
		"--color", "0", "--quiet", "--warnings", "off",
		"--ip", "127.0.0.1", "--nodns", "none", // no name is looked up, ever
		"--connect-timeout", "5", "--openssl-timeout", "5",
		"--jsonfile", r.jsonFile(),
		"-p", "-s", "-P", "-S", "-R", "-U", r.addr)
	cmd.Dir, cmd.Stdout, cmd.Stderr = r.dir, log, log
	// testssl is bash running openssl: end the whole group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 10 * time.Second
	start := time.Now()
	r.err = cmd.Run()
	r.took = time.Since(start).Round(time.Second)
	r.killed = ctx.Err() != nil
	// testssl's exit status counts the checks that were ambiguous or could
	// not run (242 and up: it could not run at all). BREACH, a check of
	// HTTP compression, counts 7 where the service is not HTTP.
	var exit *exec.ExitError
	if errors.As(r.err, &exit) && exit.ExitCode() == 7 && !r.http {
		r.err = nil
	}
}

// check checks the findings of a finished run.
func (r *testsslRun) check(t *testing.T) {
	tail := func() string {
		b, _ := os.ReadFile(r.logFile())
		if len(b) > 3000 {
			b = b[len(b)-3000:]
		}
		return string(b)
	}
	if r.killed {
		t.Fatalf("testssl against %s did not finish in 5 minutes; its output ends:\n%s", r.addr, tail())
	}
	if r.err != nil {
		t.Fatalf("testssl against %s: %v; its output ends:\n%s", r.addr, r.err, tail())
	}
	raw, err := os.ReadFile(r.jsonFile())
	if err != nil {
		t.Fatal(err)
	}
	var findings []testsslFinding
	if err := json.Unmarshal(raw, &findings); err != nil {
		t.Fatalf("testssl's JSON: %v", err)
	}
	counts := map[string]int{}
	byID := map[string]testsslFinding{}
	var allowed []string
	for _, f := range findings {
		counts[f.Severity]++
		byID[f.ID] = f
		bad := ""
		switch {
		case strings.Contains(f.Finding, "VULNERABLE"), strings.Contains(f.Finding, "NOT ok"):
			bad = "vulnerable"
		case f.Severity == "HIGH", f.Severity == "CRITICAL":
			bad = "rated " + f.Severity
		case f.Severity == "WARN", f.Severity == "FATAL":
			bad = "a check that could not run"
		}
		if bad == "" {
			continue
		}
		if why := testsslAllow(f); why != "" && bad != "vulnerable" {
			allowed = append(allowed, fmt.Sprintf("%s %s %q: %s", f.Severity, f.ID, f.Finding, why))
			continue
		}
		t.Errorf("%s: %s %s %q", bad, f.Severity, f.ID, f.Finding)
	}
	// The report says "NOT ok" and "VULNERABLE" where the JSON may not.
	report, err := os.ReadFile(r.logFile())
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(report), "\n") {
		if !strings.Contains(line, "NOT ok") && !strings.Contains(line, "VULNERABLE") {
			continue
		}
		ok := false
		for _, a := range testsslAllowed {
			ok = ok || regexp.MustCompile(a.line).MatchString(line)
		}
		if !ok {
			t.Errorf("testssl's report: %s", strings.TrimSpace(line))
		}
	}
	expect := testsslExpect
	if r.http { // testssl runs these against HTTP only
		expect = append(expect, []struct{ id, finding string }{
			{"service", "^HTTP$"}, {"BREACH", "^not vulnerable"}, {"ticketbleed", "^not vulnerable"},
		}...)
	}
	for _, e := range expect {
		f, ok := byID[e.id]
		if !ok {
			t.Errorf("testssl reported no %s: the check did not run", e.id)
		} else if !regexp.MustCompile(e.finding).MatchString(f.Finding) {
			t.Errorf("%s: %q, want %s", e.id, f.Finding, e.finding)
		}
	}
	var sum []string
	for s, n := range counts {
		sum = append(sum, fmt.Sprintf("%s %d", s, n))
	}
	sort.Strings(sum)
	t.Logf("testssl against %s: %d findings in %s (%s)", r.addr, len(findings), r.took, strings.Join(sum, ", "))
	for _, a := range allowed {
		t.Logf("allowed: %s", a)
	}
	for _, f := range findings {
		if f.Severity == "LOW" || f.Severity == "MEDIUM" {
			t.Logf("%s %s %q", f.Severity, f.ID, f.Finding)
		}
	}
	if t.Failed() {
		t.Logf("testssl's output ends:\n%s", tail())
	}
}

// testsslAllow is the reason a finding is allowed, or "".
func testsslAllow(f testsslFinding) string {
	for _, a := range testsslAllowed {
		if f.ID == a.id && strings.Contains(f.Finding, a.finding) {
			return a.why
		}
	}
	return ""
}

// writeLeaf writes a self-signed server certificate of key for localhost
// and 127.0.0.1, valid for a year (not a CA, key usage for TLS servers),
// as dir/name.pem and dir/name.key.
func writeLeaf(t *testing.T, dir, name string, key crypto.Signer) (certFile, keyFile string) {
	t.Helper()
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		t.Fatal(err)
	}
	usage := x509.KeyUsageDigitalSignature
	if _, ok := key.(*rsa.PrivateKey); ok {
		usage |= x509.KeyUsageKeyEncipherment
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "localhost"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(365 * 24 * time.Hour),
		KeyUsage:              usage,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	sockittest.WriteSelfSigned(t, certFile, keyFile, tmpl, key)
	return certFile, keyFile
}
