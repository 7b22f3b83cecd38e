package serve_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/pem"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sockit/sockit/internal/serve"
	"github.com/sockit/sockit/sockittest"
)

// logLines is a slog.Handler giving each record's message and addr to a
// channel.
type logLines chan [2]string

func (logLines) Enabled(context.Context, slog.Level) bool { return true }
func (l logLines) WithAttrs([]slog.Attr) slog.Handler     { return l }
func (l logLines) WithGroup(string) slog.Handler          { return l }
func (l logLines) Handle(_ context.Context, r slog.Record) error {
	addr := ""
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "addr" {
			addr = a.Value.String()
		}
		return true
	})
	select {
	case l <- [2]string{r.Message, addr}:
	default: // the test waits for few lines; never block serve
	}
	return nil
}

func (l logLines) wait(t *testing.T, msg string, timeout time.Duration) string {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case m := <-l:
			if m[0] == msg {
				return m[1]
			}
		case <-deadline:
			t.Fatalf("no %q logged within %v", msg, timeout)
		}
	}
}

// kubeletDir lays out a Secret volume as the kubelet's atomic writer does:
// the files in a timestamped directory, "..data" a symlink to it, each name
// a symlink through "..data"; an update writes a new directory and renames
// a new "..data" over the old one, then removes the old directory.
type kubeletDir struct {
	dir string
	n   int
}

func (k *kubeletDir) write(t *testing.T, files map[string][]byte, mtime time.Time) {
	t.Helper()
	k.n++
	ts := fmt.Sprintf("..2026_01_01_00_00_%02d.%09d", k.n, k.n)
	if err := os.Mkdir(filepath.Join(k.dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, b := range files {
		p := filepath.Join(k.dir, ts, name)
		if err := os.WriteFile(p, b, 0o440); err != nil {
			t.Fatal(err)
		}
		if !mtime.IsZero() {
			if err := os.Chtimes(p, mtime, mtime); err != nil {
				t.Fatal(err)
			}
		}
	}
	data := filepath.Join(k.dir, "..data")
	old, _ := os.Readlink(data)
	if err := os.Symlink(ts, data+"_tmp"); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(data+"_tmp", data); err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if _, err := os.Lstat(filepath.Join(k.dir, name)); os.IsNotExist(err) {
			if err := os.Symlink(filepath.Join("..data", name), filepath.Join(k.dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if old != "" {
		os.RemoveAll(filepath.Join(k.dir, old))
	}
}

// pairFiles makes n self-signed pairs as tls.crt and tls.key contents,
// padded with newlines (which PEM ignores) to the same sizes, and the
// certificates' DER.
func pairFiles(t *testing.T, n int) ([]map[string][]byte, [][]byte) {
	t.Helper()
	var files []map[string][]byte
	var ders [][]byte
	size := map[string]int{}
	for range n {
		cert, key := sockittest.SelfSignedCert(t, t.TempDir())
		f := map[string][]byte{}
		for name, p := range map[string]string{"tls.crt": cert, "tls.key": key} {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			f[name] = b
			size[name] = max(size[name], len(b))
		}
		block, _ := pem.Decode(f["tls.crt"])
		files = append(files, f)
		ders = append(ders, block.Bytes)
	}
	for _, f := range files {
		for name, b := range f {
			f[name] = append(b, bytes.Repeat([]byte("\n"), size[name]-len(b))...)
		}
	}
	return files, ders
}

// TestCertReloadAcrossSymlinkSwap: serve's --tls-cert and --tls-key name
// the files of a Kubernetes Secret volume; an update of the Secret (the
// kubelet's ..data swap) is served to new connections with no signal, and
// so is a swap onto files with the very sizes and modification times of
// the ones they replace (copied with cp -p, tar x or rsync -a): what names
// the files changed, so they are read again.
func TestCertReloadAcrossSymlinkSwap(t *testing.T) {
	vol := &kubeletDir{dir: t.TempDir()}
	pairs, ders := pairFiles(t, 3)
	vol.write(t, pairs[0], time.Time{})
	st, err := serve.Load(serve.Source{
		Flags: map[string]string{"tls-cert": filepath.Join(vol.dir, "tls.crt"), "tls-key": filepath.Join(vol.dir, "tls.key")},
		Args:  []string{"http=tls://127.0.0.1:0"},
	})
	if err != nil {
		t.Fatal(err)
	}
	logs := make(logLines, 256)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serve.Run(ctx, st, serve.Hooks{Logger: slog.New(logs)}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	}()
	addr := logs.wait(t, "listening", 10*time.Second)

	served := func() []byte {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("TLS to %s: %v", addr, err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].Raw
	}
	if !bytes.Equal(served(), ders[0]) {
		t.Fatal("serve does not show the volume's certificate")
	}

	// The kubelet's update: new files, written now.
	vol.write(t, pairs[1], time.Time{})
	logs.wait(t, "certificates reloaded", 5*serve.CertPoll)
	if !bytes.Equal(served(), ders[1]) {
		t.Error("after the Secret's update serve shows another certificate than the new one")
	}

	// A swap onto files as old and as long as the ones they replace.
	fi, err := os.Stat(filepath.Join(vol.dir, "tls.crt"))
	if err != nil {
		t.Fatal(err)
	}
	vol.write(t, pairs[2], fi.ModTime())
	if fi2, _ := os.Stat(filepath.Join(vol.dir, "tls.crt")); fi2.Size() != fi.Size() || !fi2.ModTime().Equal(fi.ModTime()) {
		t.Fatalf("the test's swap changed size or time: %d %v, was %d %v", fi2.Size(), fi2.ModTime(), fi.Size(), fi.ModTime())
	}
	logs.wait(t, "certificates reloaded", 5*serve.CertPoll)
	if !bytes.Equal(served(), ders[2]) {
		t.Error("after a swap onto files of the same size and time serve shows another certificate than the new one")
	}
}
