package safefile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"runtime"
	"syscall"
)

// MaxSmallFile bounds ReadSmall for key, public key and passphrase files:
// the largest key OpenSSH writes (RSA 16384 bits) is about 13 KiB, so
// anything bigger is not one of them.
const MaxSmallFile = 64 << 10

// ErrNotRegular is matched (errors.Is) by a NotRegularError.
var ErrNotRegular = errors.New("not a regular file")

// NotRegularError: the path names a device, FIFO, socket or directory,
// which a key or passphrase file never is (/dev/zero would never end, a
// FIFO without a writer would never answer).
type NotRegularError struct {
	Path string
	Mode fs.FileMode
}

func (e *NotRegularError) Error() string {
	return fmt.Sprintf("%q is %s, not a regular file", e.Path, fileKind(e.Mode))
}

func (e *NotRegularError) Is(target error) bool { return target == ErrNotRegular }

// TooLargeError: the file is bigger than the limit its reader allows.
type TooLargeError struct {
	Path  string
	Limit int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%q is larger than %d KiB, too large for a key or passphrase file", e.Path, e.Limit>>10)
}

func fileKind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// ReadSmall reads a small regular file (following symlinks, as ssh does)
// of at most limit bytes. It never blocks on a FIFO and never reads an
// endless device: anything but a regular file is a *NotRegularError, a
// bigger one a *TooLargeError. Other errors are the *fs.PathError of the
// open or read (errors.Is(err, fs.ErrNotExist) for a missing file).
func ReadSmall(path string, limit int64) ([]byte, error) {
	// O_NONBLOCK makes opening a FIFO return at once instead of waiting for
	// a writer; it changes nothing for a regular file.
	flags := os.O_RDONLY
	if runtime.GOOS != "windows" {
		flags |= syscall.O_NONBLOCK
	}
	f, err := os.OpenFile(path, flags, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, &NotRegularError{Path: path, Mode: st.Mode()}
	}
	if st.Size() > limit {
		return nil, &TooLargeError{Path: path, Limit: limit}
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: unwrapPath(err)}
	}
	if int64(len(data)) > limit { // it grew while we read
		return nil, &TooLargeError{Path: path, Limit: limit}
	}
	return data, nil
}

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
