package main

import (
	"crypto/tls"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/sockittest"
)

// merge refuses reports of different loads (an HTTP run and a raw echo
// run, unsharded), a file given twice (by one name or two) and two copies
// of one run, naming the files; --force merges them anyway.
func TestBenchMergeRefusesWhatDoesNotAddUp(t *testing.T) {
	addrs, _ := startServe(t, "http=tcp://127.0.0.1:0", "echo=tcp://127.0.0.1:0")
	dir := t.TempDir()
	write := func(name string, args ...string) string {
		r := sockitRun(t, "", append([]string{"bench", "--json", "-n", "50", "-c", "2"}, args...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d %s", args, r.code, r.stderr)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(r.stdout), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	web := write("web.json", "http://"+addrs["http tcp"]+"/")
	web2 := write("web2.json", "http://"+addrs["http tcp"]+"/")
	echo := write("echo.json", "tcp://"+addrs["echo tcp"])
	b, _ := os.ReadFile(web)
	webCopy := filepath.Join(dir, "copy.json")
	os.WriteFile(webCopy, b, 0o644)
	webLink := filepath.Join(dir, "link.json")
	if err := os.Link(web, webLink); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		files []string
		want  string
	}{
		{[]string{web, echo}, web + " and " + echo + " were asked for different loads (http://"},
		{[]string{web, web}, web + " is given twice"},
		{[]string{web, webLink}, web + " and " + webLink + " are the same file"},
		{[]string{web, webCopy}, web + " and " + webCopy + " are the same report"},
	} {
		r := sockitRun(t, "", append([]string{"bench", "merge"}, tc.files...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) || !strings.Contains(r.stderr, "--force") || r.stdout != "" {
			t.Errorf("merge %v: exit %d, stderr %q; want a usage error with %q", tc.files, r.code, r.stderr, tc.want)
		}
		r = sockitRun(t, "", append([]string{"bench", "merge", "--force", "--json"}, tc.files...)...)
		var j struct{ Requests int64 }
		if err := json.Unmarshal([]byte(r.stdout), &j); r.code != 0 || err != nil || j.Requests != 100 {
			t.Errorf("merge --force %v: exit %d, %d requests (%v) %s", tc.files, r.code, j.Requests, err, r.stderr)
		}
	}
	// Two runs of one load, side by side, merge.
	r := sockitRun(t, "", "bench", "merge", "--json", web, web2)
	var j struct{ Requests int64 }
	if err := json.Unmarshal([]byte(r.stdout), &j); r.code != 0 || err != nil || j.Requests != 100 {
		t.Errorf("merge of two runs of one load: exit %d, %d requests %s", r.code, j.Requests, r.stderr)
	}
}

// A target bench cannot run as written is a usage error, exit 2, before a
// request is sent: a port out of range (as get says it), and host:port
// without a scheme or a path, which ab refuses too (bench will not guess
// HTTP or raw); host:port/path is HTTP, as ab takes it.
func TestBenchTargetRefusedBeforeTheRun(t *testing.T) {
	ab := sockittest.RequireTool(t, "ab")
	for _, tc := range []struct{ target, want string }{
		{"http://127.0.0.1:99999/", `sockit bench: http://127.0.0.1:99999/: malformed URL: port "99999" is not a number from 1 to 65535`},
		{"tcp://127.0.0.1:99999", `sockit bench: tcp://127.0.0.1:99999: `},
		{"127.0.0.1:8080", "sockit bench: 127.0.0.1:8080: no scheme: want http:// or https:// (or host:port/path, which ab takes for http://), or for a raw load tcp://, udp://, unix://, unixgram://"},
		{"localhost", "sockit bench: localhost: no scheme"},
		{"http:///", "sockit bench: http:///: malformed URL"},
	} {
		r := sockitRun(t, "", "bench", "-n", "3", tc.target)
		if r.code != exitUsage || !strings.HasPrefix(r.stderr, tc.want) || r.stdout != "" {
			t.Errorf("bench %s: exit %d, stderr %q; want exit 2 and %q", tc.target, r.code, r.stderr, tc.want)
		}
	}
	// ab refuses both kinds too.
	for _, target := range []string{"127.0.0.1:8080", "http://127.0.0.1:99999/"} {
		out, err := exec.Command(ab, "-n", "1", target).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "ab: invalid URL") {
			t.Errorf("ab %s: %v %s", target, err, out)
		}
	}
	// host:port/path is HTTP, for ab and bench alike.
	addrs, _ := startServe(t, "http=tcp://127.0.0.1:0")
	r := sockitRun(t, "", "bench", "-n", "3", addrs["http tcp"]+"/")
	if r.code != 0 || !strings.Contains(r.stdout, "Document Path:          /\n") || !strings.Contains(r.stdout, "Failed requests:        0\n") {
		t.Errorf("bench %s/: exit %d\n%s%s", addrs["http tcp"], r.code, r.stdout, r.stderr)
	}
}

// --warmup keeps Server Software: the field of the first response, warm-up
// included (each worker reads it once), on both engines.
func TestBenchWarmupKeepsServerSoftware(t *testing.T) {
	addrs, _ := startServe(t, "http=tcp://127.0.0.1:0")
	for _, engine := range []string{"goroutine", "loop"} {
		r := sockitRun(t, "", "bench", "--engine", engine, "-k", "-c", "2", "-n", "20", "--warmup", "100ms", "http://"+addrs["http tcp"]+"/")
		if r.code != 0 || !strings.Contains(r.stdout, "Server Software:        sockit\n") {
			t.Errorf("%s: exit %d\n%s", engine, r.code, r.stdout)
		}
	}
}

// The first failure of every kind is shown, each on its own line: a run
// whose requests fail as connect (a refused port, between runs of the
// server), read (a reset) and length failures.
func TestBenchFirstFailureOfEveryKind(t *testing.T) {
	body := strings.Repeat("x", 100)
	cut := sockittest.Misbehave(t, "tcp", sockittest.Hangup, sockittest.Script{Request: true, Reply: func([]byte) []byte {
		return []byte("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + body) // half of it, then the close: a body cut short
	}})
	addr := cut
	silent := sockittest.Misbehave(t, "tcp", sockittest.Silent, sockittest.Script{Request: true})
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"-n", "10", "http://" + addr + "/"}, []string{"sockit: first length failure: "}},
		{[]string{"-n", "2", "-s", "200ms", "http://" + silent + "/"}, []string{"sockit: first timeout failure: read from " + silent + " (tcp): timed out"}},
	} {
		r := sockitRun(t, "", append([]string{"bench", "--engine", "goroutine"}, tc.args...)...)
		for _, w := range tc.want {
			if !strings.Contains(r.stderr, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", tc.args, w, r.stderr)
			}
		}
	}
	// Several kinds in one run: a TCP echo target whose connections take
	// turns echoing wrong bytes (verify) and hanging up (length or read).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for k := 0; ; k++ {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			buf := make([]byte, 64)
			if k%2 == 0 {
				c.Read(buf)
				c.Write(make([]byte, 64)) // zeros: not what was sent
			} else {
				c.(*net.TCPConn).SetLinger(0) // a reset
			}
			c.Close()
		}
	}()
	r := sockitRun(t, "", "bench", "--json", "-c", "1", "-n", "10", "tcp://"+ln.Addr().String())
	ln.Close()
	<-done
	var j struct {
		Failures    map[string]int64  `json:"failures"`
		FirstErrors map[string]string `json:"first_errors"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
		t.Fatal(err)
	}
	if len(j.Failures) < 2 {
		t.Fatalf("failures %v: want two kinds", j.Failures)
	}
	for k := range j.Failures {
		if k != "verify" && j.FirstErrors[k] == "" { // a wrong echo is not an error a socket said
			t.Errorf("no first error for %s: %v", k, j.FirstErrors)
		}
	}
	r = sockitRun(t, "", "bench", "-c", "1", "-n", "10", "tcp://"+ln.Addr().String())
	if got := regexp.MustCompile(`(?m)^sockit: first \w+ failure: `).FindAllString(r.stderr, -1); len(got) == 0 {
		t.Errorf("no first failure lines:\n%s", r.stderr)
	}
}

// Keep-Alive requests: appears with -k only, as in ab: not for UDP, not
// for a raw run or an HTTP run without -k.
func TestBenchKeepAliveLineOnlyWithK(t *testing.T) {
	addrs, _ := startServe(t, "--udp-budget", "off", "http=tcp://127.0.0.1:0", "echo=tcp://127.0.0.1:0", "echo=udp://127.0.0.1:0")
	for _, tc := range []struct {
		args []string
		want bool
	}{
		{[]string{"http://" + addrs["http tcp"] + "/"}, false},
		{[]string{"-k", "http://" + addrs["http tcp"] + "/"}, true},
		{[]string{"tcp://" + addrs["echo tcp"]}, false},
		{[]string{"-k", "tcp://" + addrs["echo tcp"]}, true},
		{[]string{"udp://" + addrs["echo udp"]}, false},
		{[]string{"-k", "udp://" + addrs["echo udp"]}, false},
	} {
		r := sockitRun(t, "", append([]string{"bench", "-n", "20", "-c", "2"}, tc.args...)...)
		if got := strings.Contains(r.stdout, "Keep-Alive requests:"); got != tc.want || r.code != 0 {
			t.Errorf("%v: exit %d, Keep-Alive line %v, want %v\n%s", tc.args, r.code, got, tc.want, r.stdout)
		}
	}
}

// -B connects from the local address given (the server sees it), on both
// engines and for raw targets; one of another family, or for a Unix
// socket, is refused before the run.
func TestBenchLocalAddress(t *testing.T) {
	peers := make(chan string, 100)
	addr, _ := sockittest.ScriptedHTTP(t, nil, func(r *sockittest.HTTPRequest) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			peers <- c.RemoteAddr().(*net.TCPAddr).IP.String()
			buf := make([]byte, 64)
			n, _ := c.Read(buf)
			c.Write(buf[:n])
			c.Close()
		}
	}()
	defer func() { ln.Close(); <-done }()
	for _, engine := range []string{"goroutine", "loop"} {
		r := sockitRun(t, "", "bench", "--engine", engine, "-B", "127.0.0.7", "-n", "3", "tcp://"+ln.Addr().String())
		if r.code != 0 || !strings.Contains(r.stdout, "Failed requests:        0\n") {
			t.Fatalf("%s: exit %d\n%s\n%s", engine, r.code, r.stdout, r.stderr)
		}
		for range 3 {
			if ip := <-peers; ip != "127.0.0.7" {
				t.Errorf("%s: a connection came from %s, not -B's 127.0.0.7", engine, ip)
			}
		}
		r = sockitRun(t, "", "bench", "--engine", engine, "-B", "127.0.0.7", "-n", "3", "http://"+addr+"/")
		if r.code != 0 || !strings.Contains(r.stdout, "Failed requests:        0\n") {
			t.Errorf("%s http: exit %d\n%s\n%s", engine, r.code, r.stdout, r.stderr)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-B", "nohost", "http://" + addr + "/"}, `-B: "nohost" is not an IP address`},
		{[]string{"-B", "127.0.0.7", "--unix-socket", "/tmp/x", "http://" + addr + "/"}, "-B: cannot go with --unix-socket"},
		{[]string{"-B", "127.0.0.7", "unix:///tmp/x.sock"}, "-B: applies to IP targets"},
	} {
		r := sockitRun(t, "", append([]string{"bench", "-n", "1"}, tc.args...)...)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
	}
	_ = time.Second
}

// --cacert trusts a CA for https, as get's does: without it a self-signed
// server fails every request (and says why); with it every one succeeds;
// an unreadable file or one without PEM is a usage error before the run.
func TestBenchCACert(t *testing.T) {
	dir := t.TempDir()
	cert, key := sockittest.SelfSignedCert(t, dir)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	srv, _ := sockittest.ScriptedHTTP(t, &tls.Config{Certificates: []tls.Certificate{pair}}, func(*sockittest.HTTPRequest) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecure"
	})
	url := "https://" + srv + "/"
	r := sockitRun(t, "", "bench", "-n", "3", url)
	if r.code != exitFailure || !strings.Contains(r.stderr, "every request failed (connect 3)") || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("unknown CA: exit %d %q", r.code, r.stderr)
	}
	r = sockitRun(t, "", "bench", "--cacert", cert, "-n", "3", url)
	if r.code != 0 || !strings.Contains(r.stdout, "Failed requests:        0\n") || !strings.Contains(r.stdout, "Document Length:        6 bytes\n") {
		t.Errorf("--cacert: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	notPEM := filepath.Join(dir, "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o644)
	for _, tc := range []struct{ file, want string }{
		{notPEM, "--cacert " + notPEM + ": no PEM certificates in it"},
		{filepath.Join(dir, "none.pem"), "--cacert " + filepath.Join(dir, "none.pem") + ": no such file or directory"},
	} {
		r := sockitRun(t, "", "bench", "--cacert", tc.file, "-n", "1", url)
		if r.code != exitUsage || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("--cacert %s: exit %d %q", tc.file, r.code, r.stderr)
		}
	}
}

// -w prints ab's report as ab's HTML tables, row for row as the real ab -w
// prints them against the same server, on both engines, for the flags that
// change its rows.
func TestBenchHTMLTablesMatchAb(t *testing.T) {
	addrs, _ := startServe(t, "http=tcp://127.0.0.1:0")
	body := filepath.Join(t.TempDir(), "body")
	os.WriteFile(body, []byte(strings.Repeat("x", 300)), 0o644)
	figures := regexp.MustCompile(`>[ 0-9.]+( seconds| bytes| kb/s (received|sent|total))?<`)
	shape := func(s string) string { return figures.ReplaceAllString(s, ">N<") }
	for _, args := range [][]string{{}, {"-k"}, {"-p", body}, {"-l"}, {"-i"}} {
		for _, path := range []string{"/", "/nope"} {
			url := "http://" + addrs["http tcp"] + path
			abArgs := append(append([]string{"-w", "-n", "20", "-c", "2"}, args...), url)
			out, err := exec.Command(sockittest.RequireTool(t, "ab"), abArgs...).Output()
			if err != nil {
				t.Fatalf("ab %v: %v", abArgs, err)
			}
			_, want, ok := strings.Cut(string(out), "\n\n\n")
			if !ok {
				t.Fatalf("ab -w printed no table:\n%s", out)
			}
			for _, engine := range []string{"goroutine", "loop"} {
				r := sockitRun(t, "", append([]string{"bench", "--engine", engine}, abArgs...)...)
				if r.code != 0 {
					t.Fatalf("%v: exit %d %s", abArgs, r.code, r.stderr)
				}
				if shape(r.stdout) != shape(want) {
					t.Errorf("%v %s: differs from ab -w:\n%s", args, engine, lineDiff(shape(r.stdout), shape(want)))
				}
				for _, l := range strings.Split(want, "\n") {
					// The rows whose figures depend neither on timing nor
					// on the request's bytes hold ab's figures.
					for _, p := range []string{"Server Software:", "Document Length:", "Complete requests:", "Failed requests:", "Non-2xx", "Keep-Alive", "HTML transferred:"} {
						if strings.Contains(l, ">"+p+"<") && !strings.Contains(r.stdout, l) {
							t.Errorf("%v %s: lacks ab's row %q:\n%s", args, engine, l, r.stdout)
						}
					}
				}
			}
		}
	}
}

// As in ab, a -H header named Host, User-Agent or Accept replaces bench's
// own, on both engines: each is sent once, with the user's value.
func TestBenchHeaderReplacesDefault(t *testing.T) {
	addr, reqs := sockittest.ScriptedHTTP(t, nil, func(*sockittest.HTTPRequest) string {
		return "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
	})
	for _, engine := range []string{"goroutine", "loop"} {
		r := sockitRun(t, "", "bench", "--engine", engine, "-n", "2", "-H", "user-agent: probe/1", "-H", "Host: example.test",
			"-H", "Accept: text/html", "http://"+addr+"/")
		if r.code != 0 {
			t.Fatalf("%s: exit %d %s", engine, r.code, r.stderr)
		}
	}
	got := reqs()
	if len(got) != 4 {
		t.Fatalf("%d requests", len(got))
	}
	for _, req := range got {
		head := strings.ToLower(req.Head) + "\r\n" // the last line's end
		for _, f := range []string{"\r\nuser-agent: probe/1\r\n", "\r\nhost: example.test\r\n", "\r\naccept: text/html\r\n"} {
			if strings.Count(head, f) != 1 || strings.Count(head, f[:strings.Index(f, ":")+1]) != 1 {
				t.Errorf("request head:\n%s\nwant %q once and no other", req.Head, strings.TrimSpace(f))
			}
		}
	}
}
