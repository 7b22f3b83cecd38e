package serve_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/proto/chargen"
	"github.com/sockit/sockit/proto/daytime"
	"github.com/sockit/sockit/proto/discard"
	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/proto/timeproto"
	"github.com/sockit/sockit/sockittest"
)

// startXinetd runs xinetd's internal echo, discard, daytime, chargen and
// time services on 127.0.0.1, TCP and UDP, on one free port each, and
// returns the ports by service name.
func startXinetd(t *testing.T) map[string]int {
	t.Helper()
	bin := sockittest.RequireTool(t, "xinetd")
	if os.Geteuid() != 0 {
		t.Skip("xinetd's internal services need root")
	}
	// The ports are free when chosen but not held: a test running in
	// parallel can take one before xinetd binds it. xinetd then starts
	// fewer services; start it again on new ports.
	for attempt := 1; ; attempt++ {
		ports, started, stop := xinetdOnce(t, bin)
		if started == "10" {
			return ports
		}
		stop()
		if attempt == 5 {
			t.Fatalf("xinetd started %s services, want 10, five times (is a port taken?)", started)
		}
	}
}

// xinetdOnce starts xinetd on newly chosen ports and returns them, how
// many services it says it started, and how to stop it.
func xinetdOnce(t *testing.T, bin string) (map[string]int, string, func()) {
	ports := map[string]int{}
	var conf strings.Builder
	conf.WriteString("defaults\n{\n\tbind = 127.0.0.1\n\tinstances = 100\n}\n")
	for _, name := range []string{"echo", "discard", "daytime", "chargen", "time"} {
		ports[name] = sockittest.FreePort(t)
		for _, st := range []struct{ sock, proto, wait string }{{"stream", "tcp", "no"}, {"dgram", "udp", "yes"}} {
			fmt.Fprintf(&conf, "service %s\n{\n\ttype = INTERNAL UNLISTED\n\tid = %s-%s\n\tsocket_type = %s\n\tprotocol = %s\n\tport = %d\n\twait = %s\n\tuser = root\n}\n",
				name, name, st.sock, st.sock, st.proto, ports[name], st.wait)
		}
	}
	stderr, stop := sockittest.StartXinetd(t, bin, conf.String()) // stopped at cleanup too, when WaitLine fails the test
	m := sockittest.WaitLine(t, stderr, regexp.MustCompile(`Started working: (\d+) available services`), 10*time.Second)
	return ports, m[1], stop
}

// TestClientsAgainstXinetd runs each sockit client against xinetd's
// internal implementation of its service, over TCP and UDP.
func TestClientsAgainstXinetd(t *testing.T) {
	ports := startXinetd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	d := &sockit.Dialer{Timeout: 5 * time.Second}
	q := &sockit.Query{Retries: 2, Timeout: 2 * time.Second}
	for _, nw := range []string{"tcp", "udp"} {
		ep := func(name string) sockit.Endpoint {
			return sockit.Endpoint{Network: nw, Address: "127.0.0.1:" + strconv.Itoa(ports[name])}
		}
		t.Run("echo/"+nw, func(t *testing.T) {
			size := 1 << 20
			if nw == "udp" {
				size = 1000
			}
			msg := sockittest.RandomBytes(size, 21)
			if got, err := echo.Exchange(ctx, d, ep("echo"), msg, q); err != nil || !bytes.Equal(got, msg) {
				t.Fatalf("echo via xinetd: %d bytes back, %v", len(got), err)
			}
		})
		t.Run("discard/"+nw, func(t *testing.T) {
			data := sockittest.RandomBytes(64<<10, 22)
			if nw == "udp" {
				data = data[:1000]
			}
			if n, err := discard.Send(ctx, d, ep("discard"), bytes.NewReader(data)); err != nil || n != int64(len(data)) {
				t.Fatalf("discard via xinetd: %d, %v", n, err)
			}
		})
		t.Run("daytime/"+nw, func(t *testing.T) {
			line, local, _, err := daytime.Get(ctx, d, ep("daytime"), q)
			if err != nil {
				t.Fatal(err)
			}
			// xinetd sends "24 NOV 2026 19:02:28 UTC"-style lines.
			got, err := time.Parse("02 Jan 2006 15:04:05 MST", strings.TrimSpace(line))
			if err != nil {
				t.Fatalf("xinetd daytime %q: %v", line, err)
			}
			if off := got.Sub(local); off > 5*time.Second || off < -5*time.Second {
				t.Errorf("xinetd daytime %q is %v from the local clock", line, off)
			}
		})
		t.Run("time/"+nw, func(t *testing.T) {
			remote, local, _, err := timeproto.Get(ctx, d, ep("time"), q)
			if err != nil {
				t.Fatal(err)
			}
			if off := remote.Sub(local); off > 5*time.Second || off < -5*time.Second {
				t.Errorf("xinetd time %v is %v from the local clock", remote, off)
			}
		})
		t.Run("chargen/"+nw, func(t *testing.T) {
			n, err := chargen.Receive(ctx, d, ep("chargen"), 100000, q)
			if err != nil || n == 0 {
				t.Fatalf("chargen via xinetd: %d bytes, %v", n, err)
			}
		})
	}
}
