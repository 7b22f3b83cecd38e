package demo

import (
	"bytes"
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/internal/serve"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/tlsconfig"
)

// Short and Long are the command's help.
const (
	Short = "Replay the socket-programming tutorial offline, against embedded local servers"
	Long  = `demo starts every service on 127.0.0.1 (ports picked by the kernel), then runs
each program of the tutorial as the sockit command that does its job, printing
the command and its output. The remote hosts the tutorial used (google.com,
djxmmx.net, time.nist.gov, webcode.me) are stood in for by the local servers,
so it works with no internet. The exit status is 0 only if every step checked
out.`
)

// Config is what the demo needs of the program that runs it.
type Config struct {
	// Stdout gets every step: its title, the tutorial's line, the
	// command, its output (stderr's lines indented) and its verdict.
	Stdout io.Writer
	// Stderr gets the servers' warnings.
	Stderr io.Writer
	// Run runs one sockit command line in this process and returns its
	// exit status.
	Run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
	// Ports names the services by port, for the packet step's decoder
	// (the demo's echo port is added to it).
	Ports map[uint16]string
}

// Result is how many steps ran and how many checked out. A step that
// could not run (the packet step without CAP_NET_RAW) is not counted.
type Result struct {
	OK, Total int
}

// nistLine is the shape of a daytime line in NIST's format (the daytime
// client and its package check the rest: the demo reaches protocols only
// through the registry and the commands).
var nistLine = regexp.MustCompile(`(?m)^\d{5} \d\d-\d\d-\d\d \d\d:\d\d:\d\d \d\d \d \d +\d+\.\d UTC\(NIST\) \*`)

// step is one program of the brief, replayed as a sockit command.
type step struct {
	title string
	brief string   // what the brief ran
	args  []string // the sockit command line
	stdin string
	check func(out string) error
}

