// Package proto is the registry of sockit's protocols. A protocol package
// (proto/echo, proto/qotd, …) registers itself in its init function with
// everything sockit's commands need of it: its name, its ports, its server
// side and the options it takes, its command-line client, how bench loads
// it and how `sockit packet` describes its payloads. `sockit serve`, the
// clients, `sockit demo`, `sockit bench` and `sockit packet` read the
// registry, so a new protocol is one new package (imported by proto/all)
// and nothing else.
//
// Registering is the program's act, as with database/sql's drivers: only
// cmd/sockit (and tests) import proto/all; no library registers a protocol
// as a side effect of being imported.
//
// The registry imports only the standard library, the sockit package and
// server's handler interfaces, so a protocol's importers stay light.
package proto
