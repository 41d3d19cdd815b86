package keygen

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// keygenFP is ssh-keygen's fingerprint of a key file, "" if it cannot read it.
func keygenFP(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command(testutil.RequireTool(t, "ssh-keygen"), "-l", "-E", "sha256", "-f", path).Output()
	if err != nil {
		return ""
	}
	return strings.Fields(string(out))[1]
}

// checkPair asserts, with ssh-keygen as the oracle, that path and path.pub
// are one key (ssh-keygen -y derives exactly the .pub's key), and returns
// its fingerprint.
func checkPair(t *testing.T, path string) string {
	t.Helper()
	derived, err := exec.Command(testutil.RequireTool(t, "ssh-keygen"), "-y", "-P", "", "-f", path).Output()
	if err != nil {
		t.Fatalf("ssh-keygen -y -f %s: %v", path, err)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	d, p := strings.Fields(string(derived)), strings.Fields(string(pub))
	if len(d) < 2 || len(p) < 2 || d[0] != p[0] || d[1] != p[1] {
		t.Fatalf("%s and its .pub are different keys", path)
	}
	return keygenFP(t, path+".pub")
}

func newSSHDir(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), ".ssh")
}

func plan(t *testing.T, o Options) *Plan {
	t.Helper()
	p, err := NewPlan(o)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestNewPlanDecides(t *testing.T) {
	sshDir := newSSHDir(t)
	p := plan(t, Options{DefaultType: "ECDSA", SSHDir: sshDir, Comment: "c", NoPassphrase: true})
	if p.Type != "ecdsa" || p.Bits != 256 || p.Path != filepath.Join(sshDir, "id_ecdsa") || p.Replace || p.Encrypted() {
		t.Fatalf("default type: %v", p)
	}
	p = plan(t, Options{Type: "rsa", DefaultType: "ecdsa", SSHDir: sshDir, NoPassphrase: true})
	if p.Type != "rsa" || p.Bits != 4096 || p.Path != filepath.Join(sshDir, "id_rsa") {
		t.Fatalf("--type wins: %v", p)
	}
	for typ, want := range map[string]error{"dsa": sshkeys.ErrRefusedType, "rsa1": sshkeys.ErrRefusedType, "x": sshkeys.ErrUnknownType} {
		if _, err := NewPlan(Options{Type: typ, SSHDir: sshDir, NoPassphrase: true}); !errors.Is(err, want) {
			t.Errorf("type %s: %v, want %v", typ, err, want)
		}
	}
	if _, err := NewPlan(Options{Type: "rsa", Bits: 1024, SSHDir: sshDir, NoPassphrase: true}); !errors.Is(err, sshkeys.ErrBadBits) {
		t.Errorf("rsa 1024: %v", err)
	}
	if _, err := NewPlan(Options{SSHDir: sshDir, NoPassphrase: true, Passphrase: []byte("x")}); !errors.Is(err, ErrPassphraseConflict) {
		t.Errorf("both passphrase choices: %v", err)
	}
	if _, err := NewPlan(Options{SSHDir: sshDir}); !errors.Is(err, ErrNoPassphraseChoice) {
		t.Errorf("no passphrase choice and nobody to ask: %v", err)
	}
	p = plan(t, Options{SSHDir: sshDir, AskPassphrase: func() ([]byte, error) { return []byte("asked"), nil }})
	if !p.Encrypted() || strings.Contains(p.String()+p.GoString(), "asked") {
		t.Errorf("asked passphrase: %v", p)
	}
	var noDir *NoDirError
	if _, err := NewPlan(Options{Path: filepath.Join(t.TempDir(), "nope", "k"), SSHDir: sshDir, NoPassphrase: true}); !errors.As(err, &noDir) {
		t.Errorf("missing directory: %v", err)
	}
}

func TestNewPlanAsksBeforeReplacing(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "id_ed25519")
	os.WriteFile(path+".pub", []byte("a stray public half"), 0o644)
	base := Options{Path: path, SSHDir: dir, NoPassphrase: true}

	var exists *ExistsError
	if _, err := NewPlan(base); !errors.As(err, &exists) || exists.Path != path {
		t.Fatalf("no terminal, no --force: %v", err)
	}
	var asked []string
	o := base
	o.Confirm = func(q string) (bool, error) { asked = append(asked, q); return false, nil }
	var kept *KeptError
	if _, err := NewPlan(o); !errors.As(err, &kept) || len(asked) != 1 || asked[0] != path+" already exists.\nOverwrite (y/n)?" {
		t.Fatalf("said no: %v, asked %q", err, asked)
	}
	o.Confirm = func(string) (bool, error) { return true, nil }
	if p := plan(t, o); !p.Replace {
		t.Fatal("said yes: no replacement planned")
	}
	o = base
	o.Force = true
	if p := plan(t, o); !p.Replace {
		t.Fatal("--force: no replacement planned")
	}
}