// Run starts the services and the brief's server, runs every step, and
// stops them. Its error is one of starting; if ctx ends, Run returns
// ctx.Err() with the steps that had finished (the step cut short is
// neither ok nor failed).
func Run(ctx context.Context, c Config) (Result, error) {
	// The brief's page over HTTPS too: the responder on a tls:// listener
	// with a throwaway certificate, which the client is told to trust
	// (its PEM in a temporary file, removed at the end).
	cert, err := tlsconfig.SelfSigned()
	if err != nil {
		return Result{}, err
	}
	dir, err := os.MkdirTemp("", "sockit-demo-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	caFile := filepath.Join(dir, "demo-cert.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o644); err != nil {
		return Result{}, err
	}
	specs := append(serve.Defaults(true), serve.Spec{Service: "http", Endpoint: sockit.Endpoint{Network: "tls", Address: "127.0.0.1:0"}})
	logger := slog.New(slog.NewTextHandler(c.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	run, err := serve.Start(ctx, specs, serve.Options{Server: server.Config{Logger: logger}, TLS: tlsconfig.Server(tlsconfig.Static(&cert))})
	if err != nil {
		return Result{}, err
	}
	defer run.Server.Close()
	brief, err := startBriefEcho()
	if err != nil {
		return Result{}, err
	}
	defer brief.Close()
	ep := func(service, network string) string {
		switch network {
		case "http":
			e, _ := run.Endpoint(specs, service, "tcp")
			return "http://" + e.Address + "/"
		case "https":
			e, _ := run.Endpoint(specs, service, "tls")
			return "https://" + e.Address + "/"
		}
		e, _ := run.Endpoint(specs, service, network)
		return e.String()
	}
	var res Result
	for i, st := range steps(ep, brief.Addr(), caFile) {
		err := c.step(ctx, i+1, st)
		if ctx.Err() != nil {
			return res, ctx.Err() // Ctrl-C: the step was cut short, not failed
		}
		res.add(c.Stdout, err)
	}
	if ran, err := c.packetStep(ctx, res.Total+1, ep("echo", "tcp")); ran {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		res.add(c.Stdout, err)
	}
	fmt.Fprintf(c.Stdout, "\n%d of %d steps ok\n", res.OK, res.Total)
	return res, nil
}

// add counts a step and prints its verdict.
func (r *Result) add(w io.Writer, err error) {
	r.Total++
	if err != nil {
		fmt.Fprintf(w, "FAILED: %v\n", err)
		return
	}
	r.OK++
	fmt.Fprintln(w, "ok")
}

// step prints and runs one step and checks its output.
func (c Config) step(ctx context.Context, n int, st step) error {
	pipe := ""
	if st.stdin != "" {
		pipe = "printf " + shellJoin([]string{st.stdin}) + " | "
	}
	fmt.Fprintf(c.Stdout, "\n== %d. %s ==\n# the brief: %s\n$ %ssockit %s\n", n, st.title, st.brief, pipe, shellJoin(st.args))
	var out, errb bytes.Buffer
	code := c.Run(ctx, st.args, strings.NewReader(st.stdin), &out, &errb)
	c.Stdout.Write(out.Bytes())
	if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
		fmt.Fprintln(c.Stdout)
	}
	if errb.Len() > 0 {
		fmt.Fprint(c.Stdout, indent(errb.String()))
	}
	err := st.check(out.String())
	if code != 0 && err == nil {
		err = fmt.Errorf("exit status %d", code)
	}
	return err
}

// steps are the brief's programs as sockit commands, against the
// demo's services (ep gives a service's endpoint on a network, "http" for
// an http:// URL, "https" an https:// one whose certificate caFile holds)
// and the brief's own asyncio echo server at briefAddr.
func steps(ep func(service, network string) string, briefAddr, caFile string) []step {
	return []step{
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
			check: wholePage,
		},
		{
			title: "Socket GET request over HTTP/2",
			brief: "(the same GET as curl --http2-prior-knowledge sends it: h2c, one stream)",
			args:  []string{"get", "--http2-prior-knowledge", "-H", "Accept: text/html", ep("http", "http")},
			check: wholeH2Page,
		},
		{
			title: "Socket GET request over HTTPS",
			brief: "(the web the brief's GET reaches is HTTPS: TLS, ALPN choosing HTTP/2, as curl https:// does)",
			args:  []string{"get", "--cacert", caFile, "-H", "Accept: text/html", ep("http", "https")},
			check: wholeH2Page,
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

// wholePage checks a GET's output: a 200 response whose body is as long
// as its Content-Length says, and not empty.
func wholePage(out string) error {
	head, body, ok := strings.Cut(out, "\r\n\r\n")
	if !ok || !strings.HasPrefix(head, "HTTP/1.1 200 OK\r\n") {
		return fmt.Errorf("no 200 response head")
	}
	for _, line := range strings.Split(head, "\r\n") {
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n, err := strconv.Atoi(v)
			return expect(err == nil && n > 0 && n == len(body), fmt.Sprintf("Content-Length %s, body of %d bytes: not the whole page", v, len(body)))
		}
	}
	return fmt.Errorf("no Content-Length")
}

// wholeH2Page is wholePage for an HTTP/2 response, shown as curl shows
// one: "HTTP/2 200 " and lower-case field names.
func wholeH2Page(out string) error {
	head, body, ok := strings.Cut(out, "\r\n\r\n")
	if !ok || !strings.HasPrefix(head, "HTTP/2 200 \r\n") {
		return fmt.Errorf("no HTTP/2 200 response head")
	}
	for _, line := range strings.Split(head, "\r\n") {
		if v, ok := strings.CutPrefix(line, "content-length: "); ok {
			n, err := strconv.Atoi(v)
			return expect(err == nil && n > 0 && n == len(body), fmt.Sprintf("content-length %s, body of %d bytes: not the whole page", v, len(body)))
		}
	}
	return fmt.Errorf("no content-length")
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
