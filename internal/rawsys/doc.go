// Package rawsys holds the system calls of sockit's event loops, made as
// raw calls: on non-blocking sockets they never block, so telling the Go
// scheduler about them (entersyscall, exitsyscall) is pure cost — paid
// several times per request otherwise.
//
// The calls, and the UDP batches (batch_linux.go: sendmmsg, recvmmsg,
// UDP_SEGMENT) that server's loops and resolve's bulk engine share, are
// Linux's (rawsys_linux.go), as are their users: the event-loop engines of
// server/ and bench/ and resolve's bulk engine. ReusePort builds on every
// Unix.
package rawsys
