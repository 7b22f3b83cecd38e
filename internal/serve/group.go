package serve

import (
	"context"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sockit/sockit"
)

// Group runs successive generations of a service set, as a reload wants
// them: Reload starts the new set — reusing the open socket of every spec
// both sets share, so its queue of pending connections is never dropped —
// and only then lets the old generation stop accepting and drain: its
// established connections run to their end under the guards they were
// accepted with, while new ones get the new guards.
type Group struct {
	mu      sync.Mutex
	cur     *Running
	specs   []Spec
	closers []func() // the current generation's resources (an http root)
	drains  sync.WaitGroup
	old     []*Running // generations draining
	errs    chan error
	stopFwd chan struct{} // ends the current generation's forward
}

// key identifies a spec across reloads: the endpoint as written, so a port
// 0 keeps the port it got.
func (sp Spec) key() string {
	return sp.Service + " " + sp.Endpoint.Network + " " + sp.Endpoint.Address
}

// StartGroup starts the first generation.
func StartGroup(ctx context.Context, specs []Spec, opt Options, closers ...func()) (*Group, error) {
	r, err := Start(ctx, specs, opt)
	if err != nil {
		return nil, err
	}
	g := &Group{cur: r, specs: specs, closers: closers, errs: make(chan error, 1)}
	g.stopFwd = g.forward(r)
	return g, nil
}

// forward passes r's listener failures on until the returned channel is
// closed (r replaced, or the group stopped).
func (g *Group) forward(r *Running) chan struct{} {
	stop := make(chan struct{})
	go func() {
		select {
		case err := <-r.errs:
			select {
			case g.errs <- err:
			default:
			}
		case <-stop:
		}
	}()
	return stop
}

// dup returns a second descriptor of an open socket.
func dup(sp Spec, prev *Running, i int) (Spec, error) {
	type filer interface{ File() (*os.File, error) }
	var c any
	if prev.sockets[i].ln != nil {
		c = prev.sockets[i].ln
	} else {
		c = prev.sockets[i].pc
	}
	fl, ok := c.(filer)
	if !ok {
		return sp, fmt.Errorf("%s: its socket cannot be handed over", sp.key())
	}
	f, err := fl.File()
	if err != nil {
		return sp, err
	}
	defer f.Close()
	if prev.sockets[i].ln != nil {
		sp.Listener, err = net.FileListener(f)
	} else {
		sp.PacketConn, err = net.FilePacketConn(f)
		if uc, ok := sp.PacketConn.(*net.UnixConn); ok && err == nil && isPath(sp.Endpoint) {
			// Its file stays the old socket's until handOver.
			sp.PacketConn = sockit.UnlinkOnClose(uc, sp.Endpoint.Address, false)
		}
	}
	return sp, err
}

func isPath(e sockit.Endpoint) bool { return e.IsUnix() && !strings.HasPrefix(e.Address, "@") }

// unlinker is what owns a unix socket file: net.UnixListener, and
// sockit.UnlinkOnClose's unixgram sockets.
type unlinker interface{ SetUnlinkOnClose(bool) }

// handOver makes the new generation's socket, a duplicate of the old one's,
// the owner of its unix socket file: the old generation's close then
// leaves the file, and the new one's removes it. It also sets the file's
// mode, if the new options set one (a reload may change it).
func handOver(sp Spec, old, cur socket, mode os.FileMode) error {
	if !isPath(sp.Endpoint) {
		return nil
	}
	for _, c := range []any{old.ln, old.pc} {
		if u, ok := c.(unlinker); ok {
			u.SetUnlinkOnClose(false)
		}
	}
	for _, c := range []any{cur.ln, cur.pc} {
		if u, ok := c.(unlinker); ok {
			u.SetUnlinkOnClose(true)
		}
	}
	if mode != 0 {
		return sockit.SetSocketMode(sp.Endpoint.Address, mode)
	}
	return nil
}

// Reload replaces the running set with specs under opt. On an error
// nothing changes. removed is told of each listener of the old set that the
// new one lacks.
func (g *Group) Reload(ctx context.Context, specs []Spec, opt Options, removed func(Spec, net.Addr), closers ...func()) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	prev := map[string]int{}
	for i, sp := range g.specs {
		prev[sp.key()] = i
	}
	next := make([]Spec, len(specs))
	reused := map[string]bool{}
	for i, sp := range specs {
		next[i] = sp
		if j, ok := prev[sp.key()]; ok && sp.Listener == nil && sp.PacketConn == nil {
			d, err := dup(sp, g.cur, j)
			if err != nil {
				for _, n := range next[:i] {
					n.Close()
				}
				return err
			}
			next[i] = d
			reused[sp.key()] = true
		}
	}
	announce, n := opt.Announce, 0
	opt.Announce = func(service, network string, addr net.Addr) {
		// Start announces in spec order.
		if announce != nil && !reused[specs[n].key()] {
			announce(service, network, addr)
		}
		n++
	}
	r, err := Start(ctx, next, opt)
	if err != nil {
		for _, n := range next {
			n.Close()
		}
		return err
	}
	old, oldClosers := g.cur, g.closers
	for i, sp := range specs {
		if reused[sp.key()] {
			if err := handOver(sp, old.sockets[prev[sp.key()]], r.sockets[i], opt.UnixMode); err != nil {
				r.log.Warn("reload: a kept unix socket keeps its mode", "path", sp.Endpoint.Address, "err", err)
			}
		}
	}
	for i, sp := range g.specs {
		kept := slices.ContainsFunc(specs, func(n Spec) bool { return n.key() == sp.key() })
		if !kept && removed != nil {
			removed(sp, old.Addrs[i])
		}
	}
	g.cur, g.specs, g.closers = r, specs, closers
	close(g.stopFwd)
	g.stopFwd = g.forward(r)
	g.old = append(g.old, old)
	g.drains.Add(1)
	go func() {
		defer g.drains.Done()
		old.Server.Shutdown(context.Background()) // connections finish at their pace (idle timeout bounds them)
		for _, c := range oldClosers {
			c()
		}
		// Drained: a serve reloaded daily for a year keeps no
		// generation it no longer runs.
		g.mu.Lock()
		g.old = slices.DeleteFunc(g.old, func(r *Running) bool { return r == old })
		g.mu.Unlock()
	}()
	// Shutdown stops the old generation accepting first; its Serve calls
	// return once it has. From then on every new connection is the new
	// generation's, under the new guards.
	old.wg.Wait()
	return nil
}

// Active returns the stream connections open in every generation.
func (g *Group) Active() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := g.cur.Server.Active()
	for _, r := range g.old {
		n += r.Server.Active()
	}
	return n
}

// Current returns the running generation.
func (g *Group) Current() *Running {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cur
}

// Wait serves until ctx ends or a listener fails, then shuts every
// generation down: no new connections, and open ones get grace to finish
// before they are closed. draining, if set, is called when the shutdown
// begins and returns the grace (none when draining is nil).
func (g *Group) Wait(ctx context.Context, draining func() (grace time.Duration)) error {
	var err error
	select {
	case <-ctx.Done():
	case err = <-g.errs:
	}
	var grace time.Duration
	if draining != nil {
		grace = draining()
	}
	g.mu.Lock()
	all := append([]*Running{g.cur}, g.old...)
	closers := g.closers
	close(g.stopFwd)
	g.mu.Unlock()
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	var wg sync.WaitGroup
	for _, r := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.shutdown(sctx, grace)
		}()
	}
	wg.Wait()
	g.drains.Wait()
	for _, c := range closers {
		c()
	}
	return err
}
