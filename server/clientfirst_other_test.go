//go:build !linux

package server_test

import (
	"net"
	"testing"

	"github.com/sockit/sockit/server"
)

// deferAccept: TCP_DEFER_ACCEPT is Linux's, and so are the loops that set it.
func deferAccept(*testing.T, *server.Server, net.Listener, string) int { return 0 }