func TestExecuteWritesAKeySSHKeygenReads(t *testing.T) {
	sshDir := newSSHDir(t)
	p := plan(t, Options{SSHDir: sshDir, Comment: "me@example.com", Passphrase: []byte("pass phrase")})
	res, err := p.Execute(context.Background(), Exec{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(testutil.RequireTool(t, "ssh-keygen"), "-y", "-P", "pass phrase", "-f", res.PrivateKeyPath).Output()
	if err != nil || !strings.HasPrefix(string(out), strings.Join(strings.Fields(string(sshkeys.MarshalPublicKey(res.PublicKey, "")))[:2], " ")) {
		t.Fatalf("ssh-keygen -y with the passphrase: %q, %v", out, err)
	}
	if keygenFP(t, res.PublicKeyPath) != sshkeys.Fingerprint(res.Key.Signer.PublicKey()) || res.BackupDir != "" || !res.Encrypted {
		t.Fatalf("result %+v", res)
	}
	if runtime.GOOS != "windows" {
		for path, want := range map[string]os.FileMode{sshDir: 0o700, res.PrivateKeyPath: 0o600, res.PublicKeyPath: 0o644} {
			if st, _ := os.Stat(path); st.Mode().Perm() != want {
				t.Errorf("%s: mode %o, want %o", path, st.Mode().Perm(), want)
			}
		}
	}
	assertClean(t, sshDir)
}

// ssh-keygen takes a 240-character file name; so must we (our temporaries
// once made the name exceed 255 bytes).
func TestExecuteLongFileName(t *testing.T) {
	sshDir := newSSHDir(t)
	path := filepath.Join(sshDir, strings.Repeat("k", 240))
	for range 2 { // the second time replaces, with a backup
		p := plan(t, Options{Path: path, SSHDir: sshDir, NoPassphrase: true, Force: true})
		if _, err := p.Execute(context.Background(), Exec{}); err != nil {
			t.Fatal(err)
		}
		checkPair(t, path)
	}
	assertClean(t, sshDir)
}

func TestExecuteBacksUpWhatItReplaces(t *testing.T) {
	sshDir := newSSHDir(t)
	first, err := plan(t, Options{SSHDir: sshDir, NoPassphrase: true}).Execute(context.Background(), Exec{})
	if err != nil {
		t.Fatal(err)
	}
	oldFP := checkPair(t, first.PrivateKeyPath)
	var backedUp string
	res, err := plan(t, Options{SSHDir: sshDir, NoPassphrase: true, Force: true}).Execute(context.Background(),
		Exec{Hooks: Hooks{BackedUp: func(dir string) { backedUp = dir }}})
	if err != nil {
		t.Fatal(err)
	}
	if res.BackupDir == "" || backedUp != res.BackupDir {
		t.Fatalf("backup dir %q, told %q", res.BackupDir, backedUp)
	}
	if checkPair(t, filepath.Join(res.BackupDir, "id_ed25519")) != oldFP || checkPair(t, res.PrivateKeyPath) == oldFP {
		t.Fatal("the backup is not the old key, or the key was not replaced")
	}
	assertClean(t, sshDir)
}

// A key made by someone else while ours was generated is never replaced
// without --force, and with it is backed up first.
func TestExecuteRechecksUnderTheLock(t *testing.T) {
	sshDir := newSSHDir(t)
	p := plan(t, Options{SSHDir: sshDir, NoPassphrase: true})
	pf := plan(t, Options{SSHDir: sshDir, NoPassphrase: true, Force: true})
	other, err := plan(t, Options{SSHDir: sshDir, NoPassphrase: true}).Execute(context.Background(), Exec{})
	if err != nil {
		t.Fatal(err)
	}
	otherFP := checkPair(t, other.PrivateKeyPath)
	var exists *ExistsError
	if _, err := p.Execute(context.Background(), Exec{}); !errors.As(err, &exists) {
		t.Fatalf("planned on an empty directory, found a key: %v", err)
	}
	if checkPair(t, other.PrivateKeyPath) != otherFP {
		t.Fatal("the other key was touched")
	}
	assertClean(t, sshDir)
	res, err := pf.Execute(context.Background(), Exec{})
	if err != nil || res.BackupDir == "" || checkPair(t, filepath.Join(res.BackupDir, "id_ed25519")) != otherFP {
		t.Fatalf("--force: %v, backup %q", err, res.BackupDir)
	}
}

func TestExecuteReportsAnUnusableLock(t *testing.T) {
	sshDir := newSSHDir(t)
	os.MkdirAll(filepath.Join(sshDir, LockName), 0o700) // a directory where the lock file goes
	_, err := plan(t, Options{SSHDir: sshDir, NoPassphrase: true}).Execute(context.Background(), Exec{LockWait: 10e9})
	var lf *safefile.LockFileError
	if !errors.As(err, &lf) || errors.Is(err, safefile.ErrLocked) {
		t.Fatalf("%v, want a LockFileError", err)
	}
}

// assertClean: no leftovers and no unexpected backup directories.
func assertClean(t *testing.T, dir string) {
	t.Helper()
	left, err := sshkeys.FindLeftovers(dir)
	if err != nil || len(left) != 0 {
		t.Fatalf("leftovers %v, %v", left, err)
	}
}

// Options carry a passphrase: no format shows it.
func TestOptionsHidePassphrase(t *testing.T) {
	o := Options{SSHDir: "/home/a/.ssh", Passphrase: []byte("s3cret-pass")}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{o, &o} {
			out := fmt.Sprintf(format, v)
			if strings.Contains(out, "s3cret") || strings.Contains(out, fmt.Sprintf("%x", "s3cret")) || strings.Contains(out, fmt.Sprint([]byte("s3cret"))[1:10]) || !strings.Contains(out, "/home/a/.ssh") {
				t.Errorf("%s of %T shows too much or too little: %s", format, v, out)
			}
		}
	}
}
