package report

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sockit/sockit/bench"
)

// File is an output file a command was asked for: the flag that named it
// (for the messages) and its path ("" for none).
type File struct{ Flag, Path string }

// Paths are the files a run writes besides its report on stdout.
type Paths struct {
	HTML, CSV, OpenMetrics, Percentiles, Gnuplot File
}

// Outputs are a run's output files, opened before the run so a bad path
// fails at once instead of throwing a finished run away, with the writers
// over them to flush before they close.
type Outputs struct {
	paths   Paths
	files   map[string]*os.File // by flag
	flushes []func() error
}

// OpenOutputs creates the files named; none is left open on an error,
// which names the flag.
func OpenOutputs(p Paths) (*Outputs, error) {
	outs := &Outputs{paths: p, files: map[string]*os.File{}}
	for _, f := range []File{p.CSV, p.Gnuplot, p.HTML, p.OpenMetrics, p.Percentiles} {
		if f.Path == "" {
			continue
		}
		fh, err := os.Create(f.Path)
		if err != nil {
			outs.Close()
			return nil, fmt.Errorf("%s: %w", f.Flag, err)
		}
		outs.files[f.Flag] = fh
	}
	return outs, nil
}

func (o *Outputs) file(f File) *os.File {
	if f.Path == "" {
		return nil
	}
	return o.files[f.Flag]
}

// Close flushes and closes the files and returns the first error, naming
// its flag.
func (o *Outputs) Close() error {
	var first error
	for _, f := range o.flushes {
		if err := f(); err != nil && first == nil {
			first = err
		}
	}
	for _, flag := range slices.Sorted(maps.Keys(o.files)) {
		if err := o.files[flag].Close(); err != nil && first == nil {
			first = fmt.Errorf("%s: %w", flag, err)
		}
	}
	return first
}

// Record returns the bench.Config.Record of the per-request outputs (the
// CSV, gnuplot's, and ab's -v at verbose 2 or more, on stderr), nil if
// none; their flush errors come from Close.
func (o *Outputs) Record(stderr io.Writer, verbose int) func(bench.Record) {
	var sinks []func(bench.Record)
	if fh := o.file(o.paths.CSV); fh != nil {
		cw := NewCSVWriter(fh)
		sinks = append(sinks, cw.Record)
		o.onClose(o.paths.CSV.Flag, cw.Flush)
	}
	if fh := o.file(o.paths.Gnuplot); fh != nil {
		gw := NewGnuplotWriter(fh)
		sinks = append(sinks, gw.Record)
		o.onClose(o.paths.Gnuplot.Flag, gw.Flush)
	}
	if verbose >= 2 {
		sinks = append(sinks, Verbose(stderr, verbose))
	}
	switch len(sinks) {
	case 0:
		return nil
	case 1:
		return sinks[0]
	}
	return func(r bench.Record) {
		for _, s := range sinks {
			s(r)
		}
	}
}

// onClose has flush run, its error named by flag, before the files close.
func (o *Outputs) onClose(flag string, flush func() error) {
	o.flushes = append(o.flushes, func() error {
		if err := flush(); err != nil {
			return fmt.Errorf("%s: %w", flag, err)
		}
		return nil
	})
}

// Options are how a run's reports are written.
type Options struct {
	JSON, Marked bool // --json, --json-markers
	ABHTML       bool // ab's -w
	Quiet        bool // of sockit's stderr lines only warnings, hints and an interruption
	Text         TextOptions
}

// Write writes the files asked for, then stdout's report and sockit's
// lines on stderr.
func (o *Outputs) Write(stdout, stderr io.Writer, res *bench.Result, opt Options) error {
	for _, w := range []struct {
		f     File
		write func(io.Writer) error
	}{
		{o.paths.HTML, func(w io.Writer) error { return WriteHTML(w, Named{Name: res.Target, Result: res}) }},
		{o.paths.OpenMetrics, func(w io.Writer) error { return WriteOpenMetrics(w, res) }},
		{o.paths.Percentiles, func(w io.Writer) error { return WritePercentiles(w, res) }},
	} {
		if fh := o.file(w.f); fh != nil {
			if err := w.write(fh); err != nil {
				return fmt.Errorf("%s: %w", w.f.Flag, err)
			}
		}
	}
	var err error
	switch {
	case opt.Marked:
		err = WriteJSONMarked(stdout, res)
	case opt.JSON:
		err = WriteJSON(stdout, res)
	case opt.ABHTML:
		err = WriteABHTML(stdout, res)
	default:
		err = WriteText(stdout, res, opt.Text)
	}
	if err != nil {
		return err
	}
	if !opt.JSON && !opt.Marked && !opt.Quiet {
		return WriteExtras(stderr, res)
	}
	// The JSON holds the rest (-q asks for less); what needs a person's eye
	// is said.
	for _, w := range Warnings(res) {
		fmt.Fprintf(stderr, "sockit: warning: %s\n", w)
	}
	for _, l := range []string{res.Idle, res.Hint, NotHTTPNote(res)} {
		if l != "" {
			fmt.Fprintf(stderr, "sockit: %s\n", l)
		}
	}
	if res.Interrupted {
		fmt.Fprintf(stderr, "sockit: interrupted: %d requests completed, %d cut off\n", res.Requests, res.Cut)
	}
	return nil
}

