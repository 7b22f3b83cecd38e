package report

import (
	"io"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/sockit/sockit/bench"
)

// WriteOpenMetrics writes the run's summary in the OpenMetrics text format
// (counts, failures by kind, rate and latency quantiles from the HDR
// histogram), for a Pushgateway, a textfile collector or a CI dashboard.
func WriteOpenMetrics(w io.Writer, r *bench.Result) error {
	reg := prometheus.NewPedanticRegistry()
	if err := reg.Register(resultCollector{r}); err != nil {
		return err
	}
	families, err := reg.Gather()
	if err != nil {
		return err
	}
	enc := expfmt.NewEncoder(w, expfmt.NewFormat(expfmt.TypeOpenMetrics))
	for _, mf := range families {
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	_, err = expfmt.FinalizeOpenMetrics(w)
	return err
}

// resultCollector exposes a Result as constant metrics.
type resultCollector struct{ r *bench.Result }

var (
	omInfo = prometheus.NewDesc("sockit_bench_info", "The run: its target, run id, shard (I/N, empty for a whole run) and load options hash.",
		[]string{"target", "run_id", "shard", "options_hash"}, nil)
	omRequests    = prometheus.NewDesc("sockit_bench_requests_total", "Requests completed, successes and failures.", nil, nil)
	omFailures    = prometheus.NewDesc("sockit_bench_failures_total", "Failed requests by kind.", []string{"kind"}, nil)
	omNon2xx      = prometheus.NewDesc("sockit_bench_non_2xx_total", "HTTP responses outside 2xx.", nil, nil)
	omSent        = prometheus.NewDesc("sockit_bench_sent_bytes_total", "Bytes sent.", nil, nil)
	omReceived    = prometheus.NewDesc("sockit_bench_received_bytes_total", "Bytes received.", nil, nil)
	omDuration    = prometheus.NewDesc("sockit_bench_duration_seconds", "Time the run took, warm-up excluded.", nil, nil)
	omRate        = prometheus.NewDesc("sockit_bench_requests_per_second", "Requests completed per second.", nil, nil)
	omConcurrency = prometheus.NewDesc("sockit_bench_concurrency", "Connections (-c).", nil, nil)
	omLatency     = prometheus.NewDesc("sockit_bench_latency_seconds", "Request latency, from the HDR histogram (3 significant digits; the sum is count times its mean).", nil, nil)
)

func (c resultCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{omInfo, omRequests, omFailures, omNon2xx, omSent, omReceived, omDuration, omRate, omConcurrency, omLatency} {
		ch <- d
	}
}

func (c resultCollector) Collect(ch chan<- prometheus.Metric) {
	r := c.r
	ch <- prometheus.MustNewConstMetric(omInfo, prometheus.GaugeValue, 1, r.Target, r.RunID, r.Shard.String(), r.OptionsHash)
	ch <- prometheus.MustNewConstMetric(omRequests, prometheus.CounterValue, float64(r.Requests))
	for k, v := range r.Failures {
		ch <- prometheus.MustNewConstMetric(omFailures, prometheus.CounterValue, float64(v), k)
	}
	ch <- prometheus.MustNewConstMetric(omNon2xx, prometheus.CounterValue, float64(r.Non2xx))
	ch <- prometheus.MustNewConstMetric(omSent, prometheus.CounterValue, float64(r.BytesSent))
	ch <- prometheus.MustNewConstMetric(omReceived, prometheus.CounterValue, float64(r.BytesReceived))
	ch <- prometheus.MustNewConstMetric(omDuration, prometheus.GaugeValue, r.Duration.Seconds())
	ch <- prometheus.MustNewConstMetric(omRate, prometheus.GaugeValue, r.RPS())
	ch <- prometheus.MustNewConstMetric(omConcurrency, prometheus.GaugeValue, float64(r.Concurrency))
	h := r.Latency
	qs := map[float64]float64{}
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999, 0.9999} {
		qs[q] = float64(h.ValueAtQuantile(100*q)) / 1e6
	}
	ch <- prometheus.MustNewConstSummary(omLatency, uint64(h.TotalCount()), h.Mean()*float64(h.TotalCount())/1e6, qs)
}
