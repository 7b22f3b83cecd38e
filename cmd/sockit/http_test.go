package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/httpraw/transfer"
	"github.com/sockit/sockit/sockittest"
)

// curl's exit statuses, as the tests name them.
const (
	exitURLMalformed = transfer.ExitURLMalformed
	exitResolve      = transfer.ExitResolve
	exitConnect      = transfer.ExitConnect
	exitMalformed    = transfer.ExitMalformed
	exitPartial      = transfer.ExitPartial
	exitHTTPFail     = transfer.ExitHTTPFail
	exitTLS          = transfer.ExitTLS
	exitRedirects    = transfer.ExitRedirects
	exitRecv         = transfer.ExitRecv
	exitPeerCert     = transfer.ExitPeerCert
	exitBadEncoding  = transfer.ExitBadEncoding
	exitTooLarge     = transfer.ExitTooLarge
	exitCACert       = transfer.ExitCACert
)

// startNginx runs nginx (one worker, no daemon) serving dir/www on a plain
// port, a TLS port with a throwaway certificate, and a Unix socket.
func startNginx(t *testing.T) (plain, tlsPort int, sock, cert string) {
	t.Helper()
	bin := sockittest.RequireTool(t, "nginx")
	dir := t.TempDir()
	www := filepath.Join(dir, "www")
	os.Mkdir(www, 0o755)
	os.WriteFile(filepath.Join(www, "index.html"), []byte("<!DOCTYPE html>\n<title>nginx page</title>\n"), 0o644)
	os.WriteFile(filepath.Join(www, "big.bin"), sockittest.RandomBytes(300000, 41), 0o644)
	cert, key := sockittest.SelfSignedCert(t, dir)
	plain, tlsPort = sockittest.FreePort(t), sockittest.FreePort(t)
	sock = filepath.Join(dir, "nginx.sock")
	conf := fmt.Sprintf(`worker_processes 1;
daemon off;
master_process off;
error_log stderr warn;
pid %[1]s/nginx.pid;
events { worker_connections 1024; }
http {
	access_log %[1]s/access.log;
	gzip on;
	gzip_min_length 1;
	client_body_temp_path %[1]s/body; proxy_temp_path %[1]s/proxy; fastcgi_temp_path %[1]s/fcgi;
	uwsgi_temp_path %[1]s/uwsgi; scgi_temp_path %[1]s/scgi;
	types { text/html html; application/octet-stream bin; }
	server {
		listen 127.0.0.1:%[2]d;
		listen 127.0.0.1:%[3]d ssl;
		listen unix:%[4]s;
		ssl_certificate %[5]s;
		ssl_certificate_key %[6]s;
		root %[7]s;
		location = /moved { return 301 /index.html; }
		location = /echo {
			default_type text/plain;
			return 200 "$request_method ua=$http_user_agent auth=$http_authorization ct=$content_type accept=$http_accept len=$content_length host=$http_host\n";
		}
		location = /busy { add_header Retry-After 0 always; return 503; }
	}
}
`, dir, plain, tlsPort, sock, cert, key, www)
	cfg := filepath.Join(dir, "nginx.conf")
	os.WriteFile(cfg, []byte(conf), 0o644)
	cmd := exec.Command(bin, "-p", dir, "-c", cfg)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	sockittest.Eventually(t, 10*time.Second, "nginx listening", func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(tlsPort))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	return plain, tlsPort, sock, cert
}

var dateLine = regexp.MustCompile(`(?m)^Date: .*\r\n`)

// writeOutVars are curl's -w variables whose values do not depend on timing.
const writeOutVars = `%{http_code} %{response_code} %{size_download} %{num_redirects} %{url_effective} %{url} %{content_type} ` +
	`%{remote_ip} %{remote_port} %{method} %{scheme} %{http_version} %{exitcode} 100%% \t|\n`

