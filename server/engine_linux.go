package server

// platformEngines are the engines only Linux has: the epoll loops, the
// default.
var platformEngines = []engineEntry{{"loop", func(s *Server) (engine, error) { return newLoopEngine(s) }}}

// unavailableEngines are the engines of other systems, and why not here.
var unavailableEngines = map[string]string{}
