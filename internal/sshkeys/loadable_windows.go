package sshkeys

import "io/fs"

// ownedByMe is never asked on Windows, where OpenSSH checks ACLs instead.
func ownedByMe(fs.FileInfo) bool { return false }