// TestHeadGetMatchCurlAgainstNginx compares sockit's output with curl -si
// byte for byte (Date lines aside) against the same nginx.
func TestHeadGetMatchCurlAgainstNginx(t *testing.T) {
	curl := sockittest.RequireTool(t, "curl")
	plain, tlsPort, sock, cert := startNginx(t)
	base := "http://127.0.0.1:" + strconv.Itoa(plain)
	tlsBase := "https://localhost:" + strconv.Itoa(tlsPort)
	form := filepath.Join(t.TempDir(), "form")
	os.WriteFile(form, []byte("a=1\r\nb=2\n"), 0o644)
	cases := []struct {
		name   string
		sockit []string
		curl   []string
	}{
		{"HEAD", []string{"head", base + "/"}, []string{"-sI", base + "/"}},
		{"GET", []string{"get", base + "/"}, []string{"-si", base + "/"}},
		{"GET 300 kB", []string{"get", base + "/big.bin"}, []string{"-si", base + "/big.bin"}},
		{"404", []string{"get", base + "/nope"}, []string{"-si", base + "/nope"}},
		{"keep-alive, two URLs", []string{"get", base + "/", base + "/big.bin"}, []string{"-si", base + "/", base + "/big.bin"}},
		{"redirect followed", []string{"get", "-L", base + "/moved"}, []string{"-siL", base + "/moved"}},
		{"HTTPS", []string{"get", "--cacert", cert, tlsBase + "/"}, []string{"-si", "--cacert", cert, tlsBase + "/"}},
		{"unix socket", []string{"get", "--unix-socket", sock, "http://localhost/"}, []string{"-si", "--unix-socket", sock, "http://localhost/"}},
		{"unix endpoint", []string{"get", "--unix-socket", "unix://" + sock, "http://localhost/"}, []string{"-si", "--unix-socket", sock, "http://localhost/"}},
		{"-I", []string{"get", "-I", base + "/"}, []string{"-sI", base + "/"}},
		{"gzip", []string{"get", "--compressed", base + "/index.html"}, []string{"-si", "--compressed", base + "/index.html"}},
		{"--resolve", []string{"get", "-A", "t", "--resolve", "nginx.test:" + strconv.Itoa(plain) + ":127.0.0.1", "-o", "-", "http://nginx.test:" + strconv.Itoa(plain) + "/echo"},
			[]string{"-s", "-A", "t", "--resolve", "nginx.test:" + strconv.Itoa(plain) + ":127.0.0.1", "http://nginx.test:" + strconv.Itoa(plain) + "/echo"}},
		{"-A -u", []string{"get", "-o", "-", "-A", "agent/1", "-u", "al:pw", base + "/echo"}, []string{"-s", "-A", "agent/1", "-u", "al:pw", base + "/echo"}},
		{"--json", []string{"get", "-A", "t", "-o", "-", "--json", `{"a":1}`, "--json", `{"b":2}`, base + "/echo"}, []string{"-s", "-A", "t", "--json", `{"a":1}`, "--json", `{"b":2}`, base + "/echo"}},
		{"-d @FILE", []string{"get", "-A", "t", "-o", "-", "-d", "@" + form, "-d", "x=1", base + "/echo"}, []string{"-s", "-A", "t", "-d", "@" + form, "-d", "x=1", base + "/echo"}},
		{"--data-binary @FILE", []string{"get", "-A", "t", "-o", "-", "--data-binary", "@" + form, base + "/echo"}, []string{"-s", "-A", "t", "--data-binary", "@" + form, base + "/echo"}},
		{"-w", []string{"get", "-L", "-s", "-o", "/dev/null", "-w", writeOutVars, base + "/moved"}, []string{"-L", "-s", "-o", "/dev/null", "-w", writeOutVars, base + "/moved"}},
		{"-w HTTPS", []string{"get", "-s", "-o", "/dev/null", "--cacert", cert, "-w", writeOutVars, tlsBase + "/big.bin"}, []string{"-s", "-o", "/dev/null", "--cacert", cert, "-w", writeOutVars, tlsBase + "/big.bin"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := sockitRun(t, "", tc.sockit...)
			if r.code != 0 {
				t.Fatalf("sockit %v: exit %d: %s", tc.sockit, r.code, r.stderr)
			}
			want, err := exec.Command(curl, tc.curl...).Output()
			if err != nil {
				t.Fatalf("curl %v: %v", tc.curl, err)
			}
			got, exp := dateLine.ReplaceAllString(r.stdout, ""), dateLine.ReplaceAllString(string(want), "")
			if got != exp {
				t.Errorf("sockit %v and curl %v differ:\nsockit %d bytes: %.300q\ncurl   %d bytes: %.300q", tc.sockit, tc.curl, len(got), got, len(exp), exp)
			}
		})
	}
	// TLS verification is on by default.
	if r := sockitRun(t, "", "get", tlsBase+"/"); r.code != exitPeerCert || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("untrusted certificate: exit %d %q", r.code, r.stderr)
	}
	if r := sockitRun(t, "", "get", "-k", tlsBase+"/"); r.code != 0 {
		t.Errorf("--insecure: exit %d %q", r.code, r.stderr)
	}
}

