// Package netcat joins a byte stream (stdin and stdout) to a socket, in
// either direction: Connect dials out, Listen waits for peers. Streams
// (TCP, unix) are relayed with half-close, so every byte written before EOF
// reaches the other side; datagram sockets (UDP, unixgram) carry one datagram
// per input read.
package netcat
