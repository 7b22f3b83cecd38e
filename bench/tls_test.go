package bench_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"github.com/sockit/sockit/bench/report"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/sockittest"
)

// nginxTLS runs nginx over TLS with a throwaway ECDSA P-256 certificate
// for localhost, serving a 612-byte page (nginx's default's size) at /;
// it returns the https URL's host:port and the CA pool that trusts it.
func nginxTLS(t testing.TB, extra string) (string, *x509.CertPool) {
	return nginxListen(t, "ssl", extra)
}

// nginxListen is nginxTLS with listen's parameters: "ssl", "http2" (h2c
// with prior knowledge), "ssl http2".
func nginxListen(t testing.TB, params, extra string) (string, *x509.CertPool) {
	t.Helper()
	dir := t.TempDir()
	cert, key := sockittest.SelfSignedCert(t, dir)
	root := filepath.Join(dir, "www")
	os.Mkdir(root, 0o755)
	os.WriteFile(filepath.Join(root, "index.html"), []byte(strings.Repeat("x", 612)), 0o644)
	// nginx listens on its plain port too: Nginx waits for that one, and
	// nginx opens every port before it accepts on any.
	port := sockittest.FreePort(t)
	sockittest.Nginx(t, fmt.Sprintf(`		listen 127.0.0.1:%d %s;
		ssl_certificate %s;
		ssl_certificate_key %s;
		ssl_protocols TLSv1.2 TLSv1.3;
		ssl_session_cache shared:SSL:1m;
		ssl_session_tickets on;
		root %s;
		%s`, port, params, cert, key, root, extra))
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	pem, _ := os.ReadFile(cert)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return addr, pool
}

// HTTPS runs on both engines against nginx over TLS, with -k and without:
// every request succeeds with the page's length; a run without -k opens a
// connection per request, of which all but the first few resume the TLS
// session (none with NoResume); -k makes one handshake per connection;
// the report knows the protocol and the SNI sent.
func TestHTTPSAgainstNginx(t *testing.T) {
	addr, pool := nginxTLS(t, "")
	port := addr[strings.LastIndex(addr, ":")+1:]
	url := "https://localhost:" + port + "/"
	for _, engine := range []string{bench.EngineLoop, bench.EngineGoroutine} {
		for _, tc := range []struct {
			name            string
			keep, noResume  bool
			full, resumed   func(int64) bool
			wantConnections int64
		}{
			{"new connections", false, false, func(n int64) bool { return n >= 1 && n <= 8 }, func(n int64) bool { return n >= 192 }, 200},
			{"no resume", false, true, func(n int64) bool { return n == 200 }, func(n int64) bool { return n == 0 }, 200},
			{"keep-alive", true, false, func(n int64) bool { return n >= 1 && n <= 4 }, func(n int64) bool { return n <= 3 }, 4},
		} {
			t.Run(engine+"/"+tc.name, func(t *testing.T) {
				r, err := bench.Run(context.Background(), bench.Config{Target: url, Requests: 200, Concurrency: 4,
					KeepAlive: tc.keep, NoResume: tc.noResume, RootCAs: pool, Engine: engine})
				if err != nil {
					t.Fatal(err)
				}
				if r.Engine != engine || r.Requests != 200 || r.Failed() != 0 || r.DocLength != 612 || r.Non2xx != 0 {
					t.Fatalf("engine %s, %d requests, failures %v (%s), doc %d, non-2xx %d", r.Engine, r.Requests, r.Failures, r.FirstError, r.DocLength, r.Non2xx)
				}
				if hs := r.HandshakesFull + r.HandshakesResumed; hs != tc.wantConnections || !tc.full(r.HandshakesFull) || !tc.resumed(r.HandshakesResumed) {
					t.Errorf("handshakes: %d full, %d resumed; want %d in all", r.HandshakesFull, r.HandshakesResumed, tc.wantConnections)
				}
				if r.Handshake.TotalCount() != tc.wantConnections || r.Handshake.Max() <= 0 {
					t.Errorf("handshake histogram: %d values, max %d µs", r.Handshake.TotalCount(), r.Handshake.Max())
				}
				if !strings.HasPrefix(r.TLS.Protocol, "TLSv1.3,TLS_") || r.TLS.ServerName != "localhost" {
					t.Errorf("TLS info %+v", r.TLS)
				}
				if tc.keep && r.KeepAlive != 200 {
					t.Errorf("keep-alive requests %d", r.KeepAlive)
				}
			})
		}
	}
}

