package safefile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// maxAppendTarget bounds what AppendLineOnce reads of the file it appends
// to (a known_hosts file of a million hosts is well below it).
const maxAppendTarget = 64 << 20

// appendLockWait is how long AppendLineOnce waits for another process's
// append to the same file.
const appendLockWait = 30 * time.Second

// AppendLineOnce appends one line to path, creating it with perm if
// missing (perm exactly, whatever the umask) and adding a newline first
// when the file does not end with one. It never rewrites what is already
// there: the line lands whole or not at all (a short write, such as on a
// full disk, is undone by truncating the file back to its previous
// length).
//
// It does so under a lock that every AppendLineOnce on path takes (a lock
// file beside it, "."+name+".lock"), after re-reading the file: present
// is called with the file's current content and reports whether the
// entry the line records is already there (then nothing is written and
// appended is false), or returns an error to stop. So processes appending
// the same entry at once write it once.
func AppendLineOnce(ctx context.Context, path, line string, perm fs.FileMode, present func(current []byte) (bool, error)) (appended bool, err error) {
	lockCtx, cancel := context.WithTimeout(ctx, appendLockWait)
	defer cancel()
	unlock, err := Lock(lockCtx, appendLockPath(path))
	if err != nil {
		return false, err
	}
	defer unlock()
	return appendLine(path, line, perm, present)
}

func appendLockPath(path string) string {
	return filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".lock")
}

func appendLine(path, line string, perm fs.FileMode, present func([]byte) (bool, error)) (appended bool, err error) {
	f, created, err := openForAppend(path, perm)
	if err != nil {
		return false, err
	}
	defer func() {
		if created && !appended {
			// Nothing of ours is in it: leave no empty file behind, but
			// only while it is empty (ssh, say, may have written to it
			// meanwhile: it takes no lock of ours).
			st, err := f.Stat()
			f.Close() // before the remove: Windows removes no open file
			if err == nil && st.Size() == 0 {
				os.Remove(path)
			}
			return
		}
		f.Close()
	}()
	st, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("cannot read %q: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return false, fmt.Errorf("cannot append to %q: not a regular file", path)
	}
	size := st.Size()
	if present != nil {
		if size > maxAppendTarget {
			return false, fmt.Errorf("cannot read %q: larger than %d MiB", path, maxAppendTarget>>20)
		}
		current := make([]byte, size)
		if _, err := f.ReadAt(current, 0); err != nil && !errors.Is(err, io.EOF) {
			return false, fmt.Errorf("cannot read %q: %w", path, err)
		}
		if ok, err := present(current); err != nil || ok {
			return false, err
		}
	}
	buf := make([]byte, 0, len(line)+2)
	if size > 0 {
		last := make([]byte, 1)
		if _, err := f.ReadAt(last, size-1); err != nil {
			return false, fmt.Errorf("cannot read %q: %w", path, err)
		}
		if last[0] != '\n' {
			buf = append(buf, '\n')
		}
	}
	buf = append(buf, line...)
	buf = append(buf, '\n')
	// One write: on a full disk (or past a file size limit) the kernel may
	// take part of it and then fail; the file then goes back to where it
	// was, so no reader ever meets a torn line for longer than that.
	n, err := f.Write(buf)
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		// Take back our own bytes only: when the file has grown past them
		// (another program appended meanwhile), cutting it would take
		// that program's line too.
		if st, serr := f.Stat(); serr != nil || st.Size() != size+int64(n) {
			return false, fmt.Errorf("cannot append to %q: %w (and could not remove the partial line: the file changed meanwhile)", path, err)
		}
		if terr := f.Truncate(size); terr != nil {
			return false, fmt.Errorf("cannot append to %q: %w (and could not remove the partial line: %v)", path, err, terr)
		}
		return false, fmt.Errorf("cannot append to %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return false, fmt.Errorf("cannot append to %q: %w", path, err)
	}
	if created {
		SyncDir(filepath.Dir(path))
	}
	return true, nil
}

// openForAppend opens path for appending, creating it with exactly perm
// when it is missing (created is then true).
func openForAppend(path string, perm fs.FileMode) (f *os.File, created bool, err error) {
	f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND|os.O_CREATE|os.O_EXCL, perm)
	if err == nil {
		// The umask narrowed the mode; the contract names the mode of a new file.
		if err := f.Chmod(perm); err != nil && runtime.GOOS != "windows" {
			f.Close()
			os.Remove(path)
			return nil, false, fmt.Errorf("cannot set the mode of %q: %w", path, err)
		}
		return f, true, nil
	}
	if !errors.Is(err, fs.ErrExist) {
		return nil, false, fmt.Errorf("cannot open %q: %w", path, err)
	}
	f, err = os.OpenFile(path, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		return nil, false, fmt.Errorf("cannot open %q: %w", path, err)
	}
	return f, false, nil
}
