package report

// The bench command's help, in the words of its rules (bench.Config's
// and this package's): a program's command shows them as they are.

// HelpBench is sockit bench's long help.
const HelpBench = `bench is a drop-in for ab: -n requests over -c concurrent connections, one
connection per request unless -k, and ab's report on stdout line for line, so
scripts that parse ab keep working. It adds HTTP/1.1 keep-alive with correct
framing (chunked included), https (sessions resumed across connections unless
--no-resume; handshakes counted full and resumed), HTTP/2 as h2load loads it
(--http2: h2 by ALPN over https, h2c with prior knowledge over http://;
--max-concurrent-streams N requests at a time per connection, h2load's -m),
Unix sockets, raw targets (tcp://, udp://,
unix://, unixgram:// with --proto echo|discard|chargen|daytime|qotd|time; echo
verifies every byte), an open model (--rate: latency from each request's
scheduled time), HDR latency percentiles, and --json reports that merge exactly
(sockit bench merge).

As in ab, a complete response is a success whatever its status (non-2xx ones are
counted on their own line), the first response's body sets the Document Length
and a later body of another length is a Length failure unless -l. A reply that
is not an HTTP response at all (an echo server sends the request back) is, as
ab counts it, a complete non-2xx response; bench says so on stderr.

The target is a URL (http://, https://, or host:port/path, which ab too takes
for http://), or for a raw load tcp://, udp://, unix:// or unixgram://; a bare
host:port, which ab refuses, is refused rather than guessed HTTP or raw.

Where bench differs from ab, and why:
  - stdout holds ab's report without ab's banner (bench is not ApacheBench);
    sockit's own lines (engine, failures by kind and the first of each,
    p99.9, client CPU, hints) go to stderr, prefixed "sockit:", so a parser
    of ab's output sees ab's layout.
  - Exactly -n requests complete, each a success or a failure of a named kind
    (connect, timeout, read, write, length, verify): a receive error never ends
    the run, as if ab's -r were always given (-r is accepted).
  - -v's lines go to stderr, not into the report; -k speaks HTTP/1.1.
  - -m is ab's method, as in ab; h2load's -m is --max-concurrent-streams, and
    a number given to -m is refused, saying so.
  - --warmup requests come on top of -n: exactly -n are measured after it.
  - Ctrl-C stops at once (requests in flight are cut off and counted apart),
    prints the report of what completed, marked interrupted on stderr, and
    exits 130. Every request failing exits 1, as ab exits on its socket
    error, with the line "sockit bench: every request failed (...)".
  - A value bench cannot run as asked (-n 0, a port above 65535, a flag
    that does not apply to the target) is a usage error, exit 2, before
    anything is sent.`

// ExampleBench is sockit bench's examples.
const ExampleBench = `  sockit bench -c 50 -n 1000 http://localhost:8080/    # the brief's ab command
  sockit bench -k -c 50 -d 10s http://127.0.0.1:8080/
  sockit bench -c 64 -n 100000 --size 64 tcp://127.0.0.1:8001
  # UDP: sockit serve budgets the reply bytes per source (anti-amplification),
  # which a benchmark exhausts at once; serve a benchmark without it:
  sockit serve --udp-budget off qotd=udp://127.0.0.1:8017 &
  sockit bench --proto qotd -c 8 -n 1000 udp://127.0.0.1:8017
  sockit bench -k --rate 20000 -d 30s --json http://127.0.0.1:8080/ > a.json
  sockit bench -k -c 50 -d 10s --cacert ca.pem https://localhost:8443/
  sockit bench --http2 -c 50 --max-concurrent-streams 10 -n 100000 \
    http://127.0.0.1:8080/`

// HelpMerge is sockit bench merge's long help.
const HelpMerge = `merge adds up --json reports exactly: counts, HDR histograms (percentiles come
from the merged histogram, never averaged) and per-second series. The reports
of a sharded run (--shard, or an Indexed Job) must all be there, once each,
with the same run id and load, and so must reports of runs made side by side
by hand (the same options hash); a report given twice (the same file, or two
copies of one run) is refused too. merge names the reports that disagree;
--force merges them anyway, for whoever means it. A REPORT may also be a log
holding reports between --json-markers lines, or - for stdin, so
  kubectl logs -l job-name=sockit-bench --tail=-1 --prefix |
    sockit bench merge -
merges a Kubernetes Job's pods.`

// HelpReport is sockit bench report's long help.
const HelpReport = `report renders --json reports (or logs holding them between --json-markers
lines, or - for stdin) as one self-contained HTML page: a summary table, latency
over time, requests per second, the percentile curve and the errors, each run
in its own colour. It opens offline: no script, style or font is fetched.`

// HelpCompare is sockit bench compare's long help.
const HelpCompare = `compare prints each metric of two --json reports (or logs holding one report
each between --json-markers lines) with its delta and relative change, and
notes "within noise" where the two runs' 95% intervals overlap: for
percentiles, the order-statistics interval read off each HDR histogram,
widened by the batch means of the per-second series; for the mean and the
rate, their standard errors; for failures, a two-proportion test. That is the
noise one report shows: repeated runs can differ more.`
