package duration

import (
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	good := map[string]time.Duration{
		"5": 5 * time.Second, "2.5": 2500 * time.Millisecond, "0.001": time.Millisecond, ".5": 500 * time.Millisecond,
		"0": 0, "-1": -time.Second, "500ms": 500 * time.Millisecond, "1m30s": 90 * time.Second, "-1s": -time.Second, " 3 ": 3 * time.Second,
	}
	for in, want := range good {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "x", "5 s", "1e300", "NaN", "Inf", "-inf", "0x10", "1_0", "5sec", "2.5.1"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, got)
		}
	}
}
