package main

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/sockit/sockit/sockittest"
)

// headLines is a request head as a set: its request line, then its other
// lines sorted (curl and sockit order some fields differently), without
// the lines named in drop.
func headLines(head string, drop ...string) string {
	lines := strings.Split(strings.TrimRight(head, "\r\n"), "\r\n")
	rest := slices.DeleteFunc(lines[1:], func(l string) bool {
		name, _, _ := strings.Cut(l, ":")
		return slices.ContainsFunc(drop, func(d string) bool { return strings.EqualFold(d, name) })
	})
	slices.Sort(rest)
	return strings.Join(append(lines[:1], rest...), "\n")
}

// TestGetFlagsMatchCurl (issue 22 item 14): -G, -e, -b (a string and a
// cookie file), -x (absolute form, the proxy's credentials), --http1.0,
// -w's size_upload and size_request, -i with -o, and -O send what curl
// sends and write what curl writes, each run of sockit beside a run of the
// real curl against the same server. (curl adds Proxy-Connection, an
// obsolete field sockit does not send.)
func TestGetFlagsMatchCurl(t *testing.T) {
	curl := sockittest.RequireTool(t, "curl")
	srv, reqs := sockittest.ScriptedHTTP(t, nil, ok200("hello"))
	jar := filepath.Join(t.TempDir(), "jar")
	os.WriteFile(jar, []byte("# Netscape HTTP Cookie File\n"+
		"127.0.0.1\tFALSE\t/\tFALSE\t0\tsid\tabc\n"+
		"127.0.0.1\tFALSE\t/other\tFALSE\t0\tnope\t1\n"+
		"#HttpOnly_127.0.0.1\tFALSE\t/p\tFALSE\t0\tdeep\t2\n"+
		"127.0.0.1\tFALSE\t/\tTRUE\t0\tsecure\t3\n"), 0o644)
	base := "http://" + srv
	for _, tc := range []struct {
		name string
		args []string
		out  string // a file both write, compared too
	}{
		{"http1.0", []string{"--http1.0", base + "/a"}, ""},
		{"-G", []string{"-G", "-d", "a=1", "-d", "b=x%20y", base + "/a?z=0"}, ""},
		{"-G -X POST", []string{"-G", "-d", "q=1", "-X", "POST", base + "/"}, ""},
		{"-e -b", []string{"-e", "http://ref/", "-b", "a=1; b=2", base + "/"}, ""},
		{"-b FILE", []string{"-b", jar, base + "/p/q"}, ""},
		{"-x", []string{"-x", "http://u:pw@" + srv, "http://example.test:81/p?q"}, ""},
		{"-x no scheme", []string{"-x", srv, "http://example.test/"}, ""},
		{"-d -w sizes", []string{"-d", "hello", "-w", "%{size_upload} %{size_request}\n", base + "/"}, ""},
		{"-i -o", []string{"-i", "-o", "OUT", base + "/"}, "OUT"},
		{"-O", []string{"-O", base + "/dir/file.txt?x=1"}, "file.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var heads, outs, files []string
			for _, who := range []string{"curl", "sockit"} {
				dir := t.TempDir()
				args := append([]string{"-s", "-A", "x"}, tc.args...)
				var out []byte
				if who == "curl" {
					cmd := exec.Command(curl, args...)
					cmd.Dir = dir
					var err error
					if out, err = cmd.Output(); err != nil {
						t.Fatalf("curl %v: %v", args, err)
					}
				} else {
					wd, _ := os.Getwd()
					os.Chdir(dir)
					r := sockitRun(t, "", append([]string{"get"}, args...)...)
					os.Chdir(wd)
					if r.code != 0 {
						t.Fatalf("sockit get %v: exit %d %q", args, r.code, r.stderr)
					}
					out = []byte(r.stdout)
				}
				q := reqs()
				heads = append(heads, headLines(q[len(q)-1].Head, "Proxy-Connection")+"\n"+string(q[len(q)-1].Body))
				if tc.name != "-i -o" && tc.name != "-O" {
					outs = append(outs, strings.TrimPrefix(string(out), "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"))
				}
				if tc.out != "" {
					b, err := os.ReadFile(filepath.Join(dir, tc.out))
					if err != nil {
						t.Fatalf("%s wrote no %s: %v", who, tc.out, err)
					}
					files = append(files, string(b))
				}
			}
			if heads[0] != heads[1] {
				t.Errorf("requests differ:\ncurl:\n%s\nsockit:\n%s", heads[0], heads[1])
			}
			if len(outs) == 2 && outs[0] != outs[1] {
				t.Errorf("outputs differ: curl %q, sockit %q", outs[0], outs[1])
			}
			if len(files) == 2 && files[0] != files[1] {
				t.Errorf("%s differs: curl %q, sockit %q", tc.out, files[0], files[1])
			}
		})
	}
	// --compressed on a body that is not gzip: curl's 61, in zlib's words.
	notGzip, _ := sockittest.ScriptedHTTP(t, nil, func(*sockittest.HTTPRequest) string {
		return "HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5\r\n\r\nhello"
	})
	var curlOut strings.Builder
	cmd := exec.Command(curl, "-sS", "--compressed", "-o", "-", "http://"+notGzip+"/")
	cmd.Stderr = &curlOut
	cmd.Run()
	r := sockitRun(t, "", "get", "-sS", "--compressed", "-o", "-", "http://"+notGzip+"/")
	if code := cmd.ProcessState.ExitCode(); r.code != code || !strings.HasSuffix(curlOut.String(), ": incorrect header check\n") ||
		!strings.HasSuffix(r.stderr, ": incorrect header check\n") {
		t.Errorf("--compressed, not gzip: curl exit %d %q, sockit exit %d %q", code, curlOut.String(), r.code, r.stderr)
	}
	// -O with a URL that names no file: curl's 23, before any request.
	n := len(reqs())
	if r := sockitRun(t, "", "get", "-O", base+"/"); r.code != exitWrite || !strings.Contains(r.stderr, "no file name in the URL") || len(reqs()) != n {
		t.Errorf("-O .../: exit %d %q", r.code, r.stderr)
	}
}

