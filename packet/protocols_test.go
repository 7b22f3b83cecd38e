package packet

// The decoder asks the registry how each protocol describes its payloads;
// the program registers them (cmd/sockit), and so do these tests.
import _ "github.com/sockit/sockit/proto/all"
