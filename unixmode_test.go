package sockit_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/sockit/sockit"
)

// TestSetSocketMode: the mode is set on a socket file, exactly (umask
// aside); what someone who can write the directory puts at the path
// instead — a symbolic link to a file, or to a socket, or a regular file —
// is refused and left as it was, as is the file a link points at (a
// server running as root must not chmod /etc/shadow through a link).
func TestSetSocketMode(t *testing.T) {
	dir := t.TempDir()
	sock := filepath.Join(dir, "s.sock")
	lc := sockit.ListenConfig{UnixMode: 0o600}
	ln, err := lc.Listen(context.Background(), sockit.Endpoint{Network: "unix", Address: sock})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("listened with UnixMode 0600: %v, %v", fi, err)
	}
	if err := sockit.SetSocketMode(sock, 0o606); err != nil {
		t.Fatalf("SetSocketMode on the socket: %v", err)
	}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Perm() != 0o606 {
		t.Errorf("after SetSocketMode 0606: %v, %v", fi, err)
	}

	victim := filepath.Join(dir, "victim")
	if err := os.WriteFile(victim, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	toFile, toSock := filepath.Join(dir, "to-file"), filepath.Join(dir, "to-sock")
	os.Symlink(victim, toFile)
	os.Symlink(sock, toSock)
	for _, p := range []string{toFile, toSock, victim, filepath.Join(dir, "none")} {
		if err := sockit.SetSocketMode(p, 0o666); err == nil {
			t.Errorf("SetSocketMode(%s) succeeded", p)
		}
	}
	if fi, err := os.Lstat(victim); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the file a link pointed at: %v, %v; want it left 0600", fi, err)
	}
	if fi, err := os.Lstat(sock); err != nil || fi.Mode().Perm() != 0o606 {
		t.Errorf("the socket a link pointed at: %v, %v; want it left 0606", fi, err)
	}
	if err := sockit.SetSocketMode(sock, 0o4600); err == nil {
		t.Error("SetSocketMode with a setuid bit succeeded")
	}
}
