// Package backup copies key files into a fresh, timestamped directory under
// ~/.ssh/key_backup, as Atlassian's guide asks before keys are replaced.
package backup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// DirName is the folder under the SSH directory that holds backups.
const DirName = "key_backup"

// Copy copies files into a new directory sshDir/key_backup/<UTC
// yyyymmdd-hhmmss>[-N]/ (mode 0700). Files keep their bytes and permission
// bits; nothing existing is ever overwritten. With no files it creates
// nothing and returns "".
func Copy(sshDir string, files []string, now time.Time) (dir string, copied []string, err error) {
	if len(files) == 0 {
		return "", nil, nil
	}
	root := filepath.Join(sshDir, DirName)
	if _, err := safefile.MkdirPrivate(root); err != nil {
		return "", nil, err
	}
	dir, err = freshDir(root, now.UTC().Format("20060102-150405"))
	if err != nil {
		return "", nil, err
	}
	for _, src := range files {
		dst := filepath.Join(dir, filepath.Base(src))
		if err := safefile.CopyNew(src, dst); err != nil {
			return dir, copied, fmt.Errorf("cannot back up %q to %q: %w", src, dir, err)
		}
		copied = append(copied, dst)
	}
	return dir, copied, nil
}

// freshDir creates root/name, or root/name-2, name-3, … if taken. Mkdir is
// exclusive, so two concurrent backups never share a directory.
func freshDir(root, name string) (string, error) {
	for i := 1; i < 1000; i++ {
		candidate := name
		if i > 1 {
			candidate = fmt.Sprintf("%s-%d", name, i)
		}
		p := filepath.Join(root, candidate)
		err := os.Mkdir(p, 0o700)
		if err == nil {
			if runtime.GOOS != "windows" {
				if err := os.Chmod(p, 0o700); err != nil {
					return "", fmt.Errorf("cannot set the mode of %q: %w", p, err)
				}
			}
			return p, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", fmt.Errorf("cannot create backup directory %q: %w", p, err)
		}
	}
	return "", fmt.Errorf("too many backups named %q in %q", name, root)
}
