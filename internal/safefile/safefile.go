// Package safefile writes files so that a crash never leaves a half-written
// one behind and nothing existing is clobbered by accident.
//
// Secrets are written only through this package: a temporary file in the
// same directory is created with its final mode, filled, synced and renamed
// into place, and the directory is synced so the rename survives a crash.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"
	"unicode/utf8"
)

// WriteNew writes data to path, which must not exist yet. The file appears
// complete or not at all.
func WriteNew(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, false)
}

// Replace writes data to path atomically, replacing any existing file.
// Callers that replace keys must have backed the old file up first.
func Replace(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, true)
}

// maxTempStem bounds the part of a temporary's name taken from the file it
// stands for: ".STEM.tmp-4294967295" then fits the 255 bytes that most file
// systems allow in a name, even for a file whose own name nearly fills them.
const maxTempStem = 200

// tempPattern is the os.CreateTemp pattern of a temporary for a file named
// base: ".BASE.tmp-*", BASE cut (at a character boundary) when it is long.
func tempPattern(base string) string {
	if len(base) > maxTempStem {
		cut := maxTempStem
		for cut > 0 && !utf8.RuneStart(base[cut]) {
			cut--
		}
		base = base[:cut]
	}
	return "." + base + ".tmp-*"
}

// IsTemporary tells whether name (a base name) is one of the temporaries
// this package makes, ".NAME.tmp-DIGITS": a file that is never the real
// thing, left behind only when a writer was killed before renaming it.
func IsTemporary(name string) bool {
	rest, ok := strings.CutPrefix(name, ".")
	i := strings.LastIndex(rest, ".tmp-")
	if !ok || i < 1 {
		return false
	}
	digits := rest[i+len(".tmp-"):]
	return digits != "" && strings.Trim(digits, "0123456789") == ""
}

// WriteTemp writes data to a new temporary file in dir named for base (see
// IsTemporary), with mode perm, synced, and returns its path: the caller
// renames it into place or removes it.
func WriteTemp(dir, base string, data []byte, perm fs.FileMode) (tmpName string, err error) {
	tmp, err := os.CreateTemp(dir, tempPattern(base))
	if err != nil {
		return "", fmt.Errorf("cannot create a file in %q: %w", dir, err)
	}
	tmpName = tmp.Name()
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmpName)
		}
	}()
	// CreateTemp makes the file 0600; set the final mode before any byte is
	// written so a secret is never readable by others, even briefly.
	if err = tmp.Chmod(perm); err != nil && runtime.GOOS != "windows" {
		return "", fmt.Errorf("cannot set the mode of %q: %w", tmpName, err)
	}
	if err = restrictToOwner(tmpName, perm); err != nil {
		return "", err
	}
	if _, err = tmp.Write(data); err != nil {
		return "", fmt.Errorf("cannot write %q: %w", tmpName, err)
	}
	if err = tmp.Sync(); err != nil {
		return "", fmt.Errorf("cannot sync %q: %w", tmpName, err)
	}
	if err = tmp.Close(); err != nil {
		return "", fmt.Errorf("cannot write %q: %w", tmpName, err)
	}
	return tmpName, nil
}

func write(path string, data []byte, perm fs.FileMode, replace bool) (err error) {
	dir := filepath.Dir(path)
	tmpName, err := WriteTemp(dir, filepath.Base(path), data, perm)
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.Remove(tmpName)
		}
	}()
	if replace {
		err = os.Rename(tmpName, path)
	} else {
		// A hard link fails if path exists, which makes the create exclusive
		// without a window where a partial file is visible under its name.
		err = os.Link(tmpName, path)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			// Some file systems have no hard links: fall back to an exclusive
			// check followed by rename.
			if _, statErr := os.Lstat(path); statErr == nil {
				err = &fs.PathError{Op: "create", Path: path, Err: fs.ErrExist}
			} else {
				err = os.Rename(tmpName, path)
			}
		}
		os.Remove(tmpName)
	}
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("%q already exists: %w", path, fs.ErrExist)
		}
		return fmt.Errorf("cannot move %q into place: %w", path, err)
	}
	SyncDir(dir)
	return nil
}

// MkdirPrivate creates dir (and parents) with mode 0700 if it is missing.
// An existing directory is left as it is.
func MkdirPrivate(dir string) (created bool, err error) {
	if st, err := os.Stat(dir); err == nil {
		if !st.IsDir() {
			return false, fmt.Errorf("%q exists and is not a directory", dir)
		}
		return false, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return false, fmt.Errorf("cannot create %q: %w", dir, err)
	}
	// MkdirAll is subject to the umask; the mode is part of the contract.
	if err := os.Chmod(dir, 0o700); err != nil && runtime.GOOS != "windows" {
		return true, fmt.Errorf("cannot set the mode of %q: %w", dir, err)
	}
	return true, restrictToOwner(dir, 0o700)
}

// MkdirTemp creates a new private (0700) directory in dir named for base
// as a temporary (see IsTemporary), for contents that appear under their
// real name only once complete (see RenameNew).
func MkdirTemp(dir, base string) (string, error) {
	tmp, err := os.MkdirTemp(dir, tempPattern(base))
	if err != nil {
		return "", fmt.Errorf("cannot create a directory in %q: %w", dir, err)
	}
	if err := os.Chmod(tmp, 0o700); err != nil && runtime.GOOS != "windows" {
		os.Remove(tmp)
		return "", fmt.Errorf("cannot set the mode of %q: %w", tmp, err)
	}
	if err := restrictToOwner(tmp, 0o700); err != nil {
		os.Remove(tmp)
		return "", err
	}
	return tmp, nil
}

// CopyNew copies the small file src (see ReadSmall) to dst, which must not
// exist, keeping src's bytes, permission bits and modification time.
func CopyNew(src, dst string) error {
	st, err := os.Stat(src)
	if err != nil {
		return err
	}
	data, err := ReadSmall(src, MaxSmallFile)
	if err != nil {
		return err
	}
	if err := WriteNew(dst, data, st.Mode().Perm()); err != nil {
		return err
	}
	// The copy keeps the original's modification time, as cp -p does: a
	// backup says when the key was made, not when it was backed up.
	return os.Chtimes(dst, time.Time{}, st.ModTime())
}

// SyncDir makes the renames and removals done in dir survive a crash (a
// no-op on Windows, where directories cannot be synced).
func SyncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// RenameNew renames oldpath (a file or a directory) to newpath, which must
// not exist: an existing newpath gives an error satisfying
// errors.Is(err, fs.ErrExist) and is left as it was.
func RenameNew(oldpath, newpath string) error {
	return renameNoReplace(oldpath, newpath)
}

// renameUnlessExists is RenameNew where the system has no exclusive rename:
// callers hold the directory's lock, so the check cannot race another
// git-bbkey.
func renameUnlessExists(oldpath, newpath string) error {
	if _, err := os.Lstat(newpath); err == nil {
		return &os.LinkError{Op: "rename", Old: oldpath, New: newpath, Err: fs.ErrExist}
	}
	return os.Rename(oldpath, newpath)
}
