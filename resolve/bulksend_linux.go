package resolve

import (
	"cmp"
	"net"
	"net/netip"
	"slices"
	"time"

	"golang.org/x/sys/unix"
)

// budget is how many queries Rate lets leave now.
func (e *bulkEngine) budget(now int64) int {
	if e.interval == 0 {
		return sendBatch
	}
	// A burst of at most 10 ms of the rate after an idle spell.
	if floor := now - 10*int64(time.Millisecond); e.nextSend < floor {
		e.nextSend = floor
	}
	if e.nextSend > now {
		return 0
	}
	return int(min((now-e.nextSend)/e.interval+1, sendBatch))
}

func (e *bulkEngine) send(now int64) error {
	for k, fd := range e.fds {
		q := e.sendq[k]
		i := 0 // q[:i] is done with: sent, or stale (finished while queued)
		for i < len(q) && !e.stuck[k] {
			limit := e.budget(now)
			if limit == 0 {
				break
			}
			n, j := 0, i
			for ; j < len(q) && n < limit; j++ {
				sl := &e.slots[q[j]]
				if !sl.queued || sl.state != slotActive {
					continue
				}
				e.sent[n] = q[j]
				n++
			}
			if n == 0 {
				i = j
				continue
			}
			m, err := e.sendBatch(fd, n)
			if err == unix.EAGAIN || err == unix.ENOBUFS {
				e.stuck[k], m = true, 0
			} else if err != nil {
				return e.netError(err)
			}
			for _, si := range e.sent[:m] {
				sl := &e.slots[si]
				sl.queued = false
				sl.tries++
				e.link(si, now+int64(e.timeout))
			}
			if e.interval > 0 {
				e.nextSend += int64(m) * e.interval
			}
			if m < n {
				// What did not leave goes back just before j, in order.
				i = j - (n - m)
				copy(q[i:j], e.sent[m:n])
				break
			}
			i = j
		}
		e.sendq[k] = q[:copy(q, q[i:])]
	}
	return nil
}

// sendBatch sends the queries of e.sent[:n] and returns how many left, the
// first ones. Queries of one size go as one message with UDP segmentation
// offload (rawsys.SendBatch): the kernel builds and routes one packet and
// splits it, instead of doing that work per query. A kernel that refuses
// it (EINVAL, EIO) gets one message per query from then on.
func (e *bulkEngine) sendBatch(fd, n int) (int, error) {
	if e.gso {
		// Equal sizes next to each other: longer runs, fewer messages.
		slices.SortStableFunc(e.sent[:n], func(a, b int32) int {
			return cmp.Compare(e.slots[b].plen, e.slots[a].plen)
		})
	}
	e.out.Reset()
	for _, si := range e.sent[:n] {
		sl := &e.slots[si]
		e.out.Add(sl.pkt[:sl.plen], nil, 0) // the socket is connected to the server
	}
	e.out.Coalesce(e.gso)
	m, err := e.out.Send(fd, 0)
	if (err == unix.EINVAL || err == unix.EIO) && e.gso && e.out.Segments(0) > 1 {
		e.gso = false
		return e.sendBatch(fd, n)
	}
	if err != nil {
		return 0, err
	}
	sent := 0
	for msg := range m {
		sent += e.out.Segments(msg)
	}
	return sent, nil
}

func (e *bulkEngine) netError(err error) error {
	addr, _ := netip.ParseAddrPort(e.server)
	return &net.OpError{Op: "query", Net: "udp", Addr: net.UDPAddrFromAddrPort(addr), Err: err}
}
