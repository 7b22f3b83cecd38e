//go:build !linux

package sockit

import (
	"context"
	"errors"
	"net"
	"time"
)

// errFamilyLinuxOnly is what dialing or listening on an rfcomm, l2cap or
// ipx endpoint gives outside Linux: the sockaddrs and the socket calls
// sockit uses for them (AF_BLUETOOTH's BlueZ layout, AF_IPX) are Linux's.
var errFamilyLinuxOnly = errors.New("Bluetooth and IPX endpoints are Linux-only in sockit")

func familySocket(op string, e Endpoint) (int, struct{}, error) {
	return -1, struct{}{}, &net.OpError{Op: op, Net: e.Network, Addr: FamilyAddr{e.Network, e.Address}, Err: errFamilyLinuxOnly}
}

func dialFamily(_ context.Context, e Endpoint, _ time.Duration) (net.Conn, error) {
	_, _, err := familySocket("dial", e)
	return nil, err
}

func listenFamily(e Endpoint) (net.Listener, error) {
	_, _, err := familySocket("listen", e)
	return nil, err
}
