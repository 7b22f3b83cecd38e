package sockit

import (
	"net"
	"os"
	"sync"
	"time"
)

// progressBytes is how much a peer must move in each Timeout of waiting:
// enough to tell a peer at work from one trickling a byte at a time, little
// enough for any link a person would use (1 KiB in 2 s is 4 kbit/s).
const progressBytes = 1 << 10

// TimeoutConn is a client's connection under sockit's one deadline policy,
// the one every client command keeps (Dialer.Dial returns one when its
// Timeout is set): every wait for the peer ends within Timeout. A Read or
// Write returns a timeout (a *net.OpError wrapping os.ErrDeadlineExceeded)
// once the peer has had Timeout of the caller's waiting without moving
// 1 KiB, so a silent peer, one that stalls halfway through a reply and one
// that trickles it a byte at a time all end within Timeout, while a peer
// sending at any real pace never does. Only time spent waiting in Read
// or Write counts: a caller busy elsewhere (writing to a slow pipe) costs
// the peer nothing. A Write begins a new wait for reads (a request: the
// wait for its reply starts afresh). Deadlines the caller sets
// (SetDeadline, a context's cancel) still apply: the earlier wins.
type TimeoutConn struct {
	net.Conn
	mu      sync.Mutex
	timeout time.Duration
	// Per direction (read, write): the caller's deadline, the waiting
	// spent and bytes moved since the peer last moved 1 KiB, and the start
	// of the call in progress (zero when none is).
	user   [2]time.Time
	waited [2]time.Duration
	moved  [2]int
	since  [2]time.Time
}

const (
	dirRead = iota
	dirWrite
)

// NewTimeoutConn puts c under the deadline policy with the given timeout;
// zero or less means no bound (SetTimeout can set one later).
func NewTimeoutConn(c net.Conn, timeout time.Duration) *TimeoutConn {
	return &TimeoutConn{Conn: c, timeout: max(timeout, 0)}
}

// SetTimeout changes the bound, for calls in progress too; zero or less
// removes it. netcat's connect sets it once its input has ended (nc's
// "-w: timeout for connects and final net reads").
func (c *TimeoutConn) SetTimeout(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timeout = max(d, 0)
	c.apply(dirRead)
	c.apply(dirWrite)
}

// apply sets the underlying deadline of dir: the caller's, or the end of
// the peer's budget if that comes first. c.mu is held.
func (c *TimeoutConn) apply(dir int) {
	dl := c.user[dir]
	if c.timeout > 0 && !c.since[dir].IsZero() {
		own := c.since[dir].Add(c.timeout - c.waited[dir])
		if dl.IsZero() || own.Before(dl) {
			dl = own
		}
	}
	if dir == dirRead {
		c.Conn.SetReadDeadline(dl)
	} else {
		c.Conn.SetWriteDeadline(dl)
	}
}

func (c *TimeoutConn) begin(dir int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.since[dir] = time.Now()
	c.apply(dir)
}

// end accounts for a call that moved n bytes and reports whether the peer
// earned a new budget by it.
func (c *TimeoutConn) end(dir, n int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.waited[dir] += time.Since(c.since[dir])
	c.moved[dir] += n
	c.since[dir] = time.Time{}
	if c.moved[dir] >= progressBytes {
		c.waited[dir], c.moved[dir] = 0, 0
		return true
	}
	return false
}

func (c *TimeoutConn) Read(p []byte) (int, error) {
	c.begin(dirRead)
	n, err := c.Conn.Read(p)
	c.end(dirRead, n)
	return n, err
}

// Write writes p whole unless the peer stops taking it: a write the peer
// takes in part, 1 KiB or more each Timeout, goes on.
func (c *TimeoutConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.waited[dirRead], c.moved[dirRead] = 0, 0
	c.mu.Unlock()
	total := 0
	for {
		c.begin(dirWrite)
		n, err := c.Conn.Write(p[total:])
		total += n
		renewed := c.end(dirWrite, n)
		if err == nil {
			// All taken: the next write's wait is a new one.
			c.mu.Lock()
			c.waited[dirWrite], c.moved[dirWrite] = 0, 0
			c.mu.Unlock()
			return total, nil
		}
		if !renewed || total == len(p) || !isDeadline(err) || c.userPassed(dirWrite) {
			return total, err
		}
	}
}

func isDeadline(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

func (c *TimeoutConn) userPassed(dir int) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return !c.user[dir].IsZero() && !time.Now().Before(c.user[dir])
}

func (c *TimeoutConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.user = [2]time.Time{t, t}
	c.apply(dirRead)
	c.apply(dirWrite)
	return nil
}

func (c *TimeoutConn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.user[dirRead] = t
	c.apply(dirRead)
	return nil
}

func (c *TimeoutConn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.user[dirWrite] = t
	c.apply(dirWrite)
	return nil
}

// CloseWrite shuts down the writing side of a stream (TCP, unix), as
// net.TCPConn's does.
func (c *TimeoutConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return &net.OpError{Op: "close", Net: c.LocalAddr().Network(), Addr: c.RemoteAddr(), Err: os.ErrInvalid}
}
