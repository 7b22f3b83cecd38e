// Package discard is the Discard Protocol, RFC 863.
//
// TCP (port 9): any data received is thrown away; no response is sent. UDP
// (port 9): any datagram received is thrown away; no response is sent.
package discard