// TestGetProxyTunnel: an https URL through -x goes through a CONNECT
// tunnel, the proxy's credentials on the CONNECT and not inside the
// tunnel, the origin's certificate checked; a proxy refusing the tunnel
// fails the transfer (56, as curl).
func TestGetProxyTunnel(t *testing.T) {
	dir := t.TempDir()
	cert, key := sockittest.SelfSignedCert(t, dir)
	pair, err := tls.LoadX509KeyPair(cert, key)
	if err != nil {
		t.Fatal(err)
	}
	origin, reqs := sockittest.ScriptedHTTP(t, &tls.Config{Certificates: []tls.Certificate{pair}}, ok200("secure"))
	var mu sync.Mutex
	var connects []string
	proxy := sockittest.TCPPeer(t, func(c *net.TCPConn) {
		br := bufio.NewReader(c)
		var head strings.Builder
		for {
			l, err := br.ReadString('\n')
			head.WriteString(l)
			if err != nil || l == "\r\n" {
				break
			}
		}
		mu.Lock()
		connects = append(connects, head.String())
		mu.Unlock()
		if !strings.HasPrefix(head.String(), "CONNECT "+origin+" ") {
			c.Write([]byte("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"))
			return
		}
		up, err := net.Dial("tcp", origin)
		if err != nil {
			return
		}
		defer up.Close()
		c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
		go func() { io.Copy(up, br); up.Close() }() // the client is done: so is the tunnel
		io.Copy(c, up)
	})
	r := sockitRun(t, "", "get", "-x", "http://u:pw@"+proxy, "--cacert", cert, "-o", "-", "https://"+origin+"/x")
	mu.Lock()
	seen := slices.Clone(connects)
	mu.Unlock()
	if r.code != 0 || r.stdout != "secure" || len(seen) != 1 ||
		!strings.Contains(seen[0], "Proxy-Authorization: Basic dTpwdw==\r\n") {
		t.Fatalf("through the tunnel: exit %d %q %q, CONNECT %q", r.code, r.stdout, r.stderr, seen)
	}
	if q := reqs(); len(q) != 1 || q[0].Target != "/x" {
		t.Errorf("origin saw %v", q)
	} else if _, has := q[0].Get("Proxy-Authorization"); has {
		t.Errorf("the proxy's credentials went to the origin: %q", q[0].Head)
	}
	if r := sockitRun(t, "", "get", "-x", proxy, "--cacert", cert, "https://localhost:1/"); r.code != exitRecv ||
		!strings.Contains(r.stderr, "proxy answered 403 to CONNECT") {
		t.Errorf("refused tunnel: exit %d %q", r.code, r.stderr)
	}
}
