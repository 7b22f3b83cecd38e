package resolve

import (
	"context"
	"slices"
	"testing"
	"time"
)

// TestPaced: names come through in order, no faster than the rate (a lower
// bound only: a loaded machine may be slower), and a cancelled context
// ends the sequence.
func TestPaced(t *testing.T) {
	in := []string{"a", "b", "c", "d", "e", "f"}
	start := time.Now()
	got := slices.Collect(paced(context.Background(), slices.Values(in), 100))
	// The first name and a 10 ms burst may leave at once; the other four
	// wait 10 ms each at 100 a second.
	if el := time.Since(start); el < 35*time.Millisecond {
		t.Errorf("6 names at 100/s took %v, want at least 35ms", el)
	}
	if !slices.Equal(got, in) {
		t.Errorf("paced yielded %v, want %v", got, in)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := slices.Collect(paced(ctx, slices.Values(in), 1)); len(got) > 2 {
		t.Errorf("after the context ended, paced yielded %v", got)
	}
	var r Resolver
	if r.queriesPerName(false) != 2 || r.queriesPerName(true) != 1 {
		t.Error("a name costs A and AAAA, a reverse name one PTR")
	}
}
