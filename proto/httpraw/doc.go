// Package httpraw is HTTP/1.1 written by hand over a socket, as the brief
// does it, but correct: a request writer, a response reader, a keep-alive
// client with per-phase timings, and the small responder that stands in for
// the brief's web server.
//
// Every HTTP message sockit reads, response or request, is framed by one
// Framer (framer.go): an incremental, allocation-free state machine that
// the client's Reader, both bench engines and the responder share. Its doc
// gives the framing rules (RFC 9112 §6.3) and the handling of bare LF and
// bare CR (§2.2). Interim 1xx responses before the final one are read and
// kept. Every malformed input is a *MalformedError naming the fault and the
// byte offset where it was found.
package httpraw
