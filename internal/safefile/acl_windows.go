//go:build windows

package safefile

import (
	"fmt"
	"io/fs"
	"os"
	"unsafe"

	"golang.org/x/sys/windows"
)

// fileAllAccess is FILE_ALL_ACCESS, the "Full control" of Explorer and
// icacls (F), written out so the ACE holds it rather than GENERIC_ALL.
const fileAllAccess = windows.STANDARD_RIGHTS_REQUIRED | windows.SYNCHRONIZE | 0x1FF

// trustedInstaller is NT SERVICE\TrustedInstaller, which Win32-OpenSSH
// also accepts as the owner of, or an entry on, a private file.
const trustedInstaller = "S-1-5-80-956008885-3418522649-1831038044-1853292631-2271478464"

// restrictToOwner gives a private file or directory (perm without group or
// other bits) the ACL Win32-OpenSSH demands of private keys: full control
// for the current user, SYSTEM and Administrators, nobody else, and no
// entries inherited from the parent (a protected DACL). Windows
// ignores Unix modes, so without this a new key would inherit the
// directory's ACL. A directory passes the same entries on to what is
// created in it. Public files keep the inherited ACL.
func restrictToOwner(path string, perm fs.FileMode) error {
	if perm&0o077 != 0 {
		return nil
	}
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("cannot protect %q: %w", path, err)
	}
	user, err := currentUser()
	if err != nil {
		return fmt.Errorf("cannot find the current user to protect %q: %w", path, err)
	}
	acl, err := privateDACL(user, st.IsDir())
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

// privateDACL is the DACL of a private file or directory: full control for
// user, SYSTEM and Administrators; a directory passes the entries on.
func privateDACL(user *windows.SID, dir bool) (*windows.ACL, error) {
	inherit := uint32(windows.NO_INHERITANCE)
	if dir {
		inherit = windows.SUB_CONTAINERS_AND_OBJECTS_INHERIT
	}
	system, err := windows.CreateWellKnownSid(windows.WinLocalSystemSid)
	if err != nil {
		return nil, err
	}
	admins, err := windows.CreateWellKnownSid(windows.WinBuiltinAdministratorsSid)
	if err != nil {
		return nil, err
	}
	var entries []windows.EXPLICIT_ACCESS
	for _, sid := range []*windows.SID{user, system, admins} {
		entries = append(entries, windows.EXPLICIT_ACCESS{
			AccessPermissions: fileAllAccess,
			AccessMode:        windows.GRANT_ACCESS,
			Inheritance:       inherit,
			Trustee: windows.TRUSTEE{
				TrusteeForm:  windows.TRUSTEE_IS_SID,
				TrusteeType:  windows.TRUSTEE_IS_UNKNOWN,
				TrusteeValue: windows.TrusteeValueFromSID(sid),
			},
		})
	}
	return windows.ACLFromEntries(entries, nil)
}

func currentUser() (*windows.SID, error) {
	user, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return nil, err
	}
	return user.User.Sid.Copy()
}

// aclEntry is one access control entry of a file's DACL.
type aclEntry struct {
	sid       *windows.SID
	allow     bool // ACCESS_ALLOWED (else another type, such as a deny)
	mask      windows.ACCESS_MASK
	inherited bool // came from the parent directory
	flags     uint8
}

// fileACL is the owner and DACL of a file, as Windows stores them.
type fileACL struct {
	owner     *windows.SID
	nullDACL  bool // no DACL at all: everyone may do anything
	protected bool // the DACL inherits nothing from the parent
	entries   []aclEntry
}

func readACL(path string) (*fileACL, error) {
	sd, err := windows.GetNamedSecurityInfo(path, windows.SE_FILE_OBJECT,
		windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
	if err != nil {
		return nil, err
	}
	return aclFromSD(sd)
}

func aclFromSD(sd *windows.SECURITY_DESCRIPTOR) (*fileACL, error) {
	res := &fileACL{}
	var err error
	if res.owner, _, err = sd.Owner(); err != nil {
		return nil, err
	}
	if control, _, err := sd.Control(); err == nil {
		res.protected = control&windows.SE_DACL_PROTECTED != 0
	}
	dacl, _, err := sd.DACL()
	if err != nil || dacl == nil {
		// GetSecurityDescriptorDacl reports an absent DACL as an error or
		// a nil ACL: both mean that nothing restricts access.
		res.nullDACL = true
		return res, nil
	}
	for i := uint32(0); i < uint32(dacl.AceCount); i++ {
		var ace *windows.ACCESS_ALLOWED_ACE
		if err := windows.GetAce(dacl, i, &ace); err != nil {
			return nil, err
		}
		e := aclEntry{
			allow:     ace.Header.AceType == windows.ACCESS_ALLOWED_ACE_TYPE,
			mask:      ace.Mask,
			inherited: ace.Header.AceFlags&windows.INHERITED_ACE != 0,
			flags:     ace.Header.AceFlags,
		}
		if e.allow || ace.Header.AceType == windows.ACCESS_DENIED_ACE_TYPE {
			// Both types end in the SID; other types have other layouts.
			e.sid = (*windows.SID)(unsafe.Pointer(&ace.SidStart))
		}
		res.entries = append(res.entries, e)
	}
	return res, nil
}

// CheckPrivate reports a private key file that Win32-OpenSSH would refuse
// to load ("UNPROTECTED PRIVATE KEY FILE", "Bad permissions"): its owner,
// and everyone an entry of its DACL allows any access, must be the current
// user, SYSTEM, Administrators or TrustedInstaller. The rule is OpenSSH's
// check_secure_file_permission. A file others may use gives an
// *UnprotectedError naming them.
func CheckPrivate(path string) error {
	acl, err := readACL(path)
	if err != nil {
		return fmt.Errorf("cannot read the permissions of %q: %w", path, err)
	}
	user, err := currentUser()
	if err != nil {
		return fmt.Errorf("cannot find the current user to check %q: %w", path, err)
	}
	return checkACL(path, acl, user)
}

// checkACL is OpenSSH's rule applied to a file's owner and DACL.
func checkACL(path string, acl *fileACL, user *windows.SID) error {
	trusted := func(sid *windows.SID) bool {
		return sid.Equals(user) || sid.IsWellKnown(windows.WinLocalSystemSid) ||
			sid.IsWellKnown(windows.WinBuiltinAdministratorsSid) || sid.String() == trustedInstaller
	}
	bad := &UnprotectedError{Path: path}
	if acl.owner == nil || !trusted(acl.owner) {
		bad.Owner = principal(acl.owner)
	}
	if acl.nullDACL {
		bad.Principals = append(bad.Principals, "Everyone")
	}
	for _, e := range acl.entries {
		if e.allow && e.mask != 0 && !trusted(e.sid) {
			bad.Principals = appendOnce(bad.Principals, principal(e.sid))
		}
	}
	if bad.Owner == "" && len(bad.Principals) == 0 {
		return nil
	}
	return bad
}

// principal names a SID as Windows tools do (DOMAIN\name), else gives the
// SID itself.
func principal(sid *windows.SID) string {
	if sid == nil {
		return "(no owner)"
	}
	account, domain, _, err := sid.LookupAccount("")
	switch {
	case err != nil || account == "":
		return sid.String()
	case domain == "":
		return account
	default:
		return domain + `\` + account
	}
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}
