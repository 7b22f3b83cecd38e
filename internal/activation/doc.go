// Package activation is how `sockit serve` runs under a service manager:
// sockets handed over by systemd (LISTEN_FDS, LISTEN_PID, LISTEN_FDNAMES,
// sd_listen_fds(3)), each carrying the service its FileDescriptorName= names,
// and the state notifications of sd_notify(3) — READY=1, RELOADING=1,
// STOPPING=1 and WATCHDOG=1 keep-alives — through NOTIFY_SOCKET.
package activation
