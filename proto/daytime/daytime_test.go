package daytime

import (
	"strings"
	"testing"
	"time"
)

func TestBriefSampleParses(t *testing.T) {
	n, err := ParseNIST("59638 22-02-28 04:16:20 00 0 0 125.0 UTC(NIST) * \n")
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2022, 2, 28, 4, 16, 20, 0, time.UTC)
	if n.MJD != 59638 || !n.Time.Equal(want) || n.AdvanceMs != 125 || n.Source != "UTC(NIST)" {
		t.Errorf("parsed %+v", n)
	}
}

func TestFormatNIST(t *testing.T) {
	at := time.Date(2022, 2, 28, 4, 16, 20, 0, time.UTC)
	line := Format(at, FormatNIST)
	if line != "\n59638 22-02-28 04:16:20 00 0 0   0.0 UTC(NIST) * \n" {
		t.Errorf("Format = %q", line)
	}
	n, err := ParseNIST(line)
	if err != nil || !n.Time.Equal(at) {
		t.Errorf("round trip: %+v %v", n, err)
	}
}

func TestDSTCode(t *testing.T) {
	for _, tc := range []struct {
		day  string
		want int
	}{
		{"2026-01-15", 0},  // standard time
		{"2026-02-28", 0},  // the month before the change: no countdown
		{"2026-03-01", 58}, // DST starts 2026-03-08: 50 + 8 days, counting the day itself
		{"2026-03-07", 52},
		{"2026-03-08", 51}, // the day of the change
		{"2026-03-09", 50},
		{"2026-07-01", 50},
		{"2026-10-31", 50},
		{"2026-11-01", 1}, // DST ends on 2026-11-01 itself
		{"2026-11-02", 0},
		{"2027-11-01", 7}, // DST ends 2027-11-07
		{"2026-12-31", 0},
	} {
		d, _ := time.Parse("2006-01-02", tc.day)
		if got := DSTCode(d.Add(12 * time.Hour)); got != tc.want {
			t.Errorf("DSTCode(%s) = %d, want %d", tc.day, got, tc.want)
		}
	}
}

func TestParseNISTRejects(t *testing.T) {
	for _, s := range []string{
		"",
		"59638 22-02-28 04:16:20 00 0 0",
		"59639 22-02-28 04:16:20 00 0 0 0.0 UTC(NIST) *", // MJD disagrees
		"59638 22-02-30 04:16:20 00 0 0 0.0 UTC(NIST) *",
		"59638 22-02-28 04:16:20 00 7 0 0.0 UTC(NIST) *",
		"x 22-02-28 04:16:20 00 0 0 0.0 UTC(NIST) *",
		"59638 22-02-28 04:16:20 00 0 0 -1 UTC(NIST) *",
	} {
		if _, err := ParseNIST(s); err == nil {
			t.Errorf("ParseNIST(%q) accepted", s)
		}
	}
}

func TestOtherFormats(t *testing.T) {
	at := time.Date(2026, 11, 24, 19, 0, 0, 0, time.UTC)
	if got := Format(at, FormatCtime); got != "Tue Nov 24 19:00:00 2026\r\n" {
		t.Errorf("ctime: %q", got)
	}
	if got := Format(at, FormatRFC822); !strings.HasPrefix(got, "Tue, 24 Nov 2026 19:00:00 +0000") {
		t.Errorf("rfc822: %q", got)
	}
}

func FuzzParseNIST(f *testing.F) {
	f.Add("59638 22-02-28 04:16:20 00 0 0 125.0 UTC(NIST) * ")
	f.Add("\n61368 26-11-24 19:00:57 50 1 2   0.0 UTC(NIST) * \n")
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseNIST(s)
		if err != nil {
			return
		}
		if MJD(n.Time) != n.MJD {
			t.Fatalf("accepted %q with MJD %d but date %v", s, n.MJD, n.Time)
		}
	})
}

// TestParseEveryFormat: Parse reads back each format Format writes.
func TestParseEveryFormat(t *testing.T) {
	at := time.Date(2026, 11, 24, 19, 0, 57, 0, time.UTC)
	for _, f := range []string{FormatNIST, FormatRFC822, FormatCtime} {
		l, err := Parse(Format(at, f))
		if err != nil || l.Format != f || !l.Time.Equal(at) || (l.NIST != nil) != (f == FormatNIST) {
			t.Errorf("%s: %+v %v", f, l, err)
		}
	}
	for _, s := range []string{"", "hello", "Tue Nov 31 19:00:57 2026", "59639 22-02-28 04:16:20 00 0 0 0.0 UTC(NIST) *"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("Parse(%q) accepted", s)
		}
	}
}

func FuzzParse(f *testing.F) {
	at := time.Date(2026, 11, 24, 19, 0, 57, 0, time.UTC)
	for _, fm := range []string{FormatNIST, FormatRFC822, FormatCtime} {
		f.Add(Format(at, fm))
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := Parse(s)
		if err != nil {
			return
		}
		if !ValidFormat(l.Format) || l.Time.IsZero() && l.Format == FormatNIST {
			t.Fatalf("accepted %q as %+v", s, l)
		}
	})
}
