package resolve

import (
	"context"
	"iter"
	"time"
)

// queriesPerName is how many queries one name costs: a PTR, or A and
// AAAA unless Family keeps one of them.
func (r *Resolver) queriesPerName(reverse bool) int {
	if reverse || r.Family == 4 || r.Family == 6 {
		return 1
	}
	return 2
}

// paced yields names at most perSecond a second (after an idle spell, a
// burst of at most 10 ms of the rate), until ctx ends. Outside Linux Bulk
// paces its names so, resolving through Each.
func paced(ctx context.Context, names iter.Seq[string], perSecond float64) iter.Seq[string] {
	interval := time.Duration(float64(time.Second) / perSecond)
	return func(yield func(string) bool) {
		var next time.Time
		for name := range names {
			now := time.Now()
			if floor := now.Add(-10 * time.Millisecond); next.Before(floor) {
				next = floor
			}
			if wait := next.Sub(now); wait > 0 {
				t := time.NewTimer(wait)
				select {
				case <-t.C:
				case <-ctx.Done():
					t.Stop()
					return
				}
			}
			next = next.Add(interval)
			if !yield(name) {
				return
			}
		}
	}
}
