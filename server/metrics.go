package server

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the server's Prometheus collectors, registered on their own
// registry (no global state). A nil *Metrics records nothing.
type Metrics struct {
	Registry    *prometheus.Registry
	connections *prometheus.CounterVec
	active      *prometheus.GaugeVec
	bytes       *prometheus.CounterVec
	datagrams   *prometheus.CounterVec
	drops       *prometheus.CounterVec
}

// NewMetrics creates the collectors and a registry holding them and Go's
// process and runtime collectors.
func NewMetrics() *Metrics {
	m := &Metrics{
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
			Help: "Datagrams and connections dropped, by reason.",
		}, []string{"service", "network", "reason"}),
	}
	m.Registry.MustRegister(m.connections, m.active, m.bytes, m.datagrams, m.drops,
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// Drop reasons.
const (
	DropMaxConns      = "max-conns"
	DropPerSource     = "max-conns-per-source"
	DropReservedPort  = "reserved-source-port"
	DropBadSource     = "broadcast-or-multicast-source"
	DropBudget        = "source-budget"
	DropBudgetTable   = "budget-table-full"
	DropUnaddressable = "unaddressable-sender"
	DropSendBuffer    = "send-buffer-full"
)

// counters are one listener's collectors with their labels bound, so the hot
// path adds to a counter without a label lookup.
type counters struct {
	m                   *Metrics
	service, network    string
	accepted            prometheus.Counter
	active              prometheus.Gauge
	bytesIn, bytesOut   prometheus.Counter
	dgramsIn, dgramsOut prometheus.Counter
	// drops holds each reason's counter once it has been seen, so a flood
	// of drops looks its labels up once (the loops share these counters,
	// hence a sync.Map).
	drops sync.Map // reason → prometheus.Counter
}

func (m *Metrics) bind(service, network string) *counters {
	c := &counters{m: m, service: service, network: network}
	if m == nil {
		return c
	}
	c.accepted = m.connections.WithLabelValues(service, network, "accepted")
	c.active = m.active.WithLabelValues(service, network)
	c.bytesIn = m.bytes.WithLabelValues(service, network, "in")
	c.bytesOut = m.bytes.WithLabelValues(service, network, "out")
	c.dgramsIn = m.datagrams.WithLabelValues(service, network, "in")
	c.dgramsOut = m.datagrams.WithLabelValues(service, network, "out")
	return c
}

func (c *counters) drop(reason string) { c.dropN(reason, 1) }

// dropN counts n drops for reason.
func (c *counters) dropN(reason string, n int) {
	if c.m == nil {
		return
	}
	ctr, ok := c.drops.Load(reason)
	if !ok {
		ctr, _ = c.drops.LoadOrStore(reason, c.m.drops.WithLabelValues(c.service, c.network, reason))
	}
	ctr.(prometheus.Counter).Add(float64(n))
	if reason == DropMaxConns || reason == DropPerSource {
		c.m.connections.WithLabelValues(c.service, c.network, "refused").Inc()
	}
}

func (c *counters) add(ctr prometheus.Counter, n int) {
	if ctr != nil {
		ctr.Add(float64(n))
	}
}

// received counts one datagram of n bytes in.
func (c *counters) received(n int) {
	c.add(c.dgramsIn, 1)
	c.add(c.bytesIn, n)
}

// sent counts dgrams datagrams of n bytes in all out.
func (c *counters) sent(dgrams, n int) {
	c.add(c.dgramsOut, dgrams)
	c.add(c.bytesOut, n)
}

func (c *counters) gauge(d float64) {
	if c.active != nil {
		c.active.Add(d)
	}
}
