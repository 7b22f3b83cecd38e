package server

import (
	"fmt"
	"io"
	"net"
	"strings"
)

// engine is what the Server needs from whatever runs its connections. The
// Server owns the listeners, the connection guards (admit and release),
// the counters and the shutdown order; an engine owns the connections and
// the threads or goroutines that serve them. Another engine is one new
// file implementing this, plus its row in engines.
type engine interface {
	// serveStream serves ln's connections until the server stops listening,
	// then returns ErrServerClosed; or returns the error that stopped it.
	// Every connection passes s.admit first and ends with s.release.
	serveStream(ln net.Listener, svc Service, ctr *counters) error
	// servePacket answers pc's datagrams in the same way.
	servePacket(pc net.PacketConn, svc Service, ctr *counters) error
	// unwatch stops serving l, a listener or packet socket the server closes
	// next: no more accepts or reads are started on it.
	unwatch(l io.Closer)
	// release follows unwatch: it forgets l and closes it. With graceful,
	// when l is a stream listener, the connections already queued on it
	// are taken as it closes (closeQueued) and served like any other. When
	// it returns, l's Serve call may return.
	release(l io.Closer, graceful bool, stop <-chan struct{})
	// drain begins a graceful shutdown, after the server stopped admitting:
	// every connection that is idle (see Idler) closes now, and the others
	// are told (Idler.Drain) and close as soon as they are idle.
	drain()
	// closeConns closes every connection now (the grace period is over).
	closeConns()
	// stop ends the engine; the server calls it last, once no connection
	// and no Serve call is left.
	stop()
}

// engines are the values Config.Engine takes, the default first: this
// platform's own (the epoll loops on Linux), then the goroutine engine,
// which runs wherever Go does.
var engines = append(platformEngines, engineEntry{"goroutine", func(s *Server) (engine, error) { return newGoEngine(s), nil }})

type engineEntry struct {
	name  string
	start func(*Server) (engine, error)
}

// Engines returns the names Config.Engine accepts, the default first.
func Engines() []string {
	names := make([]string, len(engines))
	for i, e := range engines {
		names[i] = e.name
	}
	return names
}

// engine returns the server's engine, starting it on first use. It fails
// with ErrServerClosed once the server has stopped its engine.
func (s *Server) engine() (engine, error) {
	s.engineOnce.Do(func() {
		name := s.cfg.Engine
		if name == "" {
			name = engines[0].name
		}
		var eng engine
		err := fmt.Errorf("server: unknown engine %q (known: %s)", name, strings.Join(Engines(), ", "))
		if why, ok := unavailableEngines[name]; ok {
			err = fmt.Errorf("server: engine %q %s (this system has: %s)", name, why, strings.Join(Engines(), ", "))
		}
		for _, e := range engines {
			if e.name == name {
				eng, err = e.start(s)
			}
		}
		s.mu.Lock()
		s.eng, s.engineErr = eng, err
		s.mu.Unlock()
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.eng == nil && s.engineErr == nil {
		return nil, ErrServerClosed
	}
	return s.eng, s.engineErr
}

// currentEngine returns the engine if one runs.
func (s *Server) currentEngine() engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eng
}
