package main

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

// rot13 is a protocol that exists only in this test file: letters come
// back rotated by 13 (or by its option rot13_shift), over streams and
// datagrams. Registering it is all it takes for serve (with its option as
// a flag and a key), the client command and bench to offer it.
type rot13 struct{ shift int }

func (r rot13) Open(netip.AddrPort) server.Session  { return r }
func (rot13) Greet([]byte) ([]byte, bool)           { return nil, false }
func (r rot13) Receive(in, _ []byte) ([]byte, bool) { return rotateBy(in, r.shift), false }
func (r rot13) Reply(in, _ []byte) []byte           { return rotateBy(in, r.shift) }

func rotate(b []byte) []byte { return rotateBy(b, 13) }

func rotateBy(b []byte, n int) []byte {
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+byte(n))%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+byte(n))%26
		}
	}
	return b
}

func init() {
	proto.Register(proto.Protocol{
		Name: "rot13", WellKnown: 60013, Local: 0, // port 0: a default serve in these tests binds any port
		Service: func(rt proto.Runtime) server.Service {
			h := rot13{shift: 13}
			if n, ok := rt.Value("rot13_shift").(int); ok {
				h.shift = n
			}
			return server.Service{Name: "rot13", Stream: h, Packet: h}
		},
		Options: []proto.Option{{
			Key: "rot13_shift", Usage: "rotate letters by N, 1 to 25", Default: "13",
			Parse: func(v string) (any, func(), error) {
				n, err := strconv.Atoi(v)
				if err != nil || n < 1 || n > 25 {
					return nil, nil, fmt.Errorf("want 1 to 25")
				}
				return n, nil, nil
			},
		}},
		Client: &proto.Client{
			Args:  "MESSAGE",
			Short: "Send MESSAGE to a rot13 service (a protocol of the tests)",
			Command: func(proto.FlagSet) func(context.Context, *proto.Call) error {
				return func(ctx context.Context, c *proto.Call) error {
					conn, err := c.Dialer.Dial(ctx, c.Endpoint)
					if err != nil {
						return err
					}
					defer conn.Close()
					reply, _, err := c.Query.Exchange(ctx, conn, []byte(strings.Join(c.Args, " ")), make([]byte, 512))
					fmt.Fprintf(c.Stdout, "%s\n", reply)
					return err
				}
			},
			MaxArgs: 2,
		},
		Bench: &proto.Bench{Mode: proto.BenchEcho, Check: func(sent, reply []byte) error {
			if string(reply) != string(rotate([]byte(string(sent)))) {
				return fmt.Errorf("not rotated")
			}
			return nil
		}},
	})
}

// TestRegisteredProtocolCommands: the test-only protocol is served by
// `sockit serve`, has its `sockit rot13` client, and is loaded and verified
// by `sockit bench --proto rot13`, with no line of cmd/ naming it.
func TestRegisteredProtocolCommands(t *testing.T) {
	addrs, stop := startServe(t, "--udp-budget", "off", "rot13=udp://127.0.0.1:0", "rot13=tcp://127.0.0.1:0")
	defer stop()
	udp := "udp://" + addrs["rot13 udp"]
	if r := sockitRun(t, "", "rot13", udp, "Hello"); r.code != 0 || r.stdout != "Uryyb\n" {
		t.Errorf("sockit rot13: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	for _, target := range []string{udp, "tcp://" + addrs["rot13 tcp"]} {
		r := sockitRun(t, "", "bench", "-q", "-k", "-n", "200", "-c", "4", "--proto", "rot13", target)
		if r.code != 0 || !strings.Contains(r.stdout, "Complete requests:      200\n") || !strings.Contains(r.stdout, "Failed requests:        0\n") {
			t.Errorf("bench --proto rot13 %s: exit %d\n%s%s", target, r.code, r.stdout, r.stderr)
		}
	}
}

// TestRegisteredProtocolOption: the test-only protocol's option, declared
// in its registration and nowhere in cmd/ or internal/serve, is a flag of
// serve (in --help, with its usage), a key of the config file, checked the
// same way in both, overridden by the flag beside the file, and a mistake
// when rot13 is not served.
func TestRegisteredProtocolOption(t *testing.T) {
	if r := sockitRun(t, "", "serve", "--help"); !strings.Contains(r.stdout, "--rot13-shift string") || !strings.Contains(r.stdout, "rot13: rotate letters by N, 1 to 25") {
		t.Errorf("serve --help lacks --rot13-shift:\n%s", r.stdout)
	}
	echoBack := func(addrs map[string]string) string {
		r := sockitRun(t, "", "rot13", "tcp://"+addrs["rot13 tcp"], "Hello")
		return r.stdout
	}
	addrs, stop := startServe(t, "--rot13-shift", "1", "rot13=tcp://127.0.0.1:0")
	if got := echoBack(addrs); got != "Ifmmp\n" {
		t.Errorf("--rot13-shift 1: %q, want Ifmmp", got)
	}
	stop()
	file := filepath.Join(t.TempDir(), "rot.toml")
	os.WriteFile(file, []byte("rot13_shift = \"2\"\n[services]\nrot13 = [\"tcp://127.0.0.1:0\"]\n"), 0o644)
	addrs, stop = startServeN(t, 1, "--config", file)
	if got := echoBack(addrs); got != "Jgnnq\n" {
		t.Errorf("rot13_shift = \"2\": %q, want Jgnnq", got)
	}
	stop()
	addrs, stop = startServeN(t, 1, "--config", file, "--rot13-shift", "3")
	if got := echoBack(addrs); got != "Khoor\n" {
		t.Errorf("rot13_shift = \"2\" and --rot13-shift 3: %q, want the flag's Khoor", got)
	}
	stop()
	if r := sockitRun(t, "", "serve", "--rot13-shift", "0", "rot13=tcp://127.0.0.1:0"); r.code != exitUsage || r.stderr != "sockit serve: --rot13-shift \"0\": want 1 to 25\n" {
		t.Errorf("--rot13-shift 0: %+v", r)
	}
	os.WriteFile(file, []byte("\nrot13_shift = \"x\"\n"), 0o644)
	if r := sockitRun(t, "", "serve", "--check-config", file); r.code != 1 || r.stderr != file+":2:1: rot13_shift: \"x\": want 1 to 25\n" {
		t.Errorf("rot13_shift = \"x\": %+v", r)
	}
	if r := sockitRun(t, "", "serve", "--rot13-shift", "2", "echo=tcp://127.0.0.1:0"); r.code != exitUsage || !strings.Contains(r.stderr, "--rot13-shift is for rot13, which is not served") {
		t.Errorf("--rot13-shift without rot13: %+v", r)
	}
}
