//go:build !windows

package sshkeys

import (
	"io/fs"
	"os"
	"syscall"
)

// ownedByMe tells whether the file belongs to the user running us, the
// only case where OpenSSH checks a key file's mode.
func ownedByMe(st fs.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	return !ok || int(sys.Uid) == os.Getuid()
}
