package httpraw

import "net/netip"

// WatchRequests makes r tell fn of every request its sessions frame: its
// method, target and response status when it is answered (whole false),
// and again with its body once that has been read (whole).
func WatchRequests(r *Responder, fn func(peer netip.AddrPort, method, target string, status int, body []byte, whole bool)) {
	r.watch = fn
}
