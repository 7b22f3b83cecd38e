//go:build !linux

package server

// platformEngines: outside Linux the goroutine engine is the only one.
var platformEngines []engineEntry

// unavailableEngines are the engines of other systems, and why not here.
var unavailableEngines = map[string]string{"loop": "is Linux-only (epoll event loops)"}
