//go:build windows

package safefile

import (
	"fmt"
	"io/fs"

	"golang.org/x/sys/windows"
)

// restrictToOwner gives a private file (mode without group/other bits) an
// ACL that only its owner can use, since Windows ignores Unix modes. Public
// files keep the inherited ACL.
func restrictToOwner(path string, perm fs.FileMode) error {
	if perm&0o077 != 0 {
		return nil
	}
	token := windows.GetCurrentProcessToken()
	user, err := token.GetTokenUser()
	if err != nil {
		return fmt.Errorf("cannot find the current user to protect %q: %w", path, err)
	}
	acl, err := windows.ACLFromEntries([]windows.EXPLICIT_ACCESS{{
		AccessPermissions: windows.GENERIC_ALL,
		AccessMode:        windows.GRANT_ACCESS,
		Inheritance:       windows.SUB_CONTAINERS_AND_OBJECTS_INHERIT,
		Trustee: windows.TRUSTEE{
			TrusteeForm:  windows.TRUSTEE_IS_SID,
			TrusteeType:  windows.TRUSTEE_IS_USER,
			TrusteeValue: windows.TrusteeValueFromSID(user.User.Sid),
		},
	}}, nil)
	if err != nil {
		return fmt.Errorf("cannot build an owner-only ACL for %q: %w", path, err)
	}
	err = windows.SetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.DACL_SECURITY_INFORMATION|windows.PROTECTED_DACL_SECURITY_INFORMATION,
		nil, nil, acl, nil)
	if err != nil {
		return fmt.Errorf("cannot restrict %q to its owner: %w", path, err)
	}
	return nil
}
