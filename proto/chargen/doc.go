// Package chargen is the Character Generator Protocol, RFC 864.
//
// TCP (port 19): once a connection is established the server sends a stream
// of data, and throws away anything received, until the user closes the
// connection. The data is the recommended pattern: lines of 72 printable
// ASCII characters followed by CRLF, each line starting one character later
// in the ring of the 95 printable characters (space to '~'). The stream is
// paced by TCP flow control: the server writes only as fast as the peer reads.
//
// UDP (port 19): each datagram received is answered by one datagram holding
// a random number of characters, between 0 and 512, of the same pattern.
// This makes chargen a classic reflector (358.8× amplification); the sockit
// server budgets replies per source, see server.UDPGuard.
package chargen
