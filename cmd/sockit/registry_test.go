package main

import (
	"context"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"github.com/sockit/sockit/proto"
	"github.com/sockit/sockit/server"
)

// rot13 is a protocol that exists only in this test file: letters come
// back rotated by 13, over streams and datagrams. Registering it is all it
// takes for serve, the client command and bench to offer it.
type rot13 struct{}

func (rot13) Open(netip.AddrPort) server.Session  { return rot13{} }
func (rot13) Greet([]byte) ([]byte, bool)         { return nil, false }
func (rot13) Receive(in, _ []byte) ([]byte, bool) { return rotate(in), false }
func (rot13) Reply(in, _ []byte) []byte           { return rotate(in) }

func rotate(b []byte) []byte {
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	return b
}

func init() {
	proto.Register(proto.Protocol{
		Name: "rot13", WellKnown: 60013, Local: 0, // port 0: a default serve in these tests binds any port
		Service: func(proto.Options) server.Service {
			return server.Service{Name: "rot13", Stream: rot13{}, Packet: rot13{}}
		},
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
