// Package demo is `sockit demo`: the programs of the socket-programming
// tutorial, replayed offline as the sockit commands that do their jobs,
// against every service started on 127.0.0.1 (package serve) and a Go
// copy of the tutorial's asyncio server, each step's output checked; and,
// where the process may capture, the echo exchange as it crossed lo.
//
// The commands are the program's: Config.Run runs one command line in
// the calling process, so the demo shows what the user would type.
package demo
