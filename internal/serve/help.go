package serve

import "github.com/sockit/sockit/proto"

// Short is serve's one-line summary, naming every registered service.
func Short() string {
	return "Serve " + orList(proto.Names(nil)) + ", concurrently, on any endpoints"
}

// Long is serve's --help.
const Long = `serve runs any number of services on any number of endpoints in one process:
TCP, UDP, unix and unixgram, IPv4 and IPv6. With no arguments it serves every
service on 127.0.0.1 over TCP and UDP: echo 8001 (the brief's port), discard
8009, daytime 8013, qotd 8017, chargen 8019, time 8037, http 8080 (the
brief's web page). Port 0 picks a free port; every listener is announced on
stderr (msg=listening service=echo network=tcp addr=127.0.0.1:8001).
A bare SERVICE serves it where the default would ("serve echo daytime": echo
and daytime on 127.0.0.1, TCP and UDP, on their default ports).

--config FILE reads the settings from a TOML file (deploy/sockit.example.toml
shows every key with its default); a flag given beside it overrides its key,
and SERVICE=ENDPOINT arguments replace its [services], as nginx -g adds to
nginx.conf. --check-config FILE checks the file with the flags given, prints
every mistake (FILE:LINE:COL: KEY: what, or --FLAG VALUE: what) and exits, 1
if there is any. A flag and its key take the same values and say the same
thing when one is wrong.

SIGHUP reloads: the file, if there is one (new listeners open, removed ones
stop accepting while their connections finish, changed guards apply to new
connections; a file with mistakes is logged and the running configuration
stays), and always the files the settings name (--quotes, --http-root),
read again. As for nginx and xinetd, a SIGHUP never ends serve.

Any stream service listens over TLS on a tls:// endpoint (tls4://, tls6://):
http=tls://0.0.0.0:8443, echo=tls://127.0.0.1:8002. --tls-cert FILE and
--tls-key FILE (tls.cert and tls.key in the file, each a string or an array)
name the certificate (PEM, chain after it) and its key; given several times,
the pairs match in order and each client gets the certificate of the name it
asks for (SNI), else the first. TLS 1.2 and 1.3 only, AEAD suites, ECDSA and
RSA keys, session tickets under keys rotated daily, ALPN (http/1.1 for http).
SIGHUP, and any change of the files (looked at every 2s), reads them again
without dropping a connection: open ones keep their certificate, new ones get
the new; a pair that does not load (a key that does not match its
certificate) is logged and the running one stays. --check-config checks each
key against its certificate and warns of one that expires within 14 days.

UDP services are not amplifiers: datagrams from source ports below 1024 and
2049, and from broadcast or multicast sources, are dropped, and each source
prefix (/24, /56) gets no more reply bytes than it sent plus a small burst
(--udp-burst) refilled at --udp-rate. Every drop is counted by reason.

SIGINT or SIGTERM stops accepting, closes idle connections at once (an HTTP
keep-alive connection between requests), answers a request in progress with
Connection: close, and lets streams in flight (echo, discard, chargen) finish
for --grace before closing them; a second signal ends at once.

Under systemd, serve takes the sockets systemd passes (LISTEN_FDS; each
socket's FileDescriptorName= names its service, SERVICE-tls the service
over TLS with --tls-cert, "metrics" the metrics and probes), opens none
itself, and reports READY=1, RELOADING=1, STOPPING=1 and WATCHDOG=1
through NOTIFY_SOCKET. Under inetd or xinetd, --inetd SERVICE
serves the socket on standard input. See deploy/systemd.

Logs go to stderr, one line per event, as logfmt (--log-format text, the
default) or one JSON object per line (json): "start" (version, engine,
loops, pid), "listening" per listener, "metrics", "reloaded" and "closed"
on SIGHUP, "draining" on SIGINT/SIGTERM (cause, connections open, grace),
and a last "stop" (exit status, how long the drain took, the error that
ended serve, if any). A failure to start is also said on one plain line,
"sockit serve: what", as every command says its errors. Durations are
written as Go durations ("1.5s") in both formats. Each line has a time, as
nginx's logs do, except text lines written to the journal (systemd's
JOURNAL_STREAM), which stamps its own. A stderr that takes nothing (a full
pipe) holds nothing up: lines wait in a 1 MiB buffer (past it, dropped and
counted), and at exit serve gives its last lines 2s.
Drops are logged at level WARN (idle timeouts, the usual end of a
keep-alive connection, at INFO), rate-limited: per listener and reason
(max-conns, max-conns-per-source, idle-timeout, write-timeout,
reserved-source-port, broadcast-or-multicast-source, source-budget, ...)
the first drop gives a line at once, then at most one line every 10s with
count (the drops since the previous line) and source (the last one's
address); what is pending is logged at the stop. --metrics counts every
drop in sockit_drops_total.

--access-log FILE writes http's access log, one line per response in
nginx's "combined" format, bytes a client could forge a line with escaped
\xHH as nginx does; SIGUSR1 reopens FILE (logrotate). Lines are buffered,
written at least every second and at exit, and never make the event loops
wait for the disk: when 1 MiB is waiting, further lines are dropped and
counted in a warning (nginx would block instead).

--engine picks what runs the connections: loop (the default: epoll event
loops, --loops threads) or goroutine (one goroutine per connection, for
comparison).`
