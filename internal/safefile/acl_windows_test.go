//go:build windows

package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/sys/windows"
)

// wantOpenSSHACL checks that acl has exactly the entries Win32-OpenSSH
// demands of a private key: full control for the current user, SYSTEM and
// Administrators, nothing inherited, nobody else.
func wantOpenSSHACL(t *testing.T, what string, acl *fileACL, dir bool) {
	t.Helper()
	if acl.nullDACL || !acl.protected {
		t.Errorf("%s: null DACL %v, protected %v; want a protected DACL", what, acl.nullDACL, acl.protected)
	}
	user, err := currentUser()
	if err != nil {
		t.Fatal(err)
	}
	wantFlags := uint8(0)
	if dir {
		wantFlags = windows.OBJECT_INHERIT_ACE | windows.CONTAINER_INHERIT_ACE
	}
	var who []string
	for _, e := range acl.entries {
		if !e.allow || e.inherited || e.mask != fileAllAccess || e.flags != wantFlags {
			t.Errorf("%s: entry for %v: allow %v inherited %v mask %#x flags %#x; want allow, full control (%#x), flags %#x",
				what, e.sid, e.allow, e.inherited, e.mask, e.flags, fileAllAccess, wantFlags)
		}
		switch {
		case e.sid.Equals(user):
			who = append(who, "user")
		case e.sid.IsWellKnown(windows.WinLocalSystemSid):
			who = append(who, "SYSTEM")
		case e.sid.IsWellKnown(windows.WinBuiltinAdministratorsSid):
			who = append(who, "Administrators")
		default:
			who = append(who, e.sid.String())
		}
	}
	slices.Sort(who)
	if !slices.Equal(who, []string{"Administrators", "SYSTEM", "user"}) {
		t.Errorf("%s: DACL entries for %q, want the user, SYSTEM and Administrators only", what, who)
	}
}

// The DACL restrictToOwner hands to Windows, decoded by Windows' own
// GetAce, is exactly OpenSSH's, and CheckPrivate accepts it.
func TestPrivateDACLIsOpenSSHs(t *testing.T) {
	user, err := currentUser()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range []bool{false, true} {
		dacl, err := privateDACL(user, dir)
		if err != nil {
			t.Fatal(err)
		}
		sd, err := windows.NewSecurityDescriptor()
		if err != nil {
			t.Fatal(err)
		}
		if err := sd.SetOwner(user, false); err != nil {
			t.Fatal(err)
		}
		if err := sd.SetDACL(dacl, true, false); err != nil {
			t.Fatal(err)
		}
		if err := sd.SetControl(windows.SE_DACL_PROTECTED, windows.SE_DACL_PROTECTED); err != nil {
			t.Fatal(err)
		}
		acl, err := aclFromSD(sd)
		if err != nil {
			t.Fatal(err)
		}
		wantOpenSSHACL(t, "the private DACL", acl, dir)
		if err := checkACL("key", acl, user); err != nil {
			t.Errorf("checkACL of the private DACL = %v", err)
		}
	}
}

