// Package timeproto is the Time Protocol, RFC 868.
//
// The server sends the time as a 32-bit binary number, big-endian, in
// seconds since 00:00 (midnight) 1 January 1900 GMT. TCP (port 37): on
// connection the server sends the number and closes. UDP (port 37): any
// datagram is answered with a datagram holding the number.
//
// 32 bits run out on 2036-02-07 06:28:16 UTC. Both sides here use the era
// rule of RFC 4330 §3: a value with its top bit set is in 1968–2036, one with
// the top bit clear is after 2036-02-07 — so the protocol keeps working
// until 2104.
package timeproto
