package server

import "golang.org/x/sys/unix"

// fionread is the ioctl that reports the bytes waiting to be read on a
// socket (FIONREAD; Linux names it SIOCINQ).
const fionread = unix.SIOCINQ
