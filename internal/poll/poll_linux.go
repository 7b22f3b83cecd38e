package poll

import (
	"golang.org/x/sys/unix"

	"github.com/sockit/sockit/internal/rawsys"
)

// Event is one readiness report: Fd is the descriptor, Events the bits
// below, Pad the tag given to AddTag (0 after Add).
type Event = unix.EpollEvent

// Event bits.
const (
	In        = unix.EPOLLIN
	Out       = unix.EPOLLOUT
	RDHup     = unix.EPOLLRDHUP
	Err       = unix.EPOLLERR
	Hup       = unix.EPOLLHUP
	Exclusive = unix.EPOLLEXCLUSIVE // Add only: wake one of the pollers sharing fd
)

// Poller is an epoll instance with a wake-up eventfd. Add, Modify, Delete
// and Wake may be called from any goroutine; Wait from one at a time.
type Poller struct {
	epfd int
	wfd  int // eventfd, registered for In; never reported by Wait
}

// New returns a Poller, with its descriptors close-on-exec.
func New() (*Poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wfd, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	p := &Poller{epfd: epfd, wfd: wfd}
	if err := p.Add(wfd, In); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// Add watches fd for events.
func (p *Poller) Add(fd int, events uint32) error {
	return p.ctl(unix.EPOLL_CTL_ADD, fd, events)
}

// Modify changes the events fd is watched for.
func (p *Poller) Modify(fd int, events uint32) error {
	return p.ctl(unix.EPOLL_CTL_MOD, fd, events)
}

// AddTag watches fd for events, which Wait reports with tag in Event.Pad
// (Add's tag is 0): a loop can keep its state for fd in a table indexed by
// tag instead of a map.
func (p *Poller) AddTag(fd int, events uint32, tag int32) error {
	return p.ctlTag(unix.EPOLL_CTL_ADD, fd, events, tag)
}

// ModifyTag changes the events fd is watched for, keeping its tag.
func (p *Poller) ModifyTag(fd int, events uint32, tag int32) error {
	return p.ctlTag(unix.EPOLL_CTL_MOD, fd, events, tag)
}

// Delete stops watching fd. Closing fd also removes it, once no other
// descriptor refers to its open file.
func (p *Poller) Delete(fd int) error {
	return p.ctl(unix.EPOLL_CTL_DEL, fd, 0)
}

func (p *Poller) ctl(op, fd int, events uint32) error {
	return p.ctlTag(op, fd, events, 0)
}

func (p *Poller) ctlTag(op, fd int, events uint32, tag int32) error {
	ev := unix.EpollEvent{Events: events, Fd: int32(fd), Pad: tag}
	return unix.EpollCtl(p.epfd, op, fd, &ev)
}

// Wait blocks until a watched descriptor is ready, Wake is called, or
// msec milliseconds pass (-1: no limit), and returns the number of events
// it put in events. A wake-up is consumed here and not reported, so n may
// be 0 after one. EINTR is returned as 0 events and no error.
func (p *Poller) Wait(events []Event, msec int) (int, error) {
	n, err := unix.EpollWait(p.epfd, events, msec)
	if err == unix.EINTR {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	for i := 0; i < n; i++ {
		if int(events[i].Fd) != p.wfd {
			continue
		}
		var b [8]byte
		rawsys.Read(p.wfd, b[:]) // reset the counter; level-triggered otherwise
		n--
		events[i] = events[n]
		break
	}
	return n, nil
}

// Wake makes a Wait in progress (or the next one) return.
func (p *Poller) Wake() error {
	// Adds one to the eventfd's counter (any non-zero value wakes); the
	// descriptor is non-blocking, so the scheduler need not be told.
	one := [8]byte{1}
	_, err := rawsys.Write(p.wfd, one[:])
	if err == unix.EAGAIN {
		return nil // the counter is saturated: a wake-up is pending anyway
	}
	return err
}

// Close releases the epoll instance and the eventfd.
func (p *Poller) Close() error {
	err := unix.Close(p.epfd)
	if e := unix.Close(p.wfd); err == nil {
		err = e
	}
	return err
}
