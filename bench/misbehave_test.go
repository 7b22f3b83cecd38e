package bench_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit/bench"
	"github.com/sockit/sockit/proto/chargen"
	"github.com/sockit/sockit/sockittest"
)

// TestMisbehavingServers: against a server that accepts and never answers,
// one that sends half a reply and stalls, one that trickles a byte every
// 200 ms and one that hangs up mid-reply (sockittest.Misbehave), every
// bench protocol over TCP and UDP, on every engine that runs it, counts
// exactly -n requests, each ending within -s, and the run never stalls.
//
// How each ends: a silent server, and a stream stalled or trickling, is a
// timeout; a stream cut mid-reply is a read or length failure, except for
// daytime and qotd, whose reply ends where the server closes (RFC 867, 865),
// so half of one is a whole one; a datagram of half a reply is whatever
// the protocol's check makes of it (length for echo and time); a UDP port
// that hangs up (nothing listens) is a read failure (port unreachable).
func TestMisbehavingServers(t *testing.T) {
	const (
		n, c    = 4, 2
		timeout = 300 * time.Millisecond
	)
	httpReply := []byte("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123456789")
	protos := []struct {
		name        string
		networks    []string
		engines     []string
		script      sockittest.Script
		endsAtClose bool // the reply ends where the server closes
	}{
		{"http", []string{"tcp"}, []string{bench.EngineGoroutine, bench.EngineLoop},
			sockittest.Script{Request: true, Reply: func([]byte) []byte { return httpReply }}, false},
		{"echo", []string{"tcp", "udp"}, []string{bench.EngineGoroutine, bench.EngineLoop},
			sockittest.Script{Request: true, Reply: func(req []byte) []byte { return req }}, false},
		{"discard", []string{"tcp"}, []string{bench.EngineGoroutine}, sockittest.Script{Request: true}, false},
		{"chargen", []string{"tcp", "udp"}, []string{bench.EngineGoroutine},
			sockittest.Script{Reply: func([]byte) []byte { return chargen.Append(nil, 0, 100) }}, false},
		{"daytime", []string{"tcp", "udp"}, []string{bench.EngineGoroutine},
			sockittest.Script{Reply: func([]byte) []byte { return []byte("Saturday, December 5, 2026 08:00:00-UTC\r\n") }}, true},
		{"qotd", []string{"tcp", "udp"}, []string{bench.EngineGoroutine},
			sockittest.Script{Reply: func([]byte) []byte { return []byte("Nothing is so firmly believed as what we least know.\r\n") }}, true},
		{"time", []string{"tcp", "udp"}, []string{bench.EngineGoroutine},
			sockittest.Script{Reply: func([]byte) []byte { return []byte{0xed, 0x2b, 0x4f, 0x80} }}, false},
	}
	for _, p := range protos {
		for _, network := range p.networks {
			for _, how := range sockittest.Misbehaviours {
				for _, engine := range p.engines {
					if engine == bench.EngineLoop && network != "tcp" {
						continue
					}
					name := fmt.Sprintf("%s/%s/%s/%s", p.name, network, how, engine)
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						s := p.script
						s.Every = 200 * time.Millisecond
						addr := sockittest.Misbehave(t, network, how, s)
						cfg := bench.Config{Target: network + "://" + addr, Proto: p.name, Requests: n, Concurrency: c,
							Timeout: timeout, Engine: engine, Size: 64}
						if p.name == "http" {
							cfg.Target, cfg.Proto, cfg.Size = "http://"+addr+"/", "", 0
						}
						t0 := time.Now()
						r := run(t, cfg)
						took := time.Since(t0)
						// Each worker makes n/c requests one after the other,
						// each ending within -s; a second of slack for a
						// loaded machine.
						if bound := time.Duration(n/c)*timeout + time.Second; took > bound {
							t.Errorf("the run took %v, past %v: a request outlived -s", took, bound)
						}
						if r.Requests != n || r.Latency.Max() > int64(timeout/time.Microsecond)*3/2 {
							t.Errorf("%d requests (want %d), slowest %d µs (-s is %v)", r.Requests, n, r.Latency.Max(), timeout)
						}
						for k := range r.Failures {
							if !slices.Contains([]string{bench.FailTimeout, bench.FailRead, bench.FailLength, bench.FailVerify}, k) {
								t.Errorf("failures %v: %s is not a kind a misbehaving server causes", r.Failures, k)
							}
						}
						want := expected(p.name, network, how, p.endsAtClose)
						switch {
						case want == "any":
						case want == "":
							if r.Failed() != 0 {
								t.Errorf("failures %v, want none", r.Failures)
							}
						case strings.Contains(want, "|"):
							if r.Failed() != n || r.Failures[strings.Split(want, "|")[0]]+r.Failures[strings.Split(want, "|")[1]] != n {
								t.Errorf("failures %v, want %d of %s", r.Failures, n, want)
							}
						default:
							if r.Failures[want] != n {
								t.Errorf("failures %v, want %d %s", r.Failures, n, want)
							}
						}
						t.Logf("%v in %v (%s)", r.Failures, took.Round(time.Millisecond), r.Engine)
					})
				}
			}
		}
	}
}

// expected is how each request against a misbehaving server ends: a kind,
// two kinds ("read|length"), "" for a success or "any".
func expected(proto, network string, how sockittest.Misbehaviour, endsAtClose bool) string {
	switch {
	case proto == "discard":
		// discard never reads a reply: the server's close after the
		// client's half-close ends each request, whatever else it does.
		return "any"
	case how == sockittest.Silent:
		return bench.FailTimeout
	case network == "udp" && how == sockittest.Hangup:
		return bench.FailRead // ICMP port unreachable
	case network == "udp":
		return "any" // a datagram of half a reply: the protocol's check says
	case how == sockittest.Hangup && endsAtClose:
		return "" // half a daytime line, then the close: a whole (short) reply
	case how == sockittest.Hangup:
		return bench.FailRead + "|" + bench.FailLength
	}
	return bench.FailTimeout // a stream stalled or trickling
}
