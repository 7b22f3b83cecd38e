package serve

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"

	"github.com/sockit/sockit/internal/accesslog"
)

// NewLogger is serve's logger, writing to w (stderr) in format, text or
// json, at level and above (debug, info, warn or error): durations as
// "1.5s" in both formats, and no time stamp on text lines that go to the
// journal (journald stamps each itself). The lines pass through a bounded
// buffer that one goroutine writes out, so a stderr nobody reads (a full
// pipe, a stuck journald) makes no event loop, drain or exit wait;
// closeLog writes the last lines out, giving them 2s at most. A format
// or level it does not know is a mistake of its flag (Errors).
func NewLogger(w io.Writer, format, level string) (logger *slog.Logger, closeLog func(), err error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, Errors{{Flag: "log-level", Msg: fmt.Sprintf("is debug, info, warn or error, not %q", level)}}
	}
	format = strings.ToLower(format)
	if format != "text" && format != "json" {
		return nil, nil, Errors{{Flag: "log-format", Msg: fmt.Sprintf("is text or json, not %q", format)}}
	}
	noTime := format == "text" && toJournal(w)
	ho := &slog.HandlerOptions{Level: lv, ReplaceAttr: func(groups []string, at slog.Attr) slog.Attr {
		switch {
		case noTime && len(groups) == 0 && at.Key == slog.TimeKey:
			return slog.Attr{} // journald stamps every line itself
		case at.Value.Kind() == slog.KindDuration:
			// "1.5s" in both formats, not JSON's integer nanoseconds.
			return slog.String(at.Key, at.Value.Duration().String())
		}
		return at
	}}
	out := accesslog.Stream(w)
	if format == "json" {
		logger = slog.New(slog.NewJSONHandler(out, ho))
	} else {
		logger = slog.New(slog.NewTextHandler(out, ho))
	}
	out.SetLog(logger)
	return logger, func() { out.Close() }, nil
}

// toJournal reports whether w is the stream systemd connected to the
// journal: JOURNAL_STREAM holds its device and inode (systemd.exec(5)).
func toJournal(w io.Writer) bool {
	f, ok := w.(*os.File)
	js := os.Getenv("JOURNAL_STREAM")
	if !ok || js == "" {
		return false
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		return false
	}
	return js == fmt.Sprintf("%d:%d", st.Dev, st.Ino)
}
