//go:build !windows

package safefile

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// restrictToOwner is a no-op where file modes already say who may read.
func restrictToOwner(string, fs.FileMode) error { return nil }

// CheckPrivate reports a private key file that OpenSSH would refuse to
// load ("UNPROTECTED PRIVATE KEY FILE"): as sshkey_perm_ok does, a file of
// the current user that group or others may read or write. A file others
// may use gives an *UnprotectedError naming them.
func CheckPrivate(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("cannot read the permissions of %q: %w", path, err)
	}
	if sys, ok := st.Sys().(*syscall.Stat_t); ok && int(sys.Uid) != os.Getuid() {
		return nil // OpenSSH checks only the modes of the user's own files
	}
	bad := &UnprotectedError{Path: path, Mode: st.Mode().Perm()}
	if st.Mode()&0o070 != 0 {
		bad.Principals = append(bad.Principals, "group")
	}
	if st.Mode()&0o007 != 0 {
		bad.Principals = append(bad.Principals, "others")
	}
	if len(bad.Principals) == 0 {
		return nil
	}
	return bad
}
