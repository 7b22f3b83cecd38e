package main

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/sockit/sockit/internal/serve"
	"github.com/sockit/sockit/proto/httpraw"
	"github.com/sockit/sockit/server"
)

// nistLine is the shape of a daytime line in NIST's format (the daytime
// client and its package check the rest: cmd/ reaches protocols only
// through the registry).
var nistLine = regexp.MustCompile(`(?m)^\d{5} \d\d-\d\d-\d\d \d\d:\d\d:\d\d \d\d \d \d +\d+\.\d UTC\(NIST\) \*`)

// demoStep is one program of the brief, replayed as a sockit command.
type demoStep struct {
	title string
	brief string   // what the brief ran
	args  []string // the sockit command line
	stdin string
	check func(out string) error
}

func (a *app) demoCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "demo",
		Short: "Replay the socket-programming tutorial offline, against embedded local servers",
		Long: `demo starts every service on 127.0.0.1 (ports picked by the kernel), then runs
each program of the tutorial as the sockit command that does its job, printing
the command and its output. The remote hosts the tutorial used (google.com,
djxmmx.net, time.nist.gov, webcode.me) are stood in for by the local servers,
so it works with no internet. The exit status is 0 only if every step checked out.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.runDemo()
		},
	}
}

func (a *app) runDemo() error {
	specs := serve.Defaults(true)
	run, err := serve.Start(a.ctx, specs, serve.Options{
		Server: serverConfigForDemo(a.stderr),
	})
	if err != nil {
		return err
	}
	defer run.Server.Close()
	brief, err := startBriefEcho()
	if err != nil {
		return err
	}
	defer brief.Close()
	ep := func(service, network string) string {
		if network == "http" {
			e, _ := run.Endpoint(specs, service, "tcp")
			return "http://" + e.Address + "/"
		}
		e, _ := run.Endpoint(specs, service, network)
		return e.String()
	}
	steps := demoSteps(ep, brief.Addr())
	failed := 0
	for i, st := range steps {
		pipe := ""
		if st.stdin != "" {
			pipe = "printf " + shellJoin([]string{st.stdin}) + " | "
		}
		fmt.Fprintf(a.stdout, "\n== %d. %s ==\n# the brief: %s\n$ %ssockit %s\n", i+1, st.title, st.brief, pipe, shellJoin(st.args))
		var out, errb bytes.Buffer
		code := run1(a, st.args, st.stdin, &out, &errb)
		if a.ctx.Err() != nil {
			return quietExit(exitInterrupted) // Ctrl-C: the step was cut short, not failed
		}
		a.stdout.Write(out.Bytes())
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			fmt.Fprintln(a.stdout)
		}
		if errb.Len() > 0 {
			fmt.Fprint(a.stdout, indent(errb.String()))
		}
		err := st.check(out.String())
		if code != 0 && err == nil {
			err = fmt.Errorf("exit status %d", code)
		}
		if err != nil {
			failed++
			fmt.Fprintf(a.stdout, "FAILED: %v\n", err)
		} else {
			fmt.Fprintln(a.stdout, "ok")
		}
	}
	total := len(steps)
	if ran, err := a.demoPacketStep(total+1, ep("echo", "tcp")); ran {
		if a.ctx.Err() != nil {
			return quietExit(exitInterrupted)
		}
		total++
		if err != nil {
			failed++
			fmt.Fprintf(a.stdout, "FAILED: %v\n", err)
		} else {
			fmt.Fprintln(a.stdout, "ok")
		}
	}
	fmt.Fprintf(a.stdout, "\n%d of %d steps ok\n", total-failed, total)
	if failed > 0 {
		return quietExit(exitFailure)
	}
	return nil
}

// demoSteps are the brief's programs as sockit commands, against the
// demo's services (ep gives a service's endpoint on a network, "http" for
// an http:// URL) and the brief's own asyncio echo server at briefAddr.
func demoSteps(ep func(service, network string) string, briefAddr string) []demoStep {
	return []demoStep{
		{
			title: "Get IP address",
			brief: "socket.gethostbyname('google.com')",
			args:  []string{"resolve", "localhost"},
			check: func(out string) error {
				return expect(strings.Contains(out, "127.0.0.1"), "no 127.0.0.1 for localhost")
			},
		},
		{
			title: "UDP socket example: Quote of the Day",
			brief: `s.sendto(b'', ("djxmmx.net", 17)); s.recvfrom(1024)`,
			args:  []string{"qotd", ep("qotd", "udp")},
			check: func(out string) error {
				return expect(len(strings.TrimSpace(out)) > 0 && len(out) < 512, "no quote, or one of 512 bytes or more")
			},
		},
		{
			title: "TCP socket example: daytime in NIST's format",
			brief: `s.connect(("time.nist.gov", 13)); s.recv(4096)`,
			args:  []string{"daytime", ep("daytime", "tcp")},
			check: func(out string) error {
				return expect(nistLine.MatchString(out), "not a line in NIST's format")
			},
		},
		{
			title: "Socket HEAD request",
			brief: `s.connect(("webcode.me", 80)); s.sendall(b"HEAD / HTTP/1.1\r\nHost: webcode.me\r\nAccept: text/html\r\n\r\n")`,
			args:  []string{"head", "-H", "Accept: text/html", ep("http", "http")},
			check: func(out string) error {
				return expect(strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") && strings.Contains(out, "Content-Length: ") &&
					strings.HasSuffix(out, "\r\n\r\n"), "no complete 200 response head")
			},
		},
		{
			title: "Socket GET request",
			brief: `s.sendall(b"GET / HTTP/1.1\r\nHost: webcode.me\r\nAccept: text/html\r\nConnection: close\r\n\r\n")`,
			args:  []string{"get", "-H", "Accept: text/html", ep("http", "http")},
			check: func(out string) error {
				return expect(strings.HasPrefix(out, "HTTP/1.1 200 OK\r\n") && strings.HasSuffix(out, string(httpraw.Page())),
					"no 200 response with the whole page")
			},
		},
		{
			title: "Echo client and server",
			brief: `s.connect(("localhost", 8001)); s.sendall(b'hello there'); s.recv(4096)`,
			args:  []string{"echo", ep("echo", "tcp"), "hello there"},
			check: func(out string) error { return expect(out == "hello there\n", "echo differs") },
		},
		{
			title: "Echo over UDP, same server, same port",
			brief: "(the brief's echo server is TCP only; sockit serve answers UDP too)",
			args:  []string{"echo", ep("echo", "udp"), "hello there"},
			check: func(out string) error { return expect(out == "hello there\n", "echo differs") },
		},
		{
			title: "netcat: stdin to the echo server, half-closed at EOF",
			brief: "(the same exchange with a generic client)",
			args:  []string{"connect", ep("echo", "tcp")},
			stdin: "hello there",
			check: func(out string) error { return expect(out == "hello there", "echo differs") },
		},
		{
			title: "Asynchronous server example: the brief's benchmark",
			brief: "$ ab -c 50 -n 1000 http://localhost:8001/",
			args:  []string{"bench", "-q", "-c", "50", "-n", "1000", ep("http", "http")},
			check: func(out string) error {
				return expect(strings.Contains(out, "Complete requests:      1000\n") && strings.Contains(out, "Failed requests:        0\n"),
					"not 1000 requests without failure")
			},
		},
		{
			title: "The brief's benchmark against the brief's own asyncio server",
			brief: "$ ab -c 50 -n 1000 http://localhost:8001/   (its server reads 1024 bytes, writes them back, closes)",
			args:  []string{"bench", "-c", "50", "-n", "1000", "http://" + briefAddr + "/"},
			check: func(out string) error {
				return expect(strings.Contains(out, "Complete requests:      1000\n") && strings.Contains(out, "Failed requests:        0\n") &&
					strings.Contains(out, "Non-2xx responses:      1000\n"), "not ab's accounting: 1000 complete, 0 failed, 1000 non-2xx")
			},
		},
		{
			title: "The concurrent echo server under load, every byte verified",
			brief: "(ab cannot load an echo server; sockit bench can)",
			args:  []string{"bench", "-q", "-k", "-c", "50", "-n", "10000", "--size", "64", ep("echo", "tcp")},
			check: func(out string) error {
				return expect(strings.Contains(out, "Complete requests:      10000\n") && strings.Contains(out, "Failed requests:        0\n"),
					"not 10000 verified echoes")
			},
		},
		{
			title: "Time protocol (RFC 868)",
			brief: "(the other time service of the inetd family)",
			args:  []string{"time", ep("time", "udp")},
			check: func(out string) error { return expect(strings.Contains(out, "offset"), "no time") },
		},
	}
}

// run1 runs one sockit command line in this process.
func run1(a *app, args []string, stdin string, stdout, stderr io.Writer) int {
	return run(a.ctx, args, strings.NewReader(stdin), stdout, stderr)
}

func expect(ok bool, msg string) error {
	if ok {
		return nil
	}
	return fmt.Errorf("%s", msg)
}

func shellJoin(args []string) string {
	q := make([]string, len(args))
	for i, s := range args {
		if strings.ContainsAny(s, " '\"$&|;<>()*?") {
			s = "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
		q[i] = s
	}
	return strings.Join(q, " ")
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ") + "\n"
}

func serverConfigForDemo(w io.Writer) server.Config {
	return server.Config{Logger: slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelWarn}))}
}
