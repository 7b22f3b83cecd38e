package packet

import (
	"net"
	"strings"
)

// Interface is what a packet user wants to know of a network interface
// first: `sockit interfaces` prints it.
type Interface struct {
	Index  int      `json:"index"`
	Name   string   `json:"name"`
	MTU    int      `json:"mtu"`
	Flags  []string `json:"flags"`
	Link   string   `json:"link"` // ether, loopback, none, or the ARPHRD number
	HWAddr string   `json:"hwaddr,omitempty"`
	Addrs  []string `json:"addrs"`
	// Families lists the address families the interface carries: packet
	// (AF_PACKET, every interface, on Linux), inet and inet6 where it has
	// addresses.
	Families []string `json:"families"`
}

// Interfaces lists the host's interfaces in index order.
func Interfaces() ([]Interface, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	out := make([]Interface, 0, len(ifs))
	for _, ifi := range ifs {
		in := Interface{Index: ifi.Index, Name: ifi.Name, MTU: ifi.MTU, HWAddr: ifi.HardwareAddr.String(), Addrs: []string{}}
		for _, f := range strings.Split(ifi.Flags.String(), "|") {
			if f != "0" && f != "" {
				in.Flags = append(in.Flags, strings.ToUpper(f))
			}
		}
		in.Link = linkName(ifi)
		in.Families = linkFamilies()
		var v4, v6 bool
		if addrs, err := ifi.Addrs(); err == nil {
			for _, a := range addrs {
				in.Addrs = append(in.Addrs, a.String())
				if ipn, ok := a.(*net.IPNet); ok {
					if ipn.IP.To4() != nil {
						v4 = true
					} else {
						v6 = true
					}
				}
			}
		}
		if v4 {
			in.Families = append(in.Families, "inet")
		}
		if v6 {
			in.Families = append(in.Families, "inet6")
		}
		out = append(out, in)
	}
	return out, nil
}
