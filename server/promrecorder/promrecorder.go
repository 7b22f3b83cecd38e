// Package promrecorder exports a server.Server's counts to Prometheus. It
// lives apart from server so that importing the server (or a protocol) does
// not pull in Prometheus; cmd/sockit wires it in for `serve --metrics`.
package promrecorder

import (
	"crypto/tls"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sockit/sockit/server"
)

// Recorder holds the server's collectors on a registry of its own (no
// global state). It implements server.Recorder.
type Recorder struct {
	Registry    *prometheus.Registry
	connections *prometheus.CounterVec
	active      *prometheus.GaugeVec
	bytes       *prometheus.CounterVec
	datagrams   *prometheus.CounterVec
	drops       *prometheus.CounterVec
	responses   *prometheus.CounterVec
	handshakes  *prometheus.CounterVec
}

// New creates the collectors and a registry holding them and Go's process
// and runtime collectors.
func New() *Recorder {
	r := &Recorder{
		Registry: prometheus.NewRegistry(),
		connections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sockit_connections_total",
			Help: "Stream connections by outcome: accepted, or refused by a guard.",
		}, []string{"service", "network", "result"}),
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "sockit_connections_active",
			Help: "Stream connections open now.",
		}, []string{"service", "network"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sockit_bytes_total",
			Help: "Payload bytes received (in) and sent (out).",
		}, []string{"service", "network", "direction"}),
		datagrams: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sockit_datagrams_total",
			Help: "Datagrams received (in) and sent (out).",
		}, []string{"service", "network", "direction"}),
		drops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sockit_drops_total",
			Help: "Datagrams and connections dropped, by reason: refused (max-conns, max-conns-per-source), closed by a timeout (idle-timeout, write-timeout), or datagrams and replies the UDP guards dropped.",
		}, []string{"service", "network", "reason"}),
		responses: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sockit_http_responses_total",
			Help: "HTTP responses sent, by status code (error responses included).",
		}, []string{"service", "code"}),
		handshakes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sockit_tls_handshakes_total",
			Help: "TLS handshakes done, by version and kind (full, or resumed from a session ticket); failed ones are drops (reason tls-*).",
		}, []string{"service", "network", "version", "kind"}),
	}
	r.Registry.MustRegister(r.connections, r.active, r.bytes, r.datagrams, r.drops, r.responses, r.handshakes,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return r
}

// Handler serves the registry in Prometheus' text format.
func (r *Recorder) Handler() http.Handler {
	return promhttp.HandlerFor(r.Registry, promhttp.HandlerOpts{})
}

// Listener implements server.Recorder: the collectors with one listener's
// labels bound, so the hot path adds to a counter without a label lookup.
// A stream listener gets connection series and no datagram ones, a
// datagram socket (udp, unixgram) the reverse, so no series is zero by
// construction.
func (r *Recorder) Listener(service, network string) server.ListenerRecorder {
	l := &listener{
		r: r, service: service, network: network,
		bytesIn:  r.bytes.WithLabelValues(service, network, "in"),
		bytesOut: r.bytes.WithLabelValues(service, network, "out"),
	}
	if strings.HasPrefix(network, "udp") || network == "unixgram" {
		l.dgramsIn = r.datagrams.WithLabelValues(service, network, "in")
		l.dgramsOut = r.datagrams.WithLabelValues(service, network, "out")
	} else {
		l.accepted = r.connections.WithLabelValues(service, network, "accepted")
		l.refused = r.connections.WithLabelValues(service, network, "refused")
		l.active = r.active.WithLabelValues(service, network)
	}
	return l
}

type listener struct {
	r                   *Recorder
	service, network    string
	accepted, refused   prometheus.Counter
	active              prometheus.Gauge
	bytesIn, bytesOut   prometheus.Counter
	dgramsIn, dgramsOut prometheus.Counter
	// drops holds each reason's counter once it has been seen, so a flood
	// of drops looks its labels up once (the loops share these counters,
	// hence a sync.Map).
	drops sync.Map // reason → prometheus.Counter
}

// The nil checks below only matter for a family Listener did not expect
// (a stream socket of a network it took for datagrams, or the reverse):
// the series is then looked up per call instead of bound once.

func (l *listener) Accepted() {
	l.connCounter(l.accepted, "accepted").Inc()
	l.activeGauge().Inc()
}

func (l *listener) Closed() { l.activeGauge().Dec() }

func (l *listener) Received(datagrams, bytes int) {
	if datagrams > 0 {
		l.dgramCounter(l.dgramsIn, "in").Add(float64(datagrams))
	}
	l.bytesIn.Add(float64(bytes))
}

func (l *listener) Sent(datagrams, bytes int) {
	if datagrams > 0 {
		l.dgramCounter(l.dgramsOut, "out").Add(float64(datagrams))
	}
	l.bytesOut.Add(float64(bytes))
}

func (l *listener) connCounter(c prometheus.Counter, result string) prometheus.Counter {
	if c == nil {
		c = l.r.connections.WithLabelValues(l.service, l.network, result)
	}
	return c
}

func (l *listener) dgramCounter(c prometheus.Counter, direction string) prometheus.Counter {
	if c == nil {
		c = l.r.datagrams.WithLabelValues(l.service, l.network, direction)
	}
	return c
}

func (l *listener) activeGauge() prometheus.Gauge {
	if l.active == nil {
		return l.r.active.WithLabelValues(l.service, l.network)
	}
	return l.active
}

func (l *listener) Dropped(reason string, n int) {
	ctr, ok := l.drops.Load(reason)
	if !ok {
		ctr, _ = l.drops.LoadOrStore(reason, l.r.drops.WithLabelValues(l.service, l.network, reason))
	}
	ctr.(prometheus.Counter).Add(float64(n))
	if reason == server.DropMaxConns || reason == server.DropPerSource {
		l.connCounter(l.refused, "refused").Add(float64(n))
	}
}

var _ server.TLSRecorder = (*listener)(nil)

// Handshake implements server.TLSRecorder.
func (l *listener) Handshake(version uint16, resumed bool) {
	kind := "full"
	if resumed {
		kind = "resumed"
	}
	l.r.handshakes.WithLabelValues(l.service, l.network, tls.VersionName(version), kind).Inc()
}

// Statuses implements server.StatusRecorder. A code's series appears with
// its first response, so none is zero by construction.
func (r *Recorder) Statuses(service string) server.StatusCounter {
	return &statuses{vec: r.responses, service: service}
}

// statuses holds each status code's counter (100 to 599) once seen: the
// hot path is an atomic load and the counter's atomic add, no label lookup
// and no allocation.
type statuses struct {
	vec     *prometheus.CounterVec
	service string
	byCode  [500]atomic.Pointer[prometheus.Counter]
}

func (s *statuses) Responded(code int) {
	if code < 100 || code > 599 {
		s.vec.WithLabelValues(s.service, strconv.Itoa(code)).Inc()
		return
	}
	slot := &s.byCode[code-100]
	c := slot.Load()
	if c == nil {
		ctr := s.vec.WithLabelValues(s.service, strconv.Itoa(code))
		slot.CompareAndSwap(nil, &ctr)
		c = slot.Load()
	}
	(*c).Inc()
}
