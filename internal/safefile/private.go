package safefile

import (
	"fmt"
	"io/fs"
	"strings"
)

// UnprotectedError is a private key file that others may use, which
// OpenSSH refuses to load ("WARNING: UNPROTECTED PRIVATE KEY FILE!"). It
// names who else has access, for the hint that fixes it.
type UnprotectedError struct {
	Path string
	// Principals are the others who may use the file: "group" and
	// "others" on Unix; on Windows the accounts and groups an ACL entry
	// lets in, as DOMAIN\name (or a SID when it has no name).
	Principals []string
	// Owner is set on Windows when the file's owner is not one OpenSSH
	// accepts (the current user, SYSTEM, Administrators).
	Owner string
	// Mode is the file's mode (Unix).
	Mode fs.FileMode
}

func (e *UnprotectedError) Error() string {
	var parts []string
	if len(e.Principals) > 0 {
		parts = append(parts, "accessible to "+strings.Join(e.Principals, ", "))
	}
	if e.Owner != "" {
		parts = append(parts, "owned by "+e.Owner)
	}
	if e.Mode != 0 {
		parts = append(parts, fmt.Sprintf("mode %04o", e.Mode.Perm()))
	}
	return fmt.Sprintf("private key %q is %s: OpenSSH refuses to use it", e.Path, strings.Join(parts, ", "))
}