// OpenSSH's rule (check_secure_file_permission) on owners and DACLs
// written as SDDL, the notation of icacls and PowerShell's Get-Acl.
func TestCheckPrivateRule(t *testing.T) {
	user, err := currentUser()
	if err != nil {
		t.Fatal(err)
	}
	me := user.String()
	everyone, users := sidName(t, windows.WinWorldSid), sidName(t, windows.WinBuiltinUsersSid)
	authUsers := sidName(t, windows.WinAuthenticatedUserSid)
	for _, c := range []struct {
		sddl       string
		principals []string
		owner      string
	}{
		{"O:" + me + "D:P(A;;FA;;;" + me + ")(A;;FA;;;SY)(A;;FA;;;BA)", nil, ""},
		{"O:BAD:P(A;;FA;;;" + me + ")", nil, ""},                                           // Administrators may own it
		{"O:" + me + "D:(A;ID;FA;;;" + me + ")(A;ID;FA;;;SY)", nil, ""},                    // inherited, but only trusted ones
		{"O:" + me + "D:P(A;;FA;;;" + me + ")(D;;FA;;;WD)", nil, ""},                       // a deny entry grants nothing
		{"O:" + me + "D:P(A;;FA;;;" + me + ")(A;;FA;;;" + trustedInstaller + ")", nil, ""}, // TrustedInstaller
		{"O:" + me + "D:P(A;;FA;;;" + me + ")(A;;FR;;;WD)", []string{everyone}, ""},
		{"O:" + me + "D:(A;ID;FA;;;" + me + ")(A;ID;0x1200a9;;;BU)(A;ID;FR;;;AU)", []string{users, authUsers}, ""},
		{"O:BUD:P(A;;FA;;;" + me + ")", nil, users},
	} {
		sd, err := windows.SecurityDescriptorFromString(c.sddl)
		if err != nil {
			t.Fatalf("%s: %v", c.sddl, err)
		}
		acl, err := aclFromSD(sd)
		if err != nil {
			t.Fatalf("%s: %v", c.sddl, err)
		}
		err = checkACL("id_ed25519", acl, user)
		var ue *UnprotectedError
		switch {
		case c.principals == nil && c.owner == "":
			if err != nil {
				t.Errorf("%s: %v, want accepted", c.sddl, err)
			}
		case !errors.As(err, &ue) || !slices.Equal(ue.Principals, c.principals) || ue.Owner != c.owner:
			t.Errorf("%s: %v, want principals %q, owner %q", c.sddl, err, c.principals, c.owner)
		}
	}
}

// A null DACL (not an empty one) lets everyone in. (Built by hand: Wine
// 8 reads the SDDL "D:NO_ACCESS_CONTROL" as an empty DACL.)
func TestCheckPrivateNullDACL(t *testing.T) {
	user, err := currentUser()
	if err != nil {
		t.Fatal(err)
	}
	sd, err := windows.NewSecurityDescriptor()
	if err != nil {
		t.Fatal(err)
	}
	if err := sd.SetOwner(user, false); err != nil {
		t.Fatal(err)
	}
	if err := sd.SetDACL(nil, true, false); err != nil {
		t.Fatal(err)
	}
	acl, err := aclFromSD(sd)
	if err != nil {
		t.Fatal(err)
	}
	var ue *UnprotectedError
	if err := checkACL("id_ed25519", acl, user); !errors.As(err, &ue) || !slices.Equal(ue.Principals, []string{"Everyone"}) {
		t.Fatalf("checkACL with a null DACL = %v", err)
	}
}

func sidName(t *testing.T, kind windows.WELL_KNOWN_SID_TYPE) string {
	t.Helper()
	sid, err := windows.CreateWellKnownSid(kind)
	if err != nil {
		t.Fatal(err)
	}
	return principal(sid)
}

// underWine reports whether this Windows is Wine, whose ntdll says so.
func underWine() bool {
	return windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
}

// Files and directories written private carry OpenSSH's DACL, read back
// from the file system.
func TestPrivateFilesGetOpenSSHsACL(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "id_ed25519")
	if err := WriteNew(key, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	replaced := filepath.Join(dir, "id_rsa")
	os.WriteFile(replaced, []byte("old"), 0o644)
	if err := Replace(replaced, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	sshDir := filepath.Join(dir, "home", ".ssh")
	if _, err := MkdirPrivate(sshDir); err != nil {
		t.Fatal(err)
	}
	if underWine() {
		sd, _ := windows.GetNamedSecurityInfo(key, windows.SE_FILE_OBJECT, windows.OWNER_SECURITY_INFORMATION|windows.DACL_SECURITY_INFORMATION)
		t.Skipf("Wine 8 does not store a file's DACL (it turns it into Unix mode bits and reads back %v); TestPrivateDACLIsOpenSSHs checks the DACL given to Windows", sd)
	}
	for path, isDir := range map[string]bool{key: false, replaced: false, sshDir: true} {
		acl, err := readACL(path)
		if err != nil {
			t.Fatalf("reading the DACL of %s: %v", path, err)
		}
		wantOpenSSHACL(t, path, acl, isDir)
		if err := CheckPrivate(path); err != nil {
			t.Errorf("CheckPrivate(%s) = %v, want nil", path, err)
		}
	}
}
