package sockit

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The families beyond IP and Unix: Bluetooth (rfcomm://, l2cap://) and
// IPX (ipx://). Their endpoints parse and build sockaddrs everywhere; the
// sockets open only where the kernel has the family — Bluetooth needs a
// kernel built with it (and an adapter to reach anything), and Linux
// removed IPX in 4.18 (2018). The sockets are Linux's (family_linux.go):
// elsewhere dialing or listening says so.
//
//	rfcomm://AA:BB:CC:DD:EE:FF/CHANNEL   RFCOMM, channel 1-30 (a stream)
//	l2cap://AA:BB:CC:DD:EE:FF/PSM        L2CAP, an odd PSM (sequenced packets)
//	ipx://NETWORK:NODE:SOCKET            IPX: 8, 12 and 4 hex digits (datagrams)

// isFamily reports whether network is one of this file's families.
func isFamily(network string) bool {
	return network == "rfcomm" || network == "l2cap" || network == "ipx"
}

// parseFamily reads the address part of an rfcomm, l2cap or ipx endpoint.
func parseFamily(network, rest string) (Endpoint, error) {
	switch network {
	case "rfcomm", "l2cap":
		addr, n, ok := strings.Cut(rest, "/")
		if !ok {
			return Endpoint{}, fmt.Errorf("want %s://AA:BB:CC:DD:EE:FF/%s", network, map[string]string{"rfcomm": "CHANNEL", "l2cap": "PSM"}[network])
		}
		bd, err := parseBDAddr(addr)
		if err != nil {
			return Endpoint{}, err
		}
		v, err := strconv.ParseUint(n, 10, 16)
		if err != nil {
			return Endpoint{}, fmt.Errorf("%q is not a number", n)
		}
		if network == "rfcomm" && (v < 1 || v > 30) {
			return Endpoint{}, fmt.Errorf("RFCOMM channel %d is not from 1 to 30", v)
		}
		// PSMs are odd, and the low bit of their high byte is 0 (Bluetooth
		// Core, Vol 3, Part A, 4.2).
		if network == "l2cap" && (v&1 == 0 || v&0x100 != 0) {
			return Endpoint{}, fmt.Errorf("L2CAP PSM %d is not valid (odd, with bit 8 clear: 1, 3, 5, ... 0x1001)", v)
		}
		return Endpoint{Network: network, Address: formatBDAddr(bd) + "/" + strconv.FormatUint(v, 10)}, nil
	case "ipx":
		a, err := parseIPX(rest)
		if err != nil {
			return Endpoint{}, err
		}
		return Endpoint{Network: network, Address: a.String()}, nil
	}
	return Endpoint{}, fmt.Errorf("unknown family %q", network)
}

// parseBDAddr reads a Bluetooth device address, most significant byte first.
func parseBDAddr(s string) ([6]byte, error) {
	var b [6]byte
	mac, err := net.ParseMAC(s)
	if err != nil || len(mac) != 6 || strings.Count(s, ":") != 5 {
		return b, fmt.Errorf("%q is not a Bluetooth address (AA:BB:CC:DD:EE:FF)", s)
	}
	copy(b[:], mac)
	return b, nil
}

func formatBDAddr(b [6]byte) string { return strings.ToUpper(net.HardwareAddr(b[:]).String()) }

// bdaddrLE is the address as the kernel's bdaddr_t holds it: least
// significant byte first.
func bdaddrLE(b [6]byte) [6]byte {
	return [6]byte{b[5], b[4], b[3], b[2], b[1], b[0]}
}

// linuxAFIPX is AF_IPX on Linux (linux/socket.h).
const linuxAFIPX = 4

// IPXAddr is an IPX address: a 32-bit network, a 48-bit node and a 16-bit
// socket (port).
type IPXAddr struct {
	Network uint32
	Node    [6]byte
	Socket  uint16
}

func parseIPX(s string) (IPXAddr, error) {
	var a IPXAddr
	p := strings.Split(s, ":")
	if len(p) != 3 || len(p[0]) != 8 || len(p[1]) != 12 || len(p[2]) != 4 {
		return a, fmt.Errorf("%q is not NETWORK:NODE:SOCKET in 8, 12 and 4 hex digits (ipx://00000001:0000c0a80001:0451)", s)
	}
	raw, err := hex.DecodeString(p[0] + p[1] + p[2])
	if err != nil {
		return a, fmt.Errorf("%q is not NETWORK:NODE:SOCKET in hex digits", s)
	}
	a.Network = binary.BigEndian.Uint32(raw)
	copy(a.Node[:], raw[4:10])
	a.Socket = binary.BigEndian.Uint16(raw[10:])
	return a, nil
}

func (a IPXAddr) String() string {
	return fmt.Sprintf("%08x:%s:%04x", a.Network, hex.EncodeToString(a.Node[:]), a.Socket)
}

// Marshal is Linux's struct sockaddr_ipx (linux/ipx.h): family, port,
// network, node, type and a zero byte, 16 bytes, network order.
func (a IPXAddr) Marshal() []byte {
	b := make([]byte, 16)
	binary.NativeEndian.PutUint16(b[0:], linuxAFIPX)
	binary.BigEndian.PutUint16(b[2:], a.Socket)
	binary.BigEndian.PutUint32(b[4:], a.Network)
	copy(b[8:14], a.Node[:])
	return b
}

// FamilyAddr is a net.Addr for the families package net does not know.
type FamilyAddr struct{ Net, Address string }

func (a FamilyAddr) Network() string { return a.Net }
func (a FamilyAddr) String() string  { return a.Address }

// FamilyUnavailableError says the kernel refused a socket of a whole
// address family, in words, with the errno it gave.
type FamilyUnavailableError struct {
	Family string // AF_BLUETOOTH, AF_IPX
	Why    string // what the user should know
	Err    error  // the errno from socket()
}

func (e *FamilyUnavailableError) Error() string {
	return fmt.Sprintf("%s (socket(%s) failed with %s)", e.Why, e.Family, ErrnoString(e.Err))
}

func (e *FamilyUnavailableError) Unwrap() error { return e.Err }

// ErrnoString names a system error as C does, with its text:
// "EAFNOSUPPORT: address family not supported by protocol".
func ErrnoString(err error) string {
	var e syscall.Errno
	if errors.As(err, &e) {
		if name := unix.ErrnoName(e); name != "" {
			return name + ": " + e.Error()
		}
	}
	return err.Error()
}
