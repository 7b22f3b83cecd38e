package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/sockit/sockit/internal/duration"
)

// durationValue is the one type of every time flag: bare, possibly
// fractional, seconds as curl and ab take them (-m 5, --connect-timeout
// 2.5), or a Go duration (500ms, 1m30s).
type durationValue time.Duration

// durationHelp ends the usage of every time flag, so --help says what it takes.
const durationHelp = "; " + duration.Help

// durationVarP defines a time flag; see durationValue.
func durationVarP(fs *pflag.FlagSet, p *time.Duration, name, shorthand string, value time.Duration, usage string) {
	*p = value
	fs.VarP((*durationValue)(p), name, shorthand, usage+durationHelp)
}

// durationVar is durationVarP without a shorthand.
func durationVar(fs *pflag.FlagSet, p *time.Duration, name string, value time.Duration, usage string) {
	durationVarP(fs, p, name, "", value, usage)
}

func (d *durationValue) Set(s string) error {
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	*d = durationValue(v)
	return nil
}

func (d *durationValue) String() string {
	if *d == 0 {
		return "0" // pflag then leaves out "(default 0)"
	}
	return time.Duration(*d).String()
}

func (d *durationValue) Type() string { return "time" }

// parseDuration reads bare seconds ("5", "2.5", "-1") or a Go duration.
func parseDuration(s string) (time.Duration, error) { return duration.Parse(s) }
