package server

// OnLoops reports whether s's event loops serve l, a listener or a UDP
// socket (false on any other engine).
func OnLoops(s *Server, l any) bool {
	e, ok := s.currentEngine().(*loopEngine)
	if !ok {
		return false
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	for _, le := range e.listeners {
		if le.ln == l {
			return true
		}
	}
	for _, pe := range e.packets {
		if pe.pc == l {
			return true
		}
	}
	return false
}

// LoopCount returns the number of event loops s runs (0 on other engines).
func LoopCount(s *Server) int {
	if e, ok := s.currentEngine().(*loopEngine); ok {
		return len(e.loops)
	}
	return 0
}
