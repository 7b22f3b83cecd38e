// Package poll is the one epoll wrapper of sockit's event loops: the
// server's engine (server/) and the load generator's (bench/) both run on
// it. A Poller is an epoll instance plus an eventfd that another goroutine
// can use to wake a Wait. Descriptors are level-triggered unless the
// caller asks otherwise; events carry the descriptor, so a loop looks its
// state up by fd.
//
// Nothing here allocates after New: Add, Modify and Delete build their
// epoll_event on the stack, and Wait fills the caller's slice. epoll_ctl
// and the eventfd's reads and writes are made as raw system calls (they
// never block); epoll_wait tells the Go scheduler it may block.
//
// epoll is Linux's: the package is empty elsewhere, and the loop engines
// that use it are Linux-only (the goroutine engines serve there).
package poll
