// Package duration reads the one form every time value of sockit takes, on
// the command line and in serve's config file alike: bare, possibly
// fractional, seconds as curl and ab take them (-m 5, --connect-timeout
// 2.5), or a Go duration (500ms, 1m30s).
package duration

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Help says what Parse takes, for a flag's usage.
const Help = "seconds (5, 2.5) or a duration (500ms, 1m30s)"

// Parse reads bare seconds ("5", "2.5", "-1") or a Go duration ("500ms").
func Parse(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(t, 64); err == nil && !strings.ContainsAny(t, "xXpP_") {
		ns := math.Round(f * float64(time.Second))
		if math.IsNaN(ns) || ns >= math.MaxInt64 || ns <= math.MinInt64 {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return time.Duration(ns), nil
	}
	d, err := time.ParseDuration(t)
	if err != nil {
		return 0, fmt.Errorf("%q is neither seconds (5, 2.5) nor a duration (500ms, 1m30s)", s)
	}
	return d, nil
}
