//go:build unix

// Package unixuser gives a test a throwaway unix account whose home in
// the password database is a directory of the test. OpenSSH takes ~ from
// the password database, not $HOME, so only such an account lets ssh
// (and git through it) read the same ~/.ssh as git-bbkey, with nothing
// passed to ssh explicitly: the set-ups of a real user, tested as they
// are.
//
// Creating an account needs root (CI runs as root); elsewhere the test is
// skipped with the reason. The account is deleted when the test ends.
package unixuser

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// User is the test's account.
type User struct {
	Name     string
	UID, GID int
	Home     string // its home, in the password database and as $HOME

	t testing.TB
}

// New creates the account, with an empty home (mode 0700, its own) in a
// directory of the test. It skips the test unless it runs as root.
func New(t testing.TB) *User {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating a unix account for OpenSSH to read the test's ~/.ssh needs root (CI runs as root)")
	}
	useradd := testutil.RequireTool(t, "useradd")
	userdel := testutil.RequireTool(t, "userdel")
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	name := "bbkt" + hex.EncodeToString(b)
	root := t.TempDir()
	// The account must be able to reach its home through the test's
	// directories (0700 for root otherwise).
	for _, d := range []string{filepath.Dir(root), root} {
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	home := filepath.Join(root, "home")
	if out, err := exec.Command(useradd, "--no-create-home", "--home-dir", home, "--shell", "/bin/sh", "--user-group", name).CombinedOutput(); err != nil {
		t.Fatalf("unixuser: useradd: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(userdel, name).CombinedOutput(); err != nil {
			t.Errorf("unixuser: userdel %s: %v\n%s", name, err, out)
		}
	})
	lu, err := user.Lookup(name)
	if err != nil {
		t.Fatalf("unixuser: %v", err)
	}
	u := &User{Name: name, Home: home, t: t}
	u.UID, _ = strconv.Atoi(lu.Uid)
	u.GID, _ = strconv.Atoi(lu.Gid)
	if lu.HomeDir != home {
		t.Fatalf("unixuser: the password database has home %q for %s, want %q", lu.HomeDir, name, home)
	}
	u.Mkdir(".")
	return u
}

// Path is a path in the home.
func (u *User) Path(rel string) string { return filepath.Join(u.Home, filepath.FromSlash(rel)) }

// Mkdir creates a directory in the home (and its parents), mode 0700,
// owned by the account.
func (u *User) Mkdir(rel string) string {
	u.t.Helper()
	p := u.Path(rel)
	if err := os.MkdirAll(p, 0o700); err != nil {
		u.t.Fatal(err)
	}
	for d := p; strings.HasPrefix(d, u.Home); d = filepath.Dir(d) {
		u.chown(d)
		if d == u.Home {
			break
		}
	}
	return p
}

// WriteFile writes a file in the home, owned by the account.
func (u *User) WriteFile(rel, content string, mode os.FileMode) string {
	u.t.Helper()
	u.Mkdir(filepath.Dir(filepath.FromSlash(rel)))
	p := u.Path(rel)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		u.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // whatever the umask
		u.t.Fatal(err)
	}
	u.chown(p)
	return p
}

// Give makes the account own path (and what is in it).
func (u *User) Give(path string) {
	u.t.Helper()
	err := filepath.Walk(path, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, u.UID, u.GID)
	})
	if err != nil {
		u.t.Fatal(err)
	}
}

func (u *User) chown(p string) {
	u.t.Helper()
	if err := os.Lchown(p, u.UID, u.GID); err != nil {
		u.t.Fatal(err)
	}
}

// Env is a login environment of the account: HOME, USER, LOGNAME, SHELL,
// PATH (bin first, when given), no git or ssh settings from the test's
// own environment, then extra.
func (u *User) Env(bin string, extra ...string) []string {
	path := os.Getenv("PATH")
	if bin != "" {
		path = bin + string(os.PathListSeparator) + path
	}
	env := []string{"HOME=" + u.Home, "USER=" + u.Name, "LOGNAME=" + u.Name, "SHELL=/bin/sh", "PATH=" + path,
		"LANG=C", "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0"}
	return append(env, extra...)
}

// Command runs name as the account, in dir, with env (see Env), until ctx
// ends; then Wait waits at most testutil.CommandWaitDelay for a process
// it started (git's ssh) to let go of the output pipes.
func (u *User) Command(ctx context.Context, dir string, env []string, name string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = testutil.CommandWaitDelay
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(u.UID), Gid: uint32(u.GID)}}
	return cmd
}

// Executable copies the program at src into a directory the account can
// run it from, as name, and returns that directory (for PATH).
func (u *User) Executable(src, name string) string {
	u.t.Helper()
	dir := filepath.Join(filepath.Dir(u.Home), "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		u.t.Fatal(err)
	}
	data, err := os.ReadFile(src)
	if err != nil {
		u.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o755); err != nil {
		u.t.Fatal(err)
	}
	return dir
}
