package proto_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/internal/serve"
	"github.com/sockit/sockit/proto"
	_ "github.com/sockit/sockit/proto/all" // the program registers the protocols; so does this test
	"github.com/sockit/sockit/server"
)

// invert is a protocol that exists only in this test: each byte comes back
// complemented, over streams and datagrams. lying is the same protocol
// served wrong: it echoes bytes unchanged.
type invert struct{ lie bool }

func (h invert) Open(netip.AddrPort) server.Session  { return h }
func (invert) Greet([]byte) ([]byte, bool)           { return nil, false }
func (h invert) Receive(in, _ []byte) ([]byte, bool) { return h.Reply(in, nil), false }
func (h invert) Reply(in, _ []byte) []byte {
	if !h.lie {
		for i := range in {
			in[i] = ^in[i]
		}
	}
	return in
}

func checkInverted(sent, reply []byte) error {
	if len(reply) != len(sent) {
		return fmt.Errorf("%w: %d bytes back for %d", proto.ErrLength, len(reply), len(sent))
	}
	for i := range sent {
		if reply[i] != ^sent[i] {
			return fmt.Errorf("byte %d not inverted", i)
		}
	}
	return nil
}

func init() {
	for _, name := range []string{"invert", "invert-liar"} {
		h := invert{lie: name == "invert-liar"}
		proto.Register(proto.Protocol{
			Name: name, WellKnown: 60000, Local: 60001,
			Service: func(proto.Runtime) server.Service { return server.Service{Name: name, Stream: h, Packet: h} },
			Bench:   &proto.Bench{Mode: proto.BenchEcho, Check: checkInverted},
			Options: []proto.Option{{Key: strings.ReplaceAll(name, "-", "_") + "_mode", Usage: "how to invert", Default: "all",
				Parse: func(v string) (any, func(), error) { return v, nil, nil }}},
		})
	}
}

// TestRegisteredProtocol: a protocol registered here, and nowhere in
// server/, bench/ or cmd/, is served by the code `sockit serve` runs, loaded
// by `sockit bench --proto`, and its replies are verified — a wrong server
// fails every request.
func TestRegisteredProtocol(t *testing.T) {
	var specs []serve.Spec
	for _, name := range []string{"invert", "invert-liar"} {
		for _, nw := range []string{"tcp", "udp"} {
			specs = append(specs, serve.Spec{Service: name, Endpoint: sockit.Endpoint{Network: nw, Address: "127.0.0.1:0"}})
		}
	}
	run, err := serve.Start(context.Background(), specs, serve.Options{Server: server.Config{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		UDP:    server.UDPGuard{Off: true},
	}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run.Server.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, name := range []string{"invert", "invert-liar"} {
		for _, nw := range []string{"tcp", "udp"} {
			e, _ := run.Endpoint(specs, name, nw)
			r, err := bench.Run(ctx, bench.Config{Target: e.String(), Proto: name, Requests: 200, Concurrency: 4, KeepAlive: true, Size: 100})
			if err != nil {
				t.Fatalf("%s over %s: %v", name, nw, err)
			}
			want := int64(0)
			if name == "invert-liar" {
				want = 200
			}
			if r.Requests != 200 || r.Failed() != want || r.Failures[bench.FailVerify] != want {
				t.Errorf("%s over %s: %d requests, failures %v; want 200 and %d verify failures", name, nw, r.Requests, r.Failures, want)
			}
		}
	}
	if !strings.Contains(serve.Names(), "invert") {
		t.Errorf("serve's service list lacks the registered protocol: %s", serve.Names())
	}
}

func TestRegisterRefusesDuplicate(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error(`a second "invert" was registered`)
		}
	}()
	proto.Register(proto.Protocol{Name: "invert", Service: func(proto.Runtime) server.Service { return server.Service{} }})
}

// TestAllOrder: serve starts the services in the order of their local ports.
func TestAllOrder(t *testing.T) {
	var names []string
	for _, p := range proto.All() {
		names = append(names, p.Name)
	}
	want := []string{"echo", "discard", "daytime", "qotd", "chargen", "time", "http", "invert", "invert-liar"}
	if !slices.Equal(names, want) {
		t.Errorf("All() = %v, want %v", names, want)
	}
}

// TestRegisterRefusesBadOptions: an option needs a key of lower-case words
// joined by '_' and a Parse, and its key must be no other protocol's.
func TestRegisterRefusesBadOptions(t *testing.T) {
	parse := func(v string) (any, func(), error) { return v, nil, nil }
	for _, o := range []proto.Option{
		{Key: "invert_mode", Parse: parse}, // invert's
		{Key: "Shift", Parse: parse},
		{Key: "shift-by", Parse: parse},
		{Key: "shift"},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("option %+v was registered", o)
				}
			}()
			proto.Register(proto.Protocol{Name: "bad-" + o.Key, Service: func(proto.Runtime) server.Service { return server.Service{} }, Options: []proto.Option{o}})
		}()
	}
}

// TestSummary: a protocol without Describe is described by its length; a
// payload it shows is quoted, terminal escapes and all.
func TestSummary(t *testing.T) {
	p := proto.Protocol{Name: "invert"}
	if got := p.Summary([]byte("abc"), true); got != "invert request 3 B" {
		t.Errorf("request: %q", got)
	}
	if got := p.Summary([]byte("abc"), false); got != "invert 3 B" {
		t.Errorf("reply: %q", got)
	}
	if got := proto.Quote([]byte("\x1b[2Jhello"), 6); got != `"\x1b[2Jhe"…` {
		t.Errorf("Quote: %s", got)
	}
}
