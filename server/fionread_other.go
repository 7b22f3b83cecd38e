//go:build !linux

package server

// fionread is the ioctl that reports the bytes waiting to be read on a
// socket: FIONREAD, _IOR('f', 127, int) in the BSDs' and macOS's
// sys/filio.h (x/sys/unix does not name it there).
const fionread = 0x4004667f
