//go:build !windows

package safefile

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// CheckPrivate agrees with OpenSSH: ssh-keygen -y refuses exactly the key
// files CheckPrivate reports, and they name who else has access.
func TestCheckPrivateAgreesWithOpenSSH(t *testing.T) {
	sshKeygen := testutil.RequireTool(t, "ssh-keygen")
	key := filepath.Join(t.TempDir(), "id_ed25519")
	if out, err := exec.Command(sshKeygen, "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	for mode, want := range map[os.FileMode][]string{
		0o600: nil,
		0o400: nil,
		0o640: {"group"},
		0o604: {"others"},
		0o644: {"group", "others"},
		0o601: {"others"}, // execute counts too, as in OpenSSH (st_mode & 077)
	} {
		if err := os.Chmod(key, mode); err != nil {
			t.Fatal(err)
		}
		err := CheckPrivate(key)
		var ue *UnprotectedError
		if want == nil && err != nil || want != nil && (!errors.As(err, &ue) || !slices.Equal(ue.Principals, want) || ue.Mode != mode || ue.Path != key) {
			t.Errorf("mode %04o: CheckPrivate = %v, want principals %q", mode, err, want)
		}
		out, sshErr := exec.Command(sshKeygen, "-y", "-f", key).CombinedOutput()
		refused := sshErr != nil && strings.Contains(string(out), "UNPROTECTED PRIVATE KEY FILE")
		if refused != (want != nil) {
			t.Errorf("mode %04o: ssh-keygen -y refused=%v (%s), CheckPrivate says %v", mode, refused, out, err)
		}
	}
}

func TestCheckPrivateMissingFile(t *testing.T) {
	err := CheckPrivate(filepath.Join(t.TempDir(), "nope"))
	var ue *UnprotectedError
	if err == nil || errors.As(err, &ue) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("CheckPrivate of a missing file = %v", err)
	}
}
