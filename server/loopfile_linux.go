package server

import (
	"os"

	"golang.org/x/sys/unix"
)

// fileSend is a file body on its way out with sendfile(2).
type fileSend struct {
	f         *os.File
	off, left int64
}

// takeFile starts sending the file body the session asks for, if any, once
// the output before it is written.
func (l *loop) takeFile(c *econn) {
	f, off, n := c.sess.(FileSender).TakeFile()
	if f == nil {
		return
	}
	c.file = &fileSend{f: f, off: off, left: n}
	l.want(c, true)
}

// sendFile sends the file body with sendfile(2), at most a few MiB per
// turn so other connections get the thread; at its end the session
// resumes. False when c was closed.
func (l *loop) sendFile(c *econn) bool {
	for range 4 {
		if c.file.left == 0 {
			break
		}
		n, err := unix.Sendfile(int(c.fd), int(c.file.f.Fd()), &c.file.off, int(min(c.file.left, 1<<20)))
		if n > 0 {
			c.ctr.out(n)
			c.file.left -= int64(n)
			c.lastWrite = l.mono
		}
		if err == unix.EAGAIN {
			return true
		}
		if err != nil || n == 0 {
			l.close(c) // n == 0: the file shrank under us
			return false
		}
	}
	if c.file.left > 0 {
		return true // the socket still takes more: on the next turn
	}
	c.file = nil
	out, closeAfter := c.sess.(FileSender).Resume(l.scratch[:0], nil)
	if !l.send(c, out) {
		return false
	}
	l.takeFile(c)
	if closeAfter {
		c.closeAfter = true
	}
	return true
}