// AllFailed says why a run where not one request succeeded failed ("" if
// one did): the command's error, as ab exits on its socket error.
func AllFailed(res *bench.Result) string {
	if res.Requests == 0 || res.Failed() != res.Requests {
		return ""
	}
	why := ""
	if res.FirstError != "" {
		why = ": " + res.FirstError
	}
	return fmt.Sprintf("every request failed (%s)%s", FailureList(res.Failures), why)
}

// FailureList writes failure counts as "connect 10, timeout 2".
func FailureList(m map[string]int64) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// Verbose is ab's -v as a bench.Config.Record: at 2 a warning per non-2xx
// response, at 3 every response's status, on w (ab writes them to stdout,
// into the report a parser reads; sockit keeps stdout ab's report alone).
func Verbose(w io.Writer, level int) func(bench.Record) {
	var mu sync.Mutex
	return func(r bench.Record) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case r.Status != 0 && (r.Status < 200 || r.Status > 299):
			fmt.Fprintf(w, "WARNING: Response code not 2xx (%d)\n", r.Status)
		case level >= 3 && r.Status != 0:
			fmt.Fprintf(w, "LOG: Response code = %d\n", r.Status)
		}
		if level >= 3 && r.Error != "" {
			fmt.Fprintf(w, "LOG: request failed: %s\n", r.Error)
		}
	}
}

// SameFiles refuses a report file given twice (by two names too): its
// counts would be added twice.
func SameFiles(paths []string) error {
	type file struct {
		path string
		fi   os.FileInfo
	}
	var seen []file
	for _, p := range paths {
		fi, err := os.Stat(p)
		if p == "-" || err != nil {
			continue // stdin, or a file ReadFiles will say it cannot read
		}
		for _, f := range seen {
			switch {
			case os.SameFile(f.fi, fi) && f.path == p:
				return fmt.Errorf("%s is given twice: its counts would be added twice (--force merges anyway)", p)
			case os.SameFile(f.fi, fi):
				return fmt.Errorf("%s and %s are the same file: its counts would be added twice (--force merges anyway)", f.path, p)
			}
		}
		seen = append(seen, file{p, fi})
	}
	return nil
}

// ReadFiles reads the reports in files (- is stdin): JSON reports, or
// logs holding reports between markers; a file without one is an error.
func ReadFiles(stdin io.Reader, files []string) ([]Named, error) {
	var rs []Named
	for _, p := range files {
		var (
			b   []byte
			err error
		)
		if p == "-" {
			b, err = io.ReadAll(stdin)
			p = "stdin"
		} else {
			b, err = os.ReadFile(p)
		}
		if err != nil {
			return nil, err
		}
		got, err := ReadReports(p, b)
		if err != nil {
			return nil, err
		}
		if len(got) == 0 {
			return nil, fmt.Errorf("%s holds no report", p)
		}
		rs = append(rs, got...)
	}
	return rs, nil
}

// WriteFile creates path and writes it with write.
func WriteFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadOne reads the one report in file (- is stdin), as ReadFiles; a file
// holding several is an error.
func ReadOne(stdin io.Reader, file string) (Named, error) {
	rs, err := ReadFiles(stdin, []string{file})
	if err == nil && len(rs) != 1 {
		err = fmt.Errorf("%s holds %d reports; merge them first", file, len(rs))
	}
	if err != nil {
		return Named{}, err
	}
	return rs[0], nil
}

// Progress is a bench.Config.Progress writing a running count on one line
// of w (a terminal's), rewritten each time.
func Progress(w io.Writer) func(done, failed int64, elapsed time.Duration) {
	return func(done, failed int64, el time.Duration) {
		fmt.Fprintf(w, "\r%d requests, %.0f/s, %d failed ", done, float64(done)/el.Seconds(), failed)
	}
}
