// Package backup copies key files into a fresh, timestamped directory under
// ~/.ssh/key_backup, as Atlassian's guide asks before keys are replaced.
//
// A backup appears whole or not at all: the files are copied and synced in
// a temporary directory key_backup/.backup.tmp-N, which is then renamed to
// its timestamp. A kill part-way leaves only that temporary (never an empty
// or half-filled timestamped directory), which the next writing run of
// git-bbkey removes: the files it copied are still in place.
package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// DirName is the folder under the SSH directory that holds backups.
const DirName = "key_backup"

// tempBase names the temporary directory a backup is assembled in.
const tempBase = "backup"

// Copy copies files into a new directory sshDir/key_backup/<UTC
// yyyymmdd-hhmmss>[-N]/ (mode 0700). Files keep their bytes and permission
// bits; nothing existing is ever overwritten. With no files it creates
// nothing and returns "". On error nothing new is visible under key_backup/
// (at most the temporary, if even its removal failed).
func Copy(sshDir string, files []string, now time.Time) (dir string, copied []string, err error) {
	if len(files) == 0 {
		return "", nil, nil
	}
	root := filepath.Join(sshDir, DirName)
	if _, err := safefile.MkdirPrivate(root); err != nil {
		return "", nil, err
	}
	tmp, err := safefile.MkdirTemp(root, tempBase)
	if err != nil {
		return "", nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(tmp)
		}
	}()
	names := make([]string, 0, len(files))
	for _, src := range files {
		name := filepath.Base(src)
		if err := safefile.CopyNew(src, filepath.Join(tmp, name)); err != nil {
			return "", nil, fmt.Errorf("cannot back up %q to %q: %w", src, root, err)
		}
		names = append(names, name)
	}
	// CopyNew synced each file and tmp's entries; the rename publishes them.
	if dir, err = rename(tmp, root, now.UTC().Format("20060102-150405")); err != nil {
		return "", nil, err
	}
	safefile.SyncDir(root)
	for _, name := range names {
		copied = append(copied, filepath.Join(dir, name))
	}
	return dir, copied, nil
}

// rename moves the finished tmp to root/name, or root/name-2, name-3, … if
// taken: the rename never replaces anything, so two backups in the same
// second never share a directory.
func rename(tmp, root, name string) (string, error) {
	for i := 1; i < 1000; i++ {
		candidate := name
		if i > 1 {
			candidate = fmt.Sprintf("%s-%d", name, i)
		}
		p := filepath.Join(root, candidate)
		err := safefile.RenameNew(tmp, p)
		if err == nil {
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("cannot create backup directory %q: %w", p, err)
		}
	}
	return "", fmt.Errorf("too many backups named %q in %q", name, root)
}
