// Package echo is the Echo Protocol, RFC 862.
//
// TCP (port 7): once a connection is established, any data received is sent
// back, until the calling user closes the connection. UDP (port 7): each
// datagram received is sent back in an answering datagram.
//
// sockit's server replies with the very bytes it read, in order; a peer that
// half-closes gets everything echoed before the server's FIN.
package echo
