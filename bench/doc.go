// Package bench is sockit's load generator: ab's model and flags (-n
// requests over -c connections, -k keep-alive) on an engine that also
// speaks the raw small-service protocols, verifies every echoed byte, can
// run open-loop at a fixed rate (latency measured from each request's
// scheduled time, so a stalled server cannot hide — wrk2's fix for
// coordinated omission), and records latency in HDR histograms that merge
// exactly across runs and machines.
//
// A run is a Config (its zero value is ab's defaults; Validate names the
// field Run cannot honour) given to Run, which returns one Result. The
// reports (ab's text, JSON, HTML, CSV, gnuplot, OpenMetrics, compare and
// merge) are package bench/report's, over that Result: the engine itself
// imports no report format and no Prometheus, as vegeta's lib keeps its
// Prometheus exporter in lib/prom.
//
// Two engines run the load: a goroutine per connection on Go's netpoller
// (every target), and epoll event loops as wrk's (plain HTTP and TCP or
// Unix echo), chosen by Config.Engine. Each of the -c workers owns its
// connection, buffers and tally; the only shared state on the hot path is
// one atomic counter handing out request numbers (budget), so exactly -n
// requests complete, each as a success or a classified failure.
//
// The raw protocols are the ones registered in package proto: a program
// registers them (cmd/sockit imports proto/all), as database/sql's drivers.
package bench
