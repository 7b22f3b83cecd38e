// Command sockit is the classic socket programs as one tool: resolve,
// connect/listen (netcat), clients and one server for the inetd small
// services, HTTP by hand, a load generator, and a demo of the tutorial they
// come from.
package main
