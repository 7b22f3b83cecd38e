package resolve

import (
	"errors"

	"github.com/miekg/dns"
)

// toTCP asks a truncated query again over TCP, in one of at most
// tcpWorkers goroutines; the rest wait their turn.
func (e *bulkEngine) toTCP(si int32) {
	e.unlink(si)
	sl := &e.slots[si]
	sl.state, sl.queued = slotTCP, false
	if e.tcpActive >= tcpWorkers {
		e.tcpWait = append(e.tcpWait, si)
		return
	}
	e.tcpActive++
	q := new(dns.Msg)
	if err := q.Unpack(sl.pkt[:sl.plen]); err != nil {
		e.tcpDone <- tcpReply{slot: si, err: err} // room: tcpActive counts it
		e.wake()
		return
	}
	c := &dns.Client{Net: "tcp", Timeout: e.timeout}
	ctx, server := e.tcpCtx, e.server
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		rep := tcpReply{slot: si}
		in, _, err := c.ExchangeContext(ctx, q, server)
		if err == nil {
			rep.msg, err = in.Pack()
		}
		rep.err = err
		e.tcpDone <- rep
		e.wake()
	}()
}

func (e *bulkEngine) drainTCP() error {
	for {
		select {
		case rep := <-e.tcpDone:
			e.tcpActive--
			sl := &e.slots[rep.slot]
			if rep.err == nil && len(rep.msg) >= 12 {
				// answer ignores a reply that does not match: then the
				// query has failed.
				if err := e.answer(rep.slot, rep.msg); err != nil {
					return err
				}
			}
			if sl.state == slotTCP {
				err := rep.err
				if err == nil {
					err = errors.New("TCP answer does not match the question")
				}
				if err := e.finish(rep.slot, err); err != nil {
					return err
				}
			}
			if len(e.tcpWait) > 0 && e.tcpActive < tcpWorkers {
				si := e.tcpWait[0]
				e.tcpWait = e.tcpWait[1:]
				e.slots[si].state = slotActive
				e.toTCP(si)
			}
		default:
			return nil
		}
	}
}
