package promrecorder_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sockit/sockit/proto/echo"
	"github.com/sockit/sockit/server"
	"github.com/sockit/sockit/server/promrecorder"
	"github.com/sockit/sockit/sockittest"
	"github.com/sockit/sockit/tlsconfig"
)

// scrape returns the sockit_ lines of the registry's exposition.
func scrape(t *testing.T, r *promrecorder.Recorder) string {
	t.Helper()
	rec := httptest.NewRecorder()
	r.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Result().Body)
	var lines []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, "sockit_") {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestSeriesByFamily: a stream listener has connection series and no
// datagram ones, a datagram socket the reverse; each event lands in its
// series, and a refusal by a connection guard counts as a drop and as a
// refused connection.
func TestSeriesByFamily(t *testing.T) {
	r := promrecorder.New()
	tcp := r.Listener("echo", "tcp")
	udp := r.Listener("qotd", "udp")
	tcp.Accepted()
	tcp.Accepted()
	tcp.Closed()
	tcp.Received(0, 11)
	tcp.Sent(0, 11)
	tcp.Dropped(server.DropMaxConns, 1)
	udp.Received(3, 0)
	udp.Sent(3, 240)
	udp.Dropped(server.DropBudget, 2)
	got := scrape(t, r)
	for _, want := range []string{
		`sockit_bytes_total{direction="in",network="tcp",service="echo"} 11`,
		`sockit_bytes_total{direction="out",network="udp",service="qotd"} 240`,
		`sockit_connections_active{network="tcp",service="echo"} 1`,
		`sockit_connections_total{network="tcp",result="accepted",service="echo"} 2`,
		`sockit_connections_total{network="tcp",result="refused",service="echo"} 1`,
		`sockit_datagrams_total{direction="in",network="udp",service="qotd"} 3`,
		`sockit_drops_total{network="tcp",reason="max-conns",service="echo"} 1`,
		`sockit_drops_total{network="udp",reason="source-budget",service="qotd"} 2`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
	for _, bad := range []string{`sockit_datagrams_total{direction="in",network="tcp"`, `sockit_connections_total{network="udp"`, `sockit_connections_active{network="udp"`} {
		if strings.Contains(got, bad) {
			t.Errorf("series %s… should not exist:\n%s", bad, got)
		}
	}
}

// TestUnexpectedFamily: a family Listener took for datagrams that accepts
// connections after all still counts them (no nil counter).
func TestUnexpectedFamily(t *testing.T) {
	r := promrecorder.New()
	l := r.Listener("echo", "udp")
	l.Accepted()
	l.Dropped(server.DropPerSource, 1)
	l.Closed()
	got := scrape(t, r)
	for _, want := range []string{
		`sockit_connections_total{network="udp",result="accepted",service="echo"} 1`,
		`sockit_connections_total{network="udp",result="refused",service="echo"} 1`,
		`sockit_connections_active{network="udp",service="echo"} 0`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
}

// BenchmarkListener is what the server's hot path pays per event with
// metrics on: a datagram in, its reply out, a budget drop. The aim is zero
// allocations.
func BenchmarkListener(b *testing.B) {
	l := promrecorder.New().Listener("echo", "udp")
	b.ReportAllocs()
	for b.Loop() {
		l.Received(1, 64)
		l.Sent(1, 64)
		l.Dropped(server.DropBudget, 1)
	}
}

// TestStatuses: each status code's responses land in their series, from
// many goroutines at once; a code gets its series with its first response,
// and a second counter for the same service (a reload) adds to the same
// series.
func TestStatuses(t *testing.T) {
	r := promrecorder.New()
	if got := scrape(t, r); strings.Contains(got, "sockit_http_responses_total") {
		t.Errorf("a series before any response:\n%s", got)
	}
	s := r.Statuses("http")
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 250 {
				s.Responded(200)
			}
			s.Responded(404)
		}()
	}
	wg.Wait()
	r.Statuses("http").Responded(404)
	r.Statuses("http").Responded(999) // out of the table's range, still counted
	got := scrape(t, r)
	for _, want := range []string{
		`sockit_http_responses_total{code="200",service="http"} 1000`,
		`sockit_http_responses_total{code="404",service="http"} 5`,
		`sockit_http_responses_total{code="999",service="http"} 1`,
	} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("missing %s in\n%s", want, got)
		}
	}
}

// BenchmarkStatusesResponded is the responder's per-response count.
func BenchmarkStatusesResponded(b *testing.B) {
	s := promrecorder.New().Statuses("http")
	s.Responded(200)
	b.ReportAllocs()
	for b.Loop() {
		s.Responded(200)
	}
}

// TestTLSHandshakes: a TLS listener's handshakes are counted by version
// and kind, and a client that sends no TLS is a drop by its reason, over
// real sockets.
func TestTLSHandshakes(t *testing.T) {
	r := promrecorder.New()
	cert, err := tlsconfig.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	srv := server.New(server.Config{Recorder: r, Logger: slog.New(slog.DiscardHandler)})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	svc := echo.Service()
	svc.TLS = tlsconfig.Server(tlsconfig.Static(&cert))
	done := make(chan error, 1)
	go func() { done <- srv.ServeStream(ln, svc) }()
	defer func() {
		srv.Shutdown(context.Background())
		<-done
	}()
	c, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true, MaxVersion: tls.VersionTLS13})
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("x"))
	io.ReadFull(c, make([]byte, 1))
	c.Close()
	p, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(p, "hello, not TLS at all\r\n")
	p.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, p)
	p.Close()
	want := []string{
		`sockit_tls_handshakes_total{kind="full",network="tls",service="echo",version="TLS 1.3"} 1`,
		`sockit_drops_total{network="tls",reason="tls-not-tls",service="echo"} 1`,
	}
	var got string
	sockittest.Eventually(t, 10*time.Second, "the handshake and the drop counted", func() bool {
		got = scrape(t, r)
		for _, w := range want {
			if !strings.Contains(got, w+"\n") {
				return false
			}
		}
		return true
	})
	if t.Failed() {
		t.Logf("scraped:\n%s", got)
	}
}
