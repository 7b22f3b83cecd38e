package packet

import (
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// ParseHex reads one frame written by hand in hex; spaces, newlines, colons
// and a leading 0x are ignored ("02 00 00 00 00 02  02 00 ...").
func ParseHex(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "0x")
	s = strings.NewReplacer(" ", "", "\n", "", "\t", "", "\r", "", ":", "").Replace(s)
	b, err := hex.DecodeString(s)
	if err != nil {
		var ie hex.InvalidByteError
		if errors.As(err, &ie) {
			return nil, fmt.Errorf("hex frame: %q is not a hex digit", rune(ie))
		}
		return nil, fmt.Errorf("hex frame: %w", err)
	}
	return b, nil
}
