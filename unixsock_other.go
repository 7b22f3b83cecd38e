//go:build !linux

package sockit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"
)

// abstractSockets: abstract unix socket names (@name) are Linux's;
// elsewhere a name starting with @ would be a file in the working
// directory, so ParseEndpoint refuses it.
const abstractSockets = false

// clientSocketName is the address a unixgram client binds to: a socket
// file in the temporary directory, removed when the client closes.
func clientSocketName() string { return filepath.Join(os.TempDir(), uniqueName()+".sock") }

// chmodBeforeBind: macOS and the BSDs create a socket file with the umask
// alone (fchmod on a socket fails there), so the mode is set after bind.
const chmodBeforeBind = false

// chmodSocket is SetSocketMode's check and change: lstat, then fchmodat
// with AT_SYMLINK_NOFOLLOW (a link is changed itself, never followed).
func chmodSocket(path string, mode os.FileMode) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return &os.PathError{Op: "chmod", Path: path, Err: fmt.Errorf("%s is there, not a socket", fileKind(fi.Mode()))}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return &os.PathError{Op: "chmod", Path: path, Err: fmt.Errorf("the socket there is uid %d's, not this process's", st.Uid)}
	}
	if err := unix.Fchmodat(unix.AT_FDCWD, path, uint32(mode), unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &os.PathError{Op: "chmod", Path: path, Err: errors.Unwrap(os.NewSyscallError("fchmodat", err))}
	}
	return nil
}
