package timeproto

import (
	"testing"
	"time"
)

func TestEraRollover(t *testing.T) {
	rollover := time.Date(2036, 2, 7, 6, 28, 16, 0, time.UTC)
	for _, tc := range []struct {
		t time.Time
		v uint32
	}{
		{time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), 2208988800},
		{time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), 4004467200},
		{rollover.Add(-time.Second), 0xFFFFFFFF},
		{rollover, 0},
		{rollover.Add(time.Second), 1},
		{time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC), 2016466304},
	} {
		if got := Encode(tc.t); got != tc.v {
			t.Errorf("Encode(%v) = %d, want %d", tc.t, got, tc.v)
		}
		if got := Decode(tc.v); !got.Equal(tc.t) {
			t.Errorf("Decode(%d) = %v, want %v", tc.v, got, tc.t)
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(uint32(0))
	f.Add(uint32(0x80000000))
	f.Fuzz(func(t *testing.T, v uint32) {
		if Encode(Decode(v)) != v {
			t.Fatalf("Encode(Decode(%d)) != %d", v, v)
		}
		y := Decode(v).Year()
		if y < 1968 || y > 2104 {
			t.Fatalf("Decode(%d) year %d outside the two eras", v, y)
		}
	})
}
