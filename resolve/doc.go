// Package resolve turns host names into addresses the way getaddrinfo does
// (every address, IPv4 and IPv6, /etc/hosts first) — the brief's
// gethostbyname done properly — or by asking one DNS server directly.
//
// Names that a reverse lookup returns carry no trailing dot, whichever path
// answered, as getent prints them: they are host names to use, not zone
// file entries.
//
// Many names at once: Each runs lookups concurrently and emits the results
// in input order; Bulk asks one server for many names at the rate it
// answers, from one goroutine and a few sockets (the bulk engine, Linux's:
// elsewhere Bulk resolves through Each).
package resolve
