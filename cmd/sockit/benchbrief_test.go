package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sockit/sockit/sockittest"
)

// The brief's last command, against the brief's own asyncio server (the
// ten-line Python program, run by python3): it reads up to 1024 bytes,
// writes them back and closes, so every reply is the request itself. ab
// counts each as a complete non-2xx response; so does bench, line for line
// on both engines, and it says on stderr what the replies were and which
// load measures such a server, which then runs clean.
func TestBenchBriefAsyncioMatchesAb(t *testing.T) {
	addr := sockittest.BriefAsyncioServer(t)
	url := "http://" + addr + "/"
	want := abReport(t, "-c", "50", "-n", "1000", url)
	for _, l := range []string{"Complete requests:      1000\n", "Failed requests:        0\n", "Non-2xx responses:      1000\n"} {
		if !strings.Contains(want, l) {
			t.Fatalf("ab's report lacks %q:\n%s", l, want)
		}
	}
	for _, engine := range []string{"goroutine", "loop"} {
		r := sockitRun(t, "", "bench", "--engine", engine, "-c", "50", "-n", "1000", url)
		if r.code != 0 {
			t.Fatalf("%s: exit %d\n%s", engine, r.code, r.stderr)
		}
		if abShape(r.stdout) != abShape(want) {
			t.Errorf("%s: layout differs from ab's:\n%s", engine, lineDiff(abShape(r.stdout), abShape(want)))
		}
		// Every figure that depends neither on timing nor on the request's
		// bytes is ab's; Total transferred is the requests' own bytes, sent
		// back, and ab's request is not bench's (checked below).
		noTotal := func(s string) string {
			var keep []string
			for _, l := range strings.Split(abFigures(s), "\n") {
				if !strings.HasPrefix(l, "Total transferred:") {
					keep = append(keep, l)
				}
			}
			return strings.Join(keep, "\n")
		}
		if got, abs := noTotal(r.stdout), noTotal(want); got != abs {
			t.Errorf("%s: figures differ from ab's:\n%s", engine, lineDiff(got, abs))
		}
		note := "sockit: the 1000 replies were not HTTP responses: each was the request itself, sent back (an echo server?)"
		suggest := "sockit bench --proto echo -c 50 -n 1000 tcp://" + addr
		if !strings.Contains(r.stderr, note) || !strings.Contains(r.stderr, suggest) {
			t.Errorf("%s: stderr does not say what the replies were, or does not point to %q:\n%s", engine, suggest, r.stderr)
		}
		r = sockitRun(t, "", "bench", "--json", "--engine", engine, "-c", "50", "-n", "1000", url)
		var j struct {
			Requests      int64 `json:"requests"`
			Non2xx        int64 `json:"non_2xx"`
			BytesSent     int64 `json:"bytes_sent"`
			BytesReceived int64 `json:"bytes_received"`
			NotHTTP       int64 `json:"not_http"`
			Echoed        int64 `json:"echoed"`
		}
		if err := json.Unmarshal([]byte(r.stdout), &j); err != nil {
			t.Fatalf("%s --json: %v\n%s", engine, err, r.stdout)
		}
		if j.Requests != 1000 || j.Non2xx != 1000 || j.NotHTTP != 1000 || j.Echoed != 1000 || j.BytesReceived != j.BytesSent || j.BytesSent%1000 != 0 {
			t.Errorf("%s --json: %+v; want every reply the whole request", engine, j)
		}
		if !strings.Contains(r.stderr, note) {
			t.Errorf("%s --json: stderr lacks the note:\n%s", engine, r.stderr)
		}
	}
	// With a body (-p), ab takes what follows the echoed head's blank line
	// for the document; so does bench.
	body := filepath.Join(t.TempDir(), "body")
	os.WriteFile(body, []byte("hello there"), 0o644)
	want = abReport(t, "-c", "5", "-n", "50", "-p", body, url)
	for _, engine := range []string{"goroutine", "loop"} {
		r := sockitRun(t, "", "bench", "--engine", engine, "-c", "5", "-n", "50", "-p", body, url)
		if got, abs := abFigures(r.stdout), abFigures(want); r.code != 0 || abShape(r.stdout) != abShape(want) ||
			!strings.Contains(got, "Document Length:        11 bytes") || lineDiff(got, abs) != "" && !onlyTotalDiffers(got, abs) {
			t.Errorf("-p %s: exit %d\n%s\nab:\n%s", engine, r.code, r.stdout, want)
		}
	}
	// The load the note names measures the server: every echo verified.
	args := append([]string{"bench"}, strings.Fields(strings.TrimPrefix(fmt.Sprint("sockit bench --proto echo -c 50 -n 1000 tcp://"+addr), "sockit bench "))...)
	r := sockitRun(t, "", args...)
	if r.code != 0 || !strings.Contains(r.stdout, "Complete requests:      1000\n") || !strings.Contains(r.stdout, "Failed requests:        0\n") {
		t.Errorf("%v: exit %d\n%s\n%s", args, r.code, r.stdout, r.stderr)
	}
}

// demo runs the brief's benchmark against the brief's server (its Go
// equivalent, so the demo needs no python3) and checks ab's accounting.
func TestDemoRunsTheBriefsBenchmark(t *testing.T) {
	r := sockitRun(t, "", "demo")
	i := strings.Index(r.stdout, "The brief's benchmark against the brief's own asyncio server ==")
	if r.code != 0 || i < 0 {
		t.Fatalf("demo: exit %d, no step for the brief's server:\n%s", r.code, r.stdout)
	}
	step := r.stdout[i:]
	step = step[:strings.Index(step, "\n== ")]
	for _, l := range []string{"$ sockit bench -c 50 -n 1000 http://localhost:", "Complete requests:      1000\n", "Failed requests:        0\n",
		"Non-2xx responses:      1000\n", "each was the request itself, sent back (an echo server?)", "\nok\n"} {
		if !strings.Contains(step, l) {
			t.Errorf("the step lacks %q:\n%s", l, step)
		}
	}
}

// onlyTotalDiffers reports whether two reports' figures differ only in
// Total transferred (a reply that is the request is as long as the
// request, and ab's request is not bench's).
func onlyTotalDiffers(got, want string) bool {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	if len(g) != len(w) {
		return false
	}
	for i := range g {
		if g[i] != w[i] && !strings.HasPrefix(g[i], "Total transferred:") {
			return false
		}
	}
	return true
}
