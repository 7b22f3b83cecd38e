package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/sockit/sockit/sockittest"
)

// h2DateLine is an HTTP/2 head's date field, which differs between runs.
var h2DateLine = regexp.MustCompile(`(?m)^date: .*\r\n`)

// TestGetHTTP2MatchesCurl: get and head with --http2-prior-knowledge
// against nginx's h2c port print what curl prints with the same flags
// (heads "HTTP/2 200 ", -w's %{http_version} 2), two URLs as streams of
// one connection; --http1.1 to it fails as curl's does.
func TestGetHTTP2MatchesCurl(t *testing.T) {
	curl := sockittest.RequireTool(t, "curl")
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.txt"), []byte("0123456789"), 0o644)
	os.WriteFile(filepath.Join(dir, "big.bin"), sockittest.RandomBytes(300_000, 5), 0o644)
	base := "http://" + sockittest.NginxListen(t, "http2", "\t\troot "+dir+";")
	for _, tc := range [][]string{
		{"get", "-i", base + "/a.txt"},
		{"get", "-i", base + "/a.txt", base + "/big.bin"},
		{"head", base + "/a.txt"},
		{"get", "-s", "-o", "/dev/null", "-w", "%{http_version} %{http_code} %{size_download}\n", base + "/big.bin", base + "/nope"},
	} {
		args := append([]string{tc[0], "--http2-prior-knowledge"}, tc[1:]...)
		r := sockitRun(t, "", args...)
		// curl 7.88.1 fails a second URL on a reused prior-knowledge
		// connection (exit 16, see proto/httpraw's TestH2Curl): it gets
		// one URL a run.
		var flags, urls []string
		for _, a := range tc[1:] {
			if strings.HasPrefix(a, "http://") {
				urls = append(urls, a)
			} else {
				flags = append(flags, a)
			}
		}
		if tc[0] == "head" {
			flags = append(flags, "-I")
		}
		var want []byte
		var cargs []string
		for _, u := range urls {
			cargs = append(append([]string{"-s", "--http2-prior-knowledge"}, flags...), u)
			out, _ := exec.Command(curl, cargs...).Output()
			want = append(want, out...)
		}
		got, exp := h2DateLine.ReplaceAllString(r.stdout, ""), h2DateLine.ReplaceAllString(string(want), "")
		if r.code != 0 || got != exp {
			t.Errorf("sockit %v (exit %d, %s) and curl %v differ:\nsockit %.300q\ncurl   %.300q", args, r.code, r.stderr, cargs, got, exp)
		}
	}
	if r := sockitRun(t, "", "get", "--http1.1", base+"/a.txt"); r.code == 0 {
		t.Errorf("HTTP/1.1 to an h2c-only port: exit 0, %q", r.stdout)
	}
}
