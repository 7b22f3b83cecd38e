//go:build !linux

package resolve

import (
	"context"
	"iter"
)

// bulk resolves through Each where the bulk engine (Linux's system calls)
// is not built: Window lookups in flight, each with its own exchange, the
// names paced to keep the queries within Rate.
func (r *Resolver) bulk(ctx context.Context, names iter.Seq[string], opt BulkOptions, emit func(Result) error) error {
	if opt.Rate > 0 {
		names = paced(ctx, names, opt.Rate/float64(r.queriesPerName(opt.Reverse)))
	}
	return r.Each(ctx, names, bulkWindow(opt), opt.Reverse, emit)
}
