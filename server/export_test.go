package server

// Closing reports whether s has begun to stop (Shutdown or Close).
func Closing(s *Server) bool { return s.isClosing() }
