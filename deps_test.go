package sockit_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestClientDeps keeps the client packages light (tailscale's deptest is the
// model): importing sockit, resolve, netcat or a protocol must pull in
// nothing beyond the standard library, golang.org/x/sys, golang.org/x/net,
// github.com/miekg/dns and sockit's own light packages — not Prometheus,
// cobra or the load generator.
func TestClientDeps(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on the PATH: %v", err)
	}
	// server is here too: every protocol imports it for its handler
	// interfaces, so its metrics live behind server.Recorder.
	clients := []string{".", "./resolve", "./netcat", "./proto/...", "./server"}
	out, err := exec.Command(goTool, append([]string{"list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}"}, clients...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const self = "github.com/sockit/sockit"
	// golang.org/x/text comes with x/net/http2 (its idna), which the
	// responder's HTTP/2 frames and HPACK with.
	allowed := []string{"golang.org/x/sys/", "golang.org/x/net/", "golang.org/x/text/", "github.com/miekg/dns", self}
	// sockit's own packages that a client must not import: they carry the
	// heavy dependencies, or test and CLI machinery.
	banned := []string{self + "/bench", self + "/cmd/", self + "/sockittest", self + "/internal/services", self + "/server/promrecorder"}
	deps := strings.Fields(string(out))
	if len(deps) == 0 {
		t.Fatal("go list printed no packages")
	}
	for _, dep := range deps {
		if hasPrefix(dep, banned) || !hasPrefix(dep, allowed) {
			t.Errorf("a client package depends on %s (go list -deps %s)", dep, strings.Join(clients, " "))
		}
	}
}

func hasPrefix(path string, prefixes []string) bool {
	for _, p := range prefixes {
		if path == strings.TrimSuffix(p, "/") || strings.HasPrefix(path, p) {
			return true
		}
	}
	return false
}

// TestBenchEngineDeps keeps the load engine apart from its reports, as
// vegeta keeps lib apart from lib/prom: package bench (what a program
// embedding the engine links) imports neither Prometheus nor
// bench/report, and registers no protocol itself (proto/all is the
// program's to import).
func TestBenchEngineDeps(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on the PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./bench").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/HdrHistogram/hdrhistogram-go") {
		t.Fatalf("go list -deps ./bench printed no HDR histogram: %v", deps)
	}
	const self = "github.com/sockit/sockit"
	banned := []string{"github.com/prometheus/", self + "/bench/report", self + "/proto/all", self + "/cmd/", self + "/sockittest"}
	for _, dep := range deps {
		if hasPrefix(dep, banned) {
			t.Errorf("the bench engine depends on %s (go list -deps ./bench)", dep)
		}
	}
}
