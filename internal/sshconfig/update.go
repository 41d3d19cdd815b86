package sshconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// newFileMode is the mode of a config file Update creates.
const newFileMode fs.FileMode = 0o600

// Update puts b's block into the ssh config at path (see Apply).
//
// A missing file is created with mode 0600 (its directory with 0700 if
// that is missing too). An existing file is replaced atomically and keeps
// its permission bits. When the block is already there the file is not
// written at all, so its mtime and inode stay as they were. A symlinked
// config is followed: the target is rewritten, the link is kept.
// Replacing the file gives it a new inode, so other hard links to it keep
// the old content.
func Update(path string, b Block) (Change, error) {
	target, existing, mode, exists, err := readConfig(path)
	if err != nil {
		return Unchanged, err
	}
	updated, change, err := Apply(existing, b)
	if err != nil {
		return Unchanged, fmt.Errorf("cannot update %q: %w", path, err)
	}
	if change == Unchanged {
		return Unchanged, nil
	}
	if exists {
		err = safefile.Replace(target, updated, mode)
	} else {
		if _, err = safefile.MkdirPrivate(filepath.Dir(target)); err != nil {
			return Unchanged, err
		}
		// Exclusive: a config someone created meanwhile is not clobbered.
		err = safefile.WriteNew(target, updated, newFileMode)
	}
	if err != nil {
		return Unchanged, err
	}
	return change, nil
}

// readConfig resolves symlinks and reads the file. A missing file (not a
// dangling symlink) is not an error: exists is false.
func readConfig(path string) (target string, data []byte, mode fs.FileMode, exists bool, err error) {
	target, err = filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(path); lerr == nil {
			return "", nil, 0, false, fmt.Errorf("cannot update %q: it is a symlink to a missing file", path)
		}
		return path, nil, 0, false, nil
	}
	if err != nil {
		return "", nil, 0, false, fmt.Errorf("cannot read %q: %w", path, err)
	}
	st, err := os.Stat(target)
	if err != nil {
		return "", nil, 0, false, fmt.Errorf("cannot read %q: %w", path, err)
	}
	if !st.Mode().IsRegular() {
		return "", nil, 0, false, fmt.Errorf("cannot update %q: not a regular file", path)
	}
	data, err = os.ReadFile(target)
	if err != nil {
		return "", nil, 0, false, fmt.Errorf("cannot read %q: %w", path, err)
	}
	return target, data, st.Mode().Perm(), true, nil
}
