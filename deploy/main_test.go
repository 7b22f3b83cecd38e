package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

var (
	binDir   string
	binOnce  sync.Once
	binPath  string
	binError error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// sockitBinary builds the main module's sockit once (static, as the image
// holds it) and returns its path.
func sockitBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		binDir, binError = os.MkdirTemp("", "sockit-deploy-")
		if binError != nil {
			return
		}
		binPath = filepath.Join(binDir, "sockit")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/sockit")
		cmd.Dir = ".."
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binError = &buildError{err, string(out)}
		}
	})
	if binError != nil {
		t.Fatalf("building sockit: %v", binError)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + "\n" + e.out }
