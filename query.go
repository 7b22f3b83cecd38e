package sockit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// Query is a request/reply exchange over a datagram socket, resent when no
// reply comes in time — how the brief's QOTD client should have handled a
// lost datagram. The zero value tries once and waits 2s.
type Query struct {
	// Retries is how many times the request is sent again after the first
	// attempt got no reply; zero means none.
	Retries int
	// Timeout is how long each attempt waits for a reply; zero means 2s.
	Timeout time.Duration
	// OnRetry, if set, is told of each resend (attempt counts from 2).
	OnRetry func(attempt int)
}

// ErrNoReply is wrapped by the error of a query whose every attempt timed out.
var ErrNoReply = errors.New("sockit: no reply")

// Exchange sends req on c and returns the first reply, read into buf, and
// how many attempts it took.
func (q *Query) Exchange(ctx context.Context, c net.Conn, req, buf []byte) ([]byte, int, error) {
	timeout := q.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
	defer stop()
	for attempt := 1; ; attempt++ {
		if attempt > 1 && q.OnRetry != nil {
			q.OnRetry(attempt)
		}
		if _, err := c.Write(req); err != nil {
			return nil, attempt, err
		}
		c.SetReadDeadline(time.Now().Add(timeout))
		if ctx.Err() != nil {
			// Canceled before the line above: its deadline replaced the
			// past one stop set, and the read would wait out timeout.
			return nil, attempt, ctx.Err()
		}
		n, err := c.Read(buf)
		if err == nil {
			return buf[:n], attempt, nil
		}
		if ctx.Err() != nil {
			return nil, attempt, ctx.Err()
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return nil, attempt, err
		}
		if attempt > q.Retries {
			return nil, attempt, fmt.Errorf("%w from %s (%s) after %d attempt(s), %v each", ErrNoReply,
				c.RemoteAddr(), c.RemoteAddr().Network(), attempt, timeout)
		}
	}
}

// ErrTooLong is wrapped by ReadAll's error when the peer sends more than
// the limit.
var ErrTooLong = errors.New("sockit: reply too long")

// ReadAll reads r to EOF, refusing more than limit bytes — for replies of
// bounded size (daytime, qotd, time) from a peer that may not be honest.
func ReadAll(r io.Reader, limit int) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return b, err
	}
	if len(b) > limit {
		return b[:limit], fmt.Errorf("%w: more than %d bytes", ErrTooLong, limit)
	}
	return b, nil
}
