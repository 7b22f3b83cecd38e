package daytime

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sockit/sockit"
	"github.com/sockit/sockit/server"
)

// Port is the well-known port (RFC 867).
const Port = 13

// Formats the server can send.
const (
	FormatNIST   = "nist"
	FormatRFC822 = "rfc822"
	FormatCtime  = "ctime"
)

// FormatXinetd is the line xinetd's internal daytime sends ("24 NOV 2026
// 19:02:28 UTC"): Parse reads it, the server does not send it.
const FormatXinetd = "xinetd"

// mjdUnixEpoch is the Modified Julian Date of 1970-01-01.
const mjdUnixEpoch = 40587

// MJD returns the Modified Julian Date of t (days since 1858-11-17 UTC).
func MJD(t time.Time) int {
	return int(floorDiv(t.Unix(), 86400)) + mjdUnixEpoch
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// nthSunday returns the date (UTC midnight) of the nth Sunday of month.
func nthSunday(year int, month time.Month, n int) time.Time {
	d := time.Date(year, month, 1, 0, 0, 0, 0, time.UTC)
	d = d.AddDate(0, 0, (7-int(d.Weekday()))%7)
	return d.AddDate(0, 0, 7*(n-1))
}

// DSTCode returns NIST's TT for the UTC date of t, by United States rules
// (DST from the second Sunday of March to the first Sunday of November).
// NIST: 00 in standard time, 50 in DST; during the month of a change the
// code counts down the days — from 50+n to 51 in March, from n to 1 in
// November — reaching 51 or 1 on the day of the change. sockit changes the
// code at 00:00 UTC, not at 2 a.m. local time.
func DSTCode(t time.Time) int {
	t = t.UTC()
	day := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	start := nthSunday(t.Year(), time.March, 2)
	end := nthSunday(t.Year(), time.November, 1)
	daysTo := func(to time.Time) int { return int(to.Sub(day).Hours()/24) + 1 }
	switch {
	case t.Month() == time.March && !day.After(start):
		return 50 + daysTo(start)
	case t.Month() == time.November && !day.After(end):
		return daysTo(end)
	case day.After(start) && day.Before(end):
		return 50
	}
	return 0
}

// Format renders t in one of the formats, with the line ends each uses.
func Format(t time.Time, format string) string {
	t = t.UTC()
	switch format {
	case FormatRFC822:
		return t.Format(time.RFC1123Z) + "\r\n"
	case FormatCtime:
		return t.Format(time.ANSIC) + "\r\n"
	}
	return "\n" + fmt.Sprintf("%05d %s %02d %d %d %5.1f UTC(NIST) * ",
		MJD(t), t.Format("06-01-02 15:04:05"), DSTCode(t), 0, 0, 0.0) + "\n"
}

// ValidFormat reports whether format is one Format knows.
func ValidFormat(format string) bool {
	return format == FormatNIST || format == FormatRFC822 || format == FormatCtime
}

// NIST is a parsed NIST daytime line.
type NIST struct {
	MJD       int       `json:"mjd"`
	Time      time.Time `json:"time"`
	DST       int       `json:"dst"`
	Leap      int       `json:"leap"`
	Health    int       `json:"health"`
	AdvanceMs float64   `json:"advance_ms"`
	Source    string    `json:"source"`
}

// ParseNIST reads a NIST daytime line; surrounding whitespace is ignored.
// The date must agree with the MJD, which also gives the century.
func ParseNIST(s string) (NIST, error) {
	f := strings.Fields(s)
	var n NIST
	if len(f) < 8 {
		return n, fmt.Errorf("daytime: %d fields, a NIST line has 9", len(f))
	}
	bad := func(what string) (NIST, error) {
		return NIST{}, fmt.Errorf("daytime: bad %s in NIST line %q", what, strings.TrimSpace(s))
	}
	mjd, err := strconv.Atoi(f[0])
	if err != nil || mjd < 0 || mjd > 999999 {
		return bad("MJD")
	}
	n.MJD = mjd
	t, err := time.Parse("06-01-02 15:04:05", f[1]+" "+f[2])
	if err != nil {
		return bad("date or time")
	}
	day := time.Unix(int64(mjd-mjdUnixEpoch)*86400, 0).UTC()
	if day.Year()%100 != t.Year()%100 || day.Month() != t.Month() || day.Day() != t.Day() {
		return bad("date (it disagrees with the MJD)")
	}
	n.Time = time.Date(day.Year(), day.Month(), day.Day(), t.Hour(), t.Minute(), t.Second(), 0, time.UTC)
	ints := []*int{&n.DST, &n.Leap, &n.Health}
	names := []string{"DST code", "leap indicator", "health"}
	limits := []int{99, 3, 9}
	for i, p := range ints {
		v, err := strconv.Atoi(f[3+i])
		if err != nil || v < 0 || v > limits[i] {
			return bad(names[i])
		}
		*p = v
	}
	n.AdvanceMs, err = strconv.ParseFloat(f[6], 64)
	if err != nil || n.AdvanceMs < 0 || n.AdvanceMs > 100000 {
		return bad("advance")
	}
	n.Source = f[7]
	return n, nil
}

// Line is a daytime line read in any of the formats sockit's server sends,
// or in xinetd's.
type Line struct {
	Format string    `json:"format"` // nist, rfc822, ctime or xinetd
	Time   time.Time `json:"time"`
	NIST   *NIST     `json:"-"` // the NIST fields, for a NIST line
}

// Parse reads a daytime line in NIST's format, RFC 1123's date (rfc822,
// with a numeric or named zone), C's asctime layout (ctime, taken as UTC,
// as sockit and inetd send it) or xinetd's; surrounding whitespace is
// ignored. RFC 867 sets no syntax: a line in none of these is still a
// valid answer, only not one Parse can read.
func Parse(s string) (Line, error) {
	n, nerr := ParseNIST(s)
	if nerr == nil {
		return Line{Format: FormatNIST, Time: n.Time, NIST: &n}, nil
	}
	t := strings.TrimSpace(s)
	for _, l := range []string{time.RFC1123Z, time.RFC1123} {
		if at, err := time.Parse(l, t); err == nil {
			return Line{Format: FormatRFC822, Time: at}, nil
		}
	}
	if at, err := time.Parse(time.ANSIC, t); err == nil {
		return Line{Format: FormatCtime, Time: at.UTC()}, nil
	}
	if at, err := time.Parse("02 Jan 2006 15:04:05 MST", t); err == nil {
		return Line{Format: FormatXinetd, Time: at}, nil
	}
	if strings.Contains(t, "UTC(NIST)") {
		return Line{}, nerr
	}
	return Line{}, fmt.Errorf("daytime: %q is in none of the nist, rfc822, ctime and xinetd formats", t)
}

// Service returns daytime as a server.Service: the time of day in format
// (one of the Format constants; "" means nist) on the clock now (nil means
// time.Now).
func Service(format string, now func() time.Time) server.Service {
	if now == nil {
		now = time.Now
	}
	h := server.GreetingFunc(func(buf []byte) []byte { return append(buf, Format(now(), format)...) })
	return server.Service{Name: "daytime", Stream: h, Packet: h}
}

// Get asks the daytime service at e for its line: a connection read to its
// close (TCP, as the brief does) or one empty datagram (UDP). It also
// returns the local clock midway through the exchange and the attempts.
func Get(ctx context.Context, d *sockit.Dialer, e sockit.Endpoint, q *sockit.Query) (line string, local time.Time, attempts int, err error) {
	c, err := d.Dial(ctx, e)
	if err != nil {
		return "", local, 0, err
	}
	defer c.Close()
	start := time.Now()
	var got []byte
	attempts = 1
	if e.IsPacket() {
		got, attempts, err = q.Exchange(ctx, c, nil, make([]byte, server.MaxDatagram))
	} else {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		defer stop()
		got, err = sockit.ReadAll(c, 4096)
	}
	end := time.Now()
	if err == nil && len(strings.TrimSpace(string(got))) == 0 {
		err = errors.New("daytime: empty reply (RFC 867 sends the date and time)")
	}
	return string(got), start.Add(end.Sub(start) / 2), attempts, err
}
