package timeproto

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/server"
)

// Port is the well-known port (RFC 868).
const Port = 37

// offset is the seconds from 1900-01-01 to 1970-01-01.
const offset = 2208988800

// Encode returns t as an RFC 868 value; after 2036 it wraps, as the era
// rule expects.
func Encode(t time.Time) uint32 { return uint32(t.Unix() + offset) }

// Decode turns an RFC 868 value back into a time, by the era rule: top bit
// set means 1968-01-20 to 2036-02-07, clear means 2036-02-07 to 2104-02-26.
func Decode(v uint32) time.Time {
	secs := int64(v) - offset
	if v&0x80000000 == 0 {
		secs += 1 << 32
	}
	return time.Unix(secs, 0).UTC()
}

// Service returns time as a server.Service: four bytes, the seconds since
// 1900 on the clock now (nil means time.Now).
func Service(now func() time.Time) server.Service {
	if now == nil {
		now = time.Now
	}
	h := server.GreetingFunc(func(buf []byte) []byte { return binary.BigEndian.AppendUint32(buf, Encode(now())) })
	return server.Service{Name: "time", Stream: h, Packet: h}
}

// Get asks the time service at e for the time. The reply must be exactly
// four bytes. It also returns the local clock halfway through the exchange,
// so the caller can show the offset, and the number of attempts.
func Get(ctx context.Context, d *sockit.Dialer, e sockit.Endpoint, q *sockit.Query) (remote, local time.Time, attempts int, err error) {
	start := time.Now()
	c, err := d.Dial(ctx, e)
	if err != nil {
		return remote, local, 0, err
	}
	defer c.Close()
	var got []byte
	attempts = 1
	if e.IsPacket() {
		start = time.Now()
		got, attempts, err = q.Exchange(ctx, c, nil, make([]byte, 64))
	} else {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		got, err = sockit.ReadAll(c, 64)
	}
	end := time.Now()
	if err != nil {
		return remote, local, attempts, err
	}
	if len(got) != 4 {
		return remote, local, attempts, fmt.Errorf("time: reply of %d bytes, RFC 868 sends 4", len(got))
	}
	local = start.Add(end.Sub(start) / 2)
	return Decode(binary.BigEndian.Uint32(got)), local, attempts, nil
}
