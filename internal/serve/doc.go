// Package serve is `sockit serve` as a process: its settings and its
// lifecycle. cmd/sockit turns flags into a Source, Load reads it into
// Settings, and Run serves them; `sockit demo` and the tests start service
// sets with Start.
//
//   - Settings (settings.go) are one model of every setting: Fields gives
//     each its flag, its key in the TOML file of --config, its rule and its
//     help, so a flag and a key never disagree. Load applies Default's
//     values, then the file (file.go: every mistake with its line and
//     column, through go-toml/v2), then the flags given, which override
//     their keys (as nginx -g), and reports every mistake at once. A
//     protocol's own settings are its proto.Option descriptors, which
//     Fields adds with no line here.
//   - Run (run.go) owns the process: inetd's socket (inetd.go) or the ones
//     systemd passed (package activation), the metrics and probes, SIGHUP
//     (a reload, never an exit), SIGUSR1 (the access log reopened), the
//     drain, and the start, draining and stop log lines.
//   - Start and Group (running.go, group.go) bind a set of Specs (spec.go:
//     SERVICE=ENDPOINT) and serve them on a server.Server; a reload is a
//     new generation that takes over the sockets both sets share.
//
// The protocols are the registry's (package proto): the program registers
// them (cmd/sockit imports proto/all); this package registers none.
package serve
