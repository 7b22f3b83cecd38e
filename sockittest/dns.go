package sockittest

import (
	"testing"

	"github.com/miekg/dns"
)

// ServeDNS serves h over UDP and TCP on one port of 127.0.0.1 (miekg/dns's
// server) and returns "127.0.0.1:port". It returns once both servers are
// ready; they stop with the test.
func ServeDNS(t testing.TB, h dns.Handler) string {
	t.Helper()
	ln, pc := ListenTCPAndUDP(t)
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: h}, {Listener: ln, Handler: h}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		done := make(chan struct{})
		go func() {
			defer close(done)
			srv.ActivateAndServe()
		}()
		<-started
		t.Cleanup(func() {
			srv.Shutdown()
			<-done
		})
	}
	return pc.LocalAddr().String()
}
