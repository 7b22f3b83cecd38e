// Package sockit is the library behind the sockit command: one endpoint
// notation for every socket family the tools speak, and the dial and listen
// calls that take it.
//
// An endpoint is written as a URL-like string:
//
//	host:port               the command's default network (TCP for most);
//	                        the port may be a service name from
//	                        /etc/services (localhost:echo)
//	[v6addr]:port           an IPv6 literal
//	host                    the command's default port
//	tcp://host:port         also tcp4://, tcp6://
//	tls://host:port         TLS over TCP (also tls4://, tls6://): Dialer.Dial
//	                        handshakes, ListenConfig.Listen serves it
//	udp://host:port         also udp4://, udp6://
//	unix:///path/sock       a Unix stream socket in the file system
//	unix://@name            a Linux abstract Unix socket (Linux only)
//	unixgram:///path/sock   a Unix datagram socket (also unixgram://@name)
//	rfcomm://AA:BB:CC:DD:EE:FF/CHANNEL, l2cap://ADDR/PSM   Bluetooth
//	ipx://NETWORK:NODE:SOCKET   IPX (parses; Linux removed it in 4.18)
//
// Endpoints round-trip: ParseEndpoint(e.String()) gives back e.
//
// The package builds on Linux, macOS and FreeBSD. Abstract names and the
// Bluetooth and IPX sockets are Linux's: elsewhere ParseEndpoint refuses
// an @name, a unixgram client binds a socket file in the temporary
// directory, and dialing or listening on the other families says they are
// Linux-only.
package sockit
