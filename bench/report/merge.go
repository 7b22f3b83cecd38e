package report

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/sockit/sockit/bench"
)

// The lines around a JSON report in a log stream (--json-markers), so
// `kubectl logs` of a Job's pods can be piped to `sockit bench merge -`.
const (
	MarkerBegin = "--- sockit bench result begin ---"
	MarkerEnd   = "--- sockit bench result end ---"
)

// WriteJSONMarked writes the JSON report between the marker lines.
func WriteJSONMarked(w io.Writer, r *bench.Result) error {
	if _, err := fmt.Fprintln(w, MarkerBegin); err != nil {
		return err
	}
	if err := WriteJSON(w, r); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, MarkerEnd)
	return err
}

// Named is a report and the name errors call it by (a file, or a block of
// a log stream).
type Named struct {
	Name string
	*bench.Result
}

// ReadReports reads the reports in data, named name: either one JSON
// report, or every block between the markers, wherever they are in a log.
// A line may carry a prefix before the marker (kubectl logs --prefix
// writes "[pod/NAME/CONTAINER] "): the block's lines are the ones with the
// same prefix, so pods' interleaved lines do not mix.
func ReadReports(name string, data []byte) ([]Named, error) {
	if !bytes.Contains(data, []byte(MarkerBegin)) {
		r, err := FromJSON(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		return []Named{{name, r}}, nil
	}
	type block struct {
		line int
		buf  bytes.Buffer
	}
	var (
		out  []Named
		open = map[string]*block{}
		sc   = bufio.NewScanner(bytes.NewReader(data))
		n    int
	)
	sc.Buffer(nil, 64<<20) // a report's histograms are long lines
	for sc.Scan() {
		n++
		line := sc.Text()
		if i := strings.Index(line, MarkerBegin); i >= 0 {
			prefix := line[:i]
			if b := open[prefix]; b != nil {
				return nil, fmt.Errorf("%s:%d: a report begins before the one begun at line %d ends", name, n, b.line)
			}
			open[prefix] = &block{line: n}
			continue
		}
		// The longest prefix that matches owns the line.
		prefix, b := "", (*block)(nil)
		for p, ob := range open {
			if strings.HasPrefix(line, p) && (b == nil || len(p) > len(prefix)) {
				prefix, b = p, ob
			}
		}
		if b == nil {
			continue
		}
		rest := line[len(prefix):]
		if strings.TrimSpace(rest) != MarkerEnd {
			b.buf.WriteString(rest)
			b.buf.WriteByte('\n')
			continue
		}
		bname := fmt.Sprintf("%s:%d", name, b.line)
		if p := strings.TrimSpace(prefix); p != "" {
			bname += " " + p
		}
		r, err := FromJSON(b.buf.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", bname, err)
		}
		out = append(out, Named{bname, r})
		delete(open, prefix)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	for _, b := range open {
		return nil, fmt.Errorf("%s:%d: the report begun here never ends (a truncated log? kubectl logs -l ... shows only 10 lines per pod unless --tail=-1)", name, b.line)
	}
	return out, nil
}

// MergeOptions are MergeRun's choices.
type MergeOptions struct {
	// Force merges what MergeRun would refuse: reports of different runs
	// or loads, a report given twice, an incomplete set of shards.
	Force bool
}

// MergeRun combines the reports of one run. They must be of one run id
// and one load (options hash), each report once; shards must all be
// there, once each. The error names the reports that disagree. Reports
// without shards (runs made side by side by hand) merge as Merge does.
//
// Counts and HDR histograms add exactly; percentiles come from the merged
// histogram, never averaged. Per-second series are aligned on each
// report's start time (to the nearest second), and the duration spans from
// the first start to the last end.
func MergeRun(rs []Named, opt MergeOptions) (*bench.Result, error) {
	if len(rs) == 0 {
		return nil, errors.New("no report to merge")
	}
	if !opt.Force {
		if err := mergeable(rs); err != nil {
			return nil, err
		}
	}
	first := rs[0]
	out := bench.NewResult()
	out.RunID, out.OptionsHash = first.RunID, first.OptionsHash
	var t0, end time.Time
	for _, r := range rs {
		if r.Start.IsZero() {
			t0 = time.Time{}
			break
		}
		if t0.IsZero() || r.Start.Before(t0) {
			t0 = r.Start
		}
	}
	for _, r := range rs {
		off := 0
		if !t0.IsZero() {
			off = int(math.Round(r.Start.Sub(t0).Seconds()))
			if r.Idle == "" {
				if e := r.Start.Add(r.Warmup + r.Duration); e.After(end) {
					end = e
				}
				out.StartSkew = max(out.StartSkew, r.Start.Sub(t0))
			}
		}
		out.AddAt(r.Result, off)
		out.Rate += r.Rate
		out.Warmup = max(out.Warmup, r.Warmup)
		out.Interrupted = out.Interrupted || r.Interrupted
	}
	out.Start = t0
	if !t0.IsZero() && !end.IsZero() {
		out.Duration = end.Sub(t0) - out.Warmup
	}
	return out, nil
}

// mergeable refuses reports that do not add up to one run.
func mergeable(rs []Named) error {
	first := rs[0]
	for i, r := range rs[1:] {
		if r.RunID != first.RunID {
			return fmt.Errorf("%s is run %q but %s is run %q: refusing to merge different runs (--force merges anyway)", first.Name, first.RunID, r.Name, r.RunID)
		}
		if (r.Shard.Count == 0) != (first.Shard.Count == 0) {
			sharded, whole := first, r
			if first.Shard.Count == 0 {
				sharded, whole = r, first
			}
			return fmt.Errorf("%s is shard %s but %s is a whole run: refusing to merge them", sharded.Name, sharded.Shard, whole.Name)
		}
		if r.OptionsHash != first.OptionsHash {
			return fmt.Errorf("%s and %s were asked for different loads (%s, options hash %s; %s, options hash %s): refusing to merge (--force merges anyway)",
				first.Name, r.Name, first.Target, first.OptionsHash, r.Target, r.OptionsHash)
		}
		if r.Shard.Count != first.Shard.Count {
			return fmt.Errorf("%s is shard %s but %s is shard %s: different shard counts", first.Name, first.Shard, r.Name, r.Shard)
		}
		for _, o := range rs[:i+1] {
			if sameRun(o.Result, r.Result) {
				return fmt.Errorf("%s and %s are the same report (one run, started %s): its counts would be added twice (--force merges anyway)",
					o.Name, r.Name, r.Start.UTC().Format(time.RFC3339Nano))
			}
		}
	}
	if n := first.Shard.Count; n > 0 {
		by := make([]string, n+1)
		for _, r := range rs {
			if prev := by[r.Shard.Index]; prev != "" {
				return fmt.Errorf("shard %s appears twice: %s and %s", r.Shard, prev, r.Name)
			}
			by[r.Shard.Index] = r.Name
		}
		var missing, have []string
		for i := 1; i <= n; i++ {
			if by[i] == "" {
				missing = append(missing, fmt.Sprintf("%d/%d", i, n))
			} else {
				have = append(have, fmt.Sprintf("%d/%d %s", i, n, by[i]))
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("run %q: shard %s missing (have %s)", first.RunID, strings.Join(missing, ", "), strings.Join(have, ", "))
		}
	}
	return nil
}

// sameRun reports whether a and b are one run's report (copies of one
// file): the same start, shard, load and counts.
func sameRun(a, b *bench.Result) bool {
	return !a.Start.IsZero() && a.Start.Equal(b.Start) && a.Shard == b.Shard && a.OptionsHash == b.OptionsHash &&
		a.Requests == b.Requests && a.Latency.Equals(b.Latency)
}