func TestHTTPExitStatuses(t *testing.T) {
	refused := "http://127.0.0.1:" + strconv.Itoa(sockittest.FreePort(t)) + "/"
	if r := sockitRun(t, "", "get", refused); r.code != exitConnect {
		t.Errorf("refused: exit %d %q", r.code, r.stderr)
	}
	if r := sockitRun(t, "", "get", "http://nosuch.invalid/"); r.code != exitResolve {
		t.Errorf("unresolvable: exit %d %q", r.code, r.stderr)
	}
	// A server that accepts and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(held)
				return
			}
			held <- c
		}
	}()
	defer func() {
		ln.Close()
		for c := range held {
			c.Close()
		}
	}()
	for _, m := range []string{"300ms", "0.3"} { // curl's users type bare seconds
		if r := sockitRun(t, "", "get", "-m", m, "http://"+ln.Addr().String()+"/"); r.code != exitTimeout {
			t.Errorf("silent server, -m %s: exit %d %q", m, r.code, r.stderr)
		}
	}
	// Malformed: a crafted chunked reply.
	bad := rawHTTP(t, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
	r := sockitRun(t, "", "get", bad)
	if r.code != exitMalformed || !strings.Contains(r.stderr, `malformed chunk size "zz" at byte 47`) {
		t.Errorf("malformed: exit %d %q", r.code, r.stderr)
	}
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"get"}, exitUsage},
		{[]string{"get", "-H", "nocolon", "http://x/"}, exitUsage},
		{[]string{"get", "ftp://x/"}, exitFailure}, // curl: 1, unsupported protocol
		{[]string{"get", "http://x:99999/"}, exitURLMalformed},
		{[]string{"get", "http://[::1/"}, exitURLMalformed},
		{[]string{"get", "http:///nohost"}, exitURLMalformed},
		{[]string{"get", "--cacert", "/nonexistent/ca.pem", "https://x/"}, exitCACert},
		{[]string{"get", "-o", "/nonexistent/dir/f", rawHTTP(t, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")}, exitWrite},
	} {
		if r := sockitRun(t, "", tc.args...); r.code != tc.code {
			t.Errorf("%v: exit %d, want %d: %q", tc.args, r.code, tc.code, r.stderr)
		}
	}
}

// rawHTTP serves one crafted response to every connection; returns a URL.
func rawHTTP(t *testing.T, response string) string {
	return "http://" + sockittest.CannedServer(t, []byte(response), 0) + "/"
}

// TestPeersAgainstResponder: curl, ab (with and without -k) and wrk
// against sockit serve http; every response must be 2xx.
func TestPeersAgainstResponder(t *testing.T) {
	curl := sockittest.RequireTool(t, "curl")
	ab := sockittest.RequireTool(t, "ab")
	wrk := sockittest.RequireTool(t, "wrk")
	addrs, _ := startServe(t, "http=tcp://127.0.0.1:0")
	url := "http://" + addrs["http tcp"] + "/"
	if out, err := exec.Command(curl, "-sf", url).Output(); err != nil || !strings.Contains(string(out), "My html page") {
		t.Errorf("curl: %v %q", err, out)
	}
	for _, args := range [][]string{{"-n", "500", "-c", "50"}, {"-k", "-n", "500", "-c", "50"}} {
		out, err := exec.Command(ab, append(args, url)...).CombinedOutput()
		s := string(out)
		if err != nil || !strings.Contains(s, "Complete requests:      500") || !strings.Contains(s, "Failed requests:        0") || strings.Contains(s, "Non-2xx") {
			t.Errorf("ab %v: %v\n%s", args, err, s)
		}
	}
	out, err := exec.Command(wrk, "-t1", "-c10", "-d1s", url).CombinedOutput()
	s := string(out)
	if err != nil || strings.Contains(s, "Non-2xx") || strings.Contains(s, "Socket errors") || !strings.Contains(s, "requests in") {
		t.Errorf("wrk: %v\n%s", err, s)
	}
}
