package gitremote

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

func runGit(t *testing.T, dir string, args ...string) {
	t.Helper()
	gitPath := testutil.RequireTool(t, "git")
	cmd := exec.Command(gitPath, args...)
	cmd.Dir = dir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir, "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

// newRepo makes a real repository with two remotes (one with two URLs)
// and a commit, so that worktrees can be added.
func newRepo(t *testing.T) string {
	t.Helper()
	t.Setenv("GIT_DIR", "")
	dir := filepath.Join(t.TempDir(), "work")
	runGit(t, filepath.Dir(dir), "init", "-q", dir)
	runGit(t, dir, "remote", "add", "origin", "ssh://git@bitbucket.example.com:7999/proj/repo.git")
	runGit(t, dir, "remote", "add", "backup", "https://bitbucket.example.com/scm/proj/repo.git")
	runGit(t, dir, "remote", "set-url", "--add", "backup", "git@bitbucket.example.com:proj/repo.git")
	runGit(t, dir, "commit", "-q", "--allow-empty", "-m", "init")
	return dir
}

var wantRemotes = []Remote{
	{Name: "backup", URLs: []string{"https://bitbucket.example.com/scm/proj/repo.git", "git@bitbucket.example.com:proj/repo.git"}},
	{Name: "origin", URLs: []string{"ssh://git@bitbucket.example.com:7999/proj/repo.git"}},
}

func TestRemotes(t *testing.T) {
	dir := newRepo(t)
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{dir, sub, filepath.Join(dir, ".git")} {
		got, err := Remotes(d)
		if err != nil {
			t.Fatalf("Remotes(%q): %v", d, err)
		}
		if !reflect.DeepEqual(got, wantRemotes) {
			t.Errorf("Remotes(%q) = %+v, want %+v", d, got, wantRemotes)
		}
	}
	r, err := LookupRemote(sub, "origin")
	if err != nil || r.URLs[0] != "ssh://git@bitbucket.example.com:7999/proj/repo.git" {
		t.Errorf("LookupRemote(origin) = %+v, %v", r, err)
	}
	if _, err := LookupRemote(dir, "nope"); !errors.Is(err, ErrRemoteNotFound) {
		t.Errorf("LookupRemote(nope) error = %v, want ErrRemoteNotFound", err)
	}
}

// The URLs come as written: applying url.<base>.insteadOf is the
// caller's job (with git's full set of rules), and must happen once.
func TestRemotesAsWritten(t *testing.T) {
	dir := newRepo(t)
	runGit(t, dir, "config", "url.ssh://git@bitbucket.example.com:7999/.insteadOf", "https://bitbucket.example.com/scm/")
	r, err := LookupRemote(dir, "backup")
	if err != nil {
		t.Fatal(err)
	}
	if r.URLs[0] != "https://bitbucket.example.com/scm/proj/repo.git" {
		t.Errorf("URLs = %q, want the URL as written", r.URLs)
	}
	if r.PushURLs != nil {
		t.Errorf("PushURLs = %q, want none", r.PushURLs)
	}
	runGit(t, dir, "remote", "set-url", "--push", "backup", "ssh://git@bitbucket.example.com:7999/~me/fork.git")
	if r, err = LookupRemote(dir, "backup"); err != nil {
		t.Fatal(err)
	}
	if len(r.PushURLs) != 1 || r.PushURLs[0] != "ssh://git@bitbucket.example.com:7999/~me/fork.git" || len(r.URLs) != 2 {
		t.Errorf("after set-url --push: URLs %q, PushURLs %q", r.URLs, r.PushURLs)
	}
}

func TestRemotesWorktree(t *testing.T) {
	dir := newRepo(t)
	wt := filepath.Join(filepath.Dir(dir), "linked")
	runGit(t, dir, "worktree", "add", "-q", wt)
	got, err := Remotes(wt)
	if err != nil {
		t.Fatalf("Remotes(worktree): %v", err)
	}
	if !reflect.DeepEqual(got, wantRemotes) {
		t.Errorf("Remotes(worktree) = %+v, want %+v", got, wantRemotes)
	}
}

func TestRemotesGitDir(t *testing.T) {
	dir := newRepo(t)
	elsewhere := t.TempDir()

	t.Setenv("GIT_DIR", filepath.Join(dir, ".git"))
	got, err := Remotes(elsewhere)
	if err != nil {
		t.Fatalf("Remotes with GIT_DIR: %v", err)
	}
	if !reflect.DeepEqual(got, wantRemotes) {
		t.Errorf("Remotes with GIT_DIR = %+v, want %+v", got, wantRemotes)
	}

	// A relative GIT_DIR is taken from dir, as `git -C dir` does.
	t.Setenv("GIT_DIR", ".git")
	if got, err := Remotes(dir); err != nil || len(got) != 2 {
		t.Errorf("Remotes with relative GIT_DIR = %+v, %v", got, err)
	}

	// A bare repository named by GIT_DIR, inside an unrelated work tree:
	// the bare one is read, not the one around it.
	bare := filepath.Join(dir, "inner.git")
	runGit(t, dir, "init", "-q", "--bare", bare)
	runGit(t, bare, "remote", "add", "mirror", "ssh://git@other.example.com/x/y.git")
	t.Setenv("GIT_DIR", bare)
	got, err = Remotes(dir)
	if err != nil || len(got) != 1 || got[0].Name != "mirror" {
		t.Errorf("Remotes with bare GIT_DIR = %+v, %v", got, err)
	}

	t.Setenv("GIT_DIR", filepath.Join(elsewhere, "missing"))
	if _, err := Remotes(dir); !errors.Is(err, ErrNotRepository) {
		t.Errorf("missing GIT_DIR: error %v, want ErrNotRepository", err)
	}
}

func TestRemotesNotRepository(t *testing.T) {
	t.Setenv("GIT_DIR", "")
	dir := t.TempDir()
	if _, err := Remotes(dir); !errors.Is(err, ErrNotRepository) {
		t.Errorf("Remotes(empty dir) error = %v, want ErrNotRepository", err)
	}
	if _, err := LookupRemote(dir, "origin"); !errors.Is(err, ErrNotRepository) {
		t.Errorf("LookupRemote(empty dir) error = %v, want ErrNotRepository", err)
	}
}

func TestRemotesNone(t *testing.T) {
	t.Setenv("GIT_DIR", "")
	dir := t.TempDir()
	runGit(t, dir, "init", "-q")
	got, err := Remotes(dir)
	if err != nil || len(got) != 0 {
		t.Errorf("Remotes(no remotes) = %+v, %v", got, err)
	}
}