// An untrusted certificate fails every request as a connect failure, on
// both engines, saying why; Insecure accepts it; ServerName sends another
// name, against which the certificate is then checked.
func TestHTTPSVerify(t *testing.T) {
	addr, pool := nginxTLS(t, "")
	url := "https://" + addr + "/"
	for _, engine := range []string{bench.EngineLoop, bench.EngineGoroutine} {
		for _, tc := range []struct {
			cfg  bench.Config
			fail string
		}{
			{bench.Config{}, "signed by an unknown authority"},
			{bench.Config{Insecure: true}, ""},
			{bench.Config{RootCAs: pool}, ""},
			{bench.Config{RootCAs: pool, ServerName: "example.com"}, "certificate is valid for localhost, not example.com"},
		} {
			cfg := tc.cfg
			cfg.Target, cfg.Requests, cfg.Concurrency, cfg.Engine = url, 6, 2, engine
			r, err := bench.Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tc.fail == "" && (r.Failed() != 0 || r.Requests != 6) {
				t.Errorf("%s %+v: failures %v %s", engine, tc.cfg, r.Failures, r.FirstError)
			}
			if tc.fail != "" && (r.Failures[bench.FailConnect] != 6 || !strings.Contains(r.FirstError, tc.fail)) {
				t.Errorf("%s %+v: failures %v %q, want connect failures: %s", engine, tc.cfg, r.Failures, r.FirstError, tc.fail)
			}
		}
	}
}

// The report's TLS lines are ab's: the same lines, in ab's place, in
// ab's form, as ab prints them against the same nginx.
func TestHTTPSReportLikeAb(t *testing.T) {
	ab := sockittest.RequireTool(t, "ab")
	addr, pool := nginxTLS(t, "")
	port := addr[strings.LastIndex(addr, ":")+1:]
	url := "https://localhost:" + port + "/"
	out, err := exec.Command(ab, "-n", "3", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ab: %v\n%s", err, out)
	}
	r, err := bench.Run(context.Background(), bench.Config{Target: url, Requests: 3, RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	report.WriteText(&text, r, report.TextOptions{})
	shape := regexp.MustCompile(`(?m)^(Server Port|SSL/TLS Protocol|Server Temp Key|TLS Server Name|Document Path): .*$`)
	abLines := shape.FindAllString(string(out), -1)
	ours := shape.FindAllString(text.String(), -1)
	t.Logf("ab:\n%s\nbench:\n%s", strings.Join(abLines, "\n"), strings.Join(ours, "\n"))
	names := func(ls []string) (ns []string) {
		for _, l := range ls {
			ns = append(ns, l[:strings.Index(l, ":")])
		}
		return ns
	}
	if !slices.Equal(names(abLines), names(ours)) {
		t.Errorf("lines %v, ab's %v", names(ours), names(abLines))
	}
	proto := regexp.MustCompile(`^SSL/TLS Protocol:       TLSv1\.[23],[A-Z0-9_-]+,(128|256),(128|256)$`)
	for _, ls := range [][]string{abLines, ours} {
		if len(ls) < 2 || !proto.MatchString(ls[1]) {
			t.Errorf("protocol line not in ab's form: %q", ls)
		}
	}
	if len(abLines) == len(ours) && abLines[len(abLines)-2] != ours[len(ours)-2] {
		t.Errorf("TLS Server Name %q, ab's %q", ours[len(ours)-2], abLines[len(abLines)-2])
	}
}
