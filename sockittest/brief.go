package sockittest

import (
	_ "embed"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// briefServer is the brief's asynchronous server, verbatim
// (/work/shared/seed/socket-programming.txt, "Asynchronous server
// example"): on localhost:8001 it reads up to 1024 bytes of each
// connection, writes them back and closes.
//
//go:embed brief_asyncio_server.py
var briefServer string

// BriefAsyncioServer runs the brief's ten-line Python asyncio server (with
// python3, a peer RequireTool finds) on a free port instead of 8001, and
// returns "localhost:PORT", the host the brief's ab command names. The
// process is killed with the test.
func BriefAsyncioServer(t testing.TB) string {
	t.Helper()
	py := RequireTool(t, "python3")
	port := FreePort(t)
	prog := strings.Replace(briefServer, "'localhost', 8001)", fmt.Sprintf("'localhost', %d)", port), 1)
	if prog == briefServer {
		t.Fatal("the brief's server no longer names 'localhost', 8001")
	}
	path := filepath.Join(t.TempDir(), "server.py")
	if err := os.WriteFile(path, []byte(prog), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(py, path)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	addr := net.JoinHostPort("localhost", fmt.Sprint(port))
	// The program prints nothing when it listens: a connect that succeeds
	// is the sign (the server answers it with nothing and closes).
	Eventually(t, 20*time.Second, "the brief's server listening on "+addr, func() bool {
		select {
		case <-exited:
			t.Fatalf("the brief's server exited: %v\n%s", waitErr, stderr.String())
		default:
		}
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
		return true
	})
	return addr
}
