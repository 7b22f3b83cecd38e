//go:build !linux

package server

// OnLoops reports whether s's event loops serve l: never, outside Linux.
func OnLoops(s *Server, l any) bool { return false }

// LoopCount returns the number of event loops s runs: none outside Linux.
func LoopCount(s *Server) int { return 0 }
