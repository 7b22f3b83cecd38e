// Package qotd is the Quote of the Day Protocol, RFC 865.
//
// TCP (port 17): on connection the server sends a short message and closes,
// ignoring any input. UDP (port 17): any datagram received is answered with
// one datagram holding a quote. There is no syntax for the quote; it should
// be ASCII printing characters, spaces, CR and LF, one or several lines, and
// less than 512 characters.
//
// Because the reply is so much larger than an empty request, QOTD is a
// classic reflector (140.3× amplification); the sockit server budgets
// replies per source, see server.UDPGuard.
package qotd
