package sockit

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// abstractSockets: Linux has abstract unix socket names (@name).
const abstractSockets = true

// clientSocketName is the address a unixgram client binds to.
func clientSocketName() string { return AutoAbstractName() }

// chmodBeforeBind: Linux gives a socket file the mode of its socket (less
// the umask), so fchmod on the socket before bind narrows the file from
// its creation.
const chmodBeforeBind = true

// chmodSocket is SetSocketMode's check and change.
func chmodSocket(path string, mode os.FileMode) error {
	// O_PATH|O_NOFOLLOW opens what is at path itself, a link included,
	// so what is checked below is what is changed.
	f, err := os.OpenFile(path, unix.O_PATH|unix.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if fi.Mode()&os.ModeSocket == 0 {
		return &os.PathError{Op: "chmod", Path: path, Err: fmt.Errorf("%s is there, not a socket", fileKind(fi.Mode()))}
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return &os.PathError{Op: "chmod", Path: path, Err: fmt.Errorf("the socket there is uid %d's, not this process's", st.Uid)}
	}
	// fchmod refuses an O_PATH descriptor; chmod through its /proc link
	// changes the very file opened (glibc's fchmodat does the same).
	if err := os.Chmod("/proc/self/fd/"+strconv.Itoa(int(f.Fd())), mode); err != nil {
		return &os.PathError{Op: "chmod", Path: path, Err: errors.Unwrap(err)}
	}
	return nil
}
