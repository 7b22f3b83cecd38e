package chargen

import (
	"bytes"
	"errors"
	"testing"
)

func TestPatternWrapsThe95Ring(t *testing.T) {
	p := Append(nil, 0, 2*cycle+10)
	for line := 0; line < 2*ringLen; line++ {
		l := p[line*lineBytes : (line+1)*lineBytes]
		if !bytes.HasSuffix(l, []byte("\r\n")) {
			t.Fatalf("line %d does not end in CRLF: %q", line, l)
		}
		for col := 0; col < LineLen; col++ {
			if want := byte(' ' + (line+col)%95); l[col] != want {
				t.Fatalf("line %d col %d = %q, want %q", line, col, l[col], want)
			}
		}
	}
	// Line 94 starts with '~' and its second character wraps to ' '.
	l94 := p[94*lineBytes:]
	if l94[0] != '~' || l94[1] != ' ' {
		t.Errorf("line 94 starts %q", l94[:2])
	}
	if Verify(p, 0) != -1 {
		t.Error("Verify rejects the pattern")
	}
	var ck Checker
	if _, err := ck.Write(p); err != nil {
		t.Errorf("Checker rejects the pattern: %v", err)
	}
	// Append from any offset continues the same stream.
	for _, off := range []int64{1, 73, 74, cycle - 3, cycle + 5} {
		if got := Append(nil, off, 200); !bytes.Equal(got, p[off:off+200]) {
			t.Errorf("Append from %d differs", off)
		}
	}
}

func TestCheckerCatchesBreaks(t *testing.T) {
	good := Append(nil, 0, 5*lineBytes)
	for _, tc := range []struct {
		name string
		at   int
		b    byte
	}{
		{"skipped character", 10, good[10] + 1},
		{"control character", 5, 0x01},
		{"missing CR", LineLen, 'x'},
		{"CR without LF", LineLen + 1, 'x'},
	} {
		bad := bytes.Clone(good)
		bad[tc.at] = tc.b
		var ck Checker
		_, err := ck.Write(bad)
		var pe *PatternError
		if !errors.As(err, &pe) || pe.Offset != int64(tc.at) {
			t.Errorf("%s at %d: err %v", tc.name, tc.at, err)
		}
	}
	// xinetd's ring, '!' to '}', is accepted; a second, different wrap is not.
	var line []byte
	for i := 0; i < LineLen; i++ {
		line = append(line, byte('!'+(90+i)%93))
	}
	var ck Checker
	if _, err := ck.Write(append(line, '\r', '\n')); err != nil {
		t.Errorf("93-ring line rejected: %v", err)
	}
	if _, err := ck.Write([]byte("}~")); err == nil {
		t.Error("'~' after '}' accepted once the ring is known to wrap at '}'")
	}
}

func TestDatagramReply(t *testing.T) {
	for i := 0; i < 200; i++ {
		r := Handler{}.Reply(nil, make([]byte, 0, 65507))
		if len(r) > MaxDatagram {
			t.Fatalf("reply of %d characters", len(r))
		}
		if Verify(r, 0) != -1 {
			t.Fatalf("reply breaks the pattern: %q", r)
		}
	}
}
