package resolve

import (
	"context"
	"iter"
)

// Result is the outcome for one name of a batch.
type Result struct {
	Name  string
	Addrs []string // addresses, or names for a reverse lookup
	Err   error
}

// Each resolves names with up to concurrency lookups in flight and calls emit
// with the results in input order, as soon as each one and all before it are
// done. With reverse set, names are addresses looked up by PTR. It returns
// when the input is exhausted and every result emitted, or the context ends,
// or emit returns an error (which it returns). It spends a goroutine per
// lookup in flight, which suits the system resolver; for many names asked
// of one Server, Bulk is the faster way.
func (r *Resolver) Each(ctx context.Context, names iter.Seq[string], concurrency int, reverse bool, emit func(Result) error) error {
	if concurrency < 1 {
		concurrency = 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// pending holds one slot per name in input order; its capacity bounds how
	// far lookups run ahead of the slowest unfinished one.
	pending := make(chan chan Result, concurrency)
	go func() {
		defer close(pending)
		for name := range names {
			slot := make(chan Result, 1)
			select {
			case pending <- slot:
			case <-ctx.Done():
				return
			}
			go func() { slot <- r.one(ctx, name, reverse) }()
		}
	}()
	var err error
	for slot := range pending {
		res := <-slot
		if err == nil && ctx.Err() == nil {
			err = emit(res)
			if err != nil {
				cancel()
			}
		}
	}
	if err == nil {
		err = ctx.Err()
	}
	return err
}

func (r *Resolver) one(ctx context.Context, name string, reverse bool) Result {
	if reverse {
		names, err := r.Reverse(ctx, name)
		return Result{Name: name, Addrs: names, Err: err}
	}
	addrs, err := r.Lookup(ctx, name)
	res := Result{Name: name, Err: err}
	for _, a := range addrs {
		res.Addrs = append(res.Addrs, a.String())
	}
	return res
}
