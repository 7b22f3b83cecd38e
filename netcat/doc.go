// Package netcat joins a byte stream (stdin and stdout) to a socket, in
// either direction: Connect dials out, Listen waits for peers. Streams
// (TCP, TLS, unix) are relayed with half-close, so every byte written before
// EOF reaches the other side (over TLS: close_notify, then the TCP FIN, and
// reading goes on until the peer's own end); datagram sockets (UDP,
// unixgram) carry one datagram per input read.
package netcat
