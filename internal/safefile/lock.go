package safefile

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// ErrLocked means another process holds the lock.
var ErrLocked = errors.New("locked by another process")

// LockBusyError: the lock stayed taken by another process until the
// context ended. It matches errors.Is(err, ErrLocked), and also the
// context's own error (context.Canceled when the run was interrupted,
// context.DeadlineExceeded when the wait ran out).
type LockBusyError struct {
	Path  string
	Cause error
}

func (e *LockBusyError) Error() string        { return fmt.Sprintf("%q is %v", e.Path, ErrLocked) }
func (e *LockBusyError) Is(target error) bool { return target == ErrLocked }
func (e *LockBusyError) Unwrap() error        { return e.Cause }

// LockFileError: the lock file itself cannot be opened or locked (a
// read-only directory, a directory in its place, no permission), which no
// amount of waiting fixes. Err is the system's error.
type LockFileError struct {
	Path string
	Err  error
}

func (e *LockFileError) Error() string {
	return fmt.Sprintf("cannot open lock file %q: %v", e.Path, unwrapPath(e.Err))
}
func (e *LockFileError) Unwrap() error { return e.Err }

// Lock takes an exclusive advisory lock on path (created 0600 if missing),
// waiting until ctx ends. The lock dies with the process, so a crash never
// leaves it stuck. Errors are a *LockBusyError or a *LockFileError.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, &LockFileError{Path: path, Err: err}
	}
	for {
		err := tryLock(f)
		if err == nil {
			return func() { unlockFile(f); f.Close() }, nil
		}
		if !errors.Is(err, ErrLocked) {
			f.Close()
			return nil, &LockFileError{Path: path, Err: err}
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, &LockBusyError{Path: path, Cause: ctx.Err()}
		case <-time.After(100 * time.Millisecond):
		}
	}
}
