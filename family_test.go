package sockit_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sockit/sockit"
)

func TestParseFamilyEndpoints(t *testing.T) {
	for in, want := range map[string]sockit.Endpoint{
		"rfcomm://AA:BB:CC:DD:EE:FF/3":     {Network: "rfcomm", Address: "AA:BB:CC:DD:EE:FF/3"},
		"RFCOMM://aa:bb:cc:dd:ee:ff/30":    {Network: "rfcomm", Address: "AA:BB:CC:DD:EE:FF/30"},
		"l2cap://00:1a:7d:da:71:13/4097":   {Network: "l2cap", Address: "00:1A:7D:DA:71:13/4097"},
		"l2cap://00:1A:7D:DA:71:13/1":      {Network: "l2cap", Address: "00:1A:7D:DA:71:13/1"},
		"ipx://00000001:0000C0A80001:0451": {Network: "ipx", Address: "00000001:0000c0a80001:0451"},
		"ipx://ffffffff:ffffffffffff:ffff": {Network: "ipx", Address: "ffffffff:ffffffffffff:ffff"},
	} {
		e, err := sockit.ParseEndpoint(in, sockit.Defaults{})
		if err != nil || e != want {
			t.Errorf("ParseEndpoint(%q) = %+v, %v; want %+v", in, e, err, want)
			continue
		}
		again, err := sockit.ParseEndpoint(e.String(), sockit.Defaults{})
		if err != nil || again != e {
			t.Errorf("%q round trip: %q -> %+v, %v", in, e.String(), again, err)
		}
		if e.Host() != "" || e.Port() != 0 || e.WithFamily(4) != e {
			t.Errorf("%q: Host %q Port %d WithFamily %+v", in, e.Host(), e.Port(), e.WithFamily(4))
		}
		if e.IsPacket() != (e.Network == "ipx") {
			t.Errorf("%q: IsPacket %v", in, e.IsPacket())
		}
	}
	for in, want := range map[string]string{
		"rfcomm://AA:BB:CC:DD:EE:FF":        "want rfcomm://AA:BB:CC:DD:EE:FF/CHANNEL",
		"rfcomm://AA:BB:CC:DD:EE/3":         "not a Bluetooth address",
		"rfcomm://AA-BB-CC-DD-EE-FF/3":      "not a Bluetooth address",
		"rfcomm://AA:BB:CC:DD:EE:FF/0":      "channel 0 is not from 1 to 30",
		"rfcomm://AA:BB:CC:DD:EE:FF/31":     "channel 31",
		"rfcomm://AA:BB:CC:DD:EE:FF/x":      `"x" is not a number`,
		"l2cap://AA:BB:CC:DD:EE:FF/2":       "PSM 2 is not valid",
		"l2cap://AA:BB:CC:DD:EE:FF/257":     "PSM 257 is not valid",
		"l2cap://AA:BB:CC:DD:EE:FF/70000":   "not a number",
		"ipx://1:2:3":                       "NETWORK:NODE:SOCKET",
		"ipx://0000000g:0000c0a80001:0451":  "hex digits",
		"ipx://00000001:0000c0a80001:0451:": "NETWORK:NODE:SOCKET",
		"bluetooth://AA:BB:CC:DD:EE:FF/3":   "rfcomm, l2cap or ipx",
	} {
		_, err := sockit.ParseEndpoint(in, sockit.Defaults{})
		if err == nil || !errors.Is(err, sockit.ErrBadEndpoint) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseEndpoint(%q) = %v, want a bad endpoint error with %q", in, err, want)
		}
	}
}
