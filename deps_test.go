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
	banned := []string{self + "/bench", self + "/cmd/", self + "/sockittest", self + "/internal/serve", self + "/server/promrecorder"}
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

// TestRegistrationDeps keeps registering protocols the program's act
// (database/sql's rule for drivers): only cmd/sockit imports proto/all, and
// nothing else depends on it; cmd/sockit reaches the protocols through the
// registry, not their packages; internal/ and packet/ import no protocol
// package at all (packet describes payloads through proto.Protocol.Describe,
// serve configures protocols through proto.Option). Tests may import what
// they like.
func TestRegistrationDeps(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go is not on the PATH: %v", err)
	}
	out, err := exec.Command(goTool, "list", "-f", "{{.ImportPath}} {{join .Imports \",\"}} {{join .Deps \",\"}}", "./...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const self = "github.com/sockit/sockit/"
	all := self + "proto/all"
	isProtocol := func(p string) bool { // proto/NAME, and proto/all
		rest, ok := strings.CutPrefix(p, self+"proto/")
		return ok && rest != ""
	}
	// What cmd/sockit may still import of a protocol package, and why.
	allowed := map[string]string{
		self + "proto/httpraw":          "get and head are HTTP's clients wired in cmd/sockit/http.go, not yet a proto.Client",
		self + "proto/httpraw/transfer": "get and head are curl's command line, transfer's flags (cmd/sockit/http.go)",
	}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(line, " ")
		if len(f) != 3 {
			t.Fatalf("go list line %q", line)
		}
		pkg, imports, deps := f[0], strings.Split(f[1], ","), strings.Split(f[2], ",")
		rel := strings.TrimPrefix(pkg, self)
		checked++
		switch {
		case rel == "cmd/sockit":
			for _, imp := range imports {
				if isProtocol(imp) && imp != all && allowed[imp] == "" {
					t.Errorf("cmd/sockit imports %s: reach a protocol through the registry (proto/all, proto.Lookup)", imp)
				}
			}
			if !slices.Contains(imports, all) {
				t.Errorf("cmd/sockit does not import proto/all: the program registers the protocols")
			}
		case strings.HasPrefix(rel, "internal/") || rel == "packet" || strings.HasPrefix(rel, "packet/"):
			for _, dep := range deps {
				if isProtocol(dep) {
					t.Errorf("%s depends on the protocol package %s (describe and configure protocols through package proto)", rel, dep)
				}
			}
		case pkg != all && !strings.HasPrefix(rel, "cmd/"):
			if slices.Contains(deps, all) {
				t.Errorf("the library package %s depends on proto/all: only the program registers every protocol", rel)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("go list listed only %d packages", checked)
	}
}
