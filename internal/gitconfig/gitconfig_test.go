package gitconfig

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

func TestReaderUsesGitsOwnRules(t *testing.T) {
	git := testutil.RequireTool(t, "git")
	home := t.TempDir()
	inc := filepath.Join(home, "included")
	os.WriteFile(inc, []byte("[bbkey]\n\tkeyType = ecdsa\n"), 0o644)
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(
		"[user]\n\temail = a@example.com\n"+
			"[include]\n\tpath = "+inc+"\n"+
			"[http \"https://bb.example.com\"]\n\tsslCAInfo = /ca.pem\n"+
			"[http]\n\tsslVerify = false\n"+
			"[url \"ssh://git@BB.example.com:7999/\"]\n\tinsteadOf = bb:\n\tinsteadOf = https://bb.example.com/scm/\n"), 0o644)
	env := []string{"HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=bbkey.remote", "GIT_CONFIG_VALUE_0=upstream"}
	r := &Reader{Git: git, Dir: home, Env: env}
	ctx := context.Background()

	check := func(got string, ok bool, err error, want string) {
		t.Helper()
		if err != nil || !ok || got != want {
			t.Fatalf("got %q ok=%v err=%v, want %q", got, ok, err, want)
		}
	}
	v, ok, err := r.Get(ctx, "user.email")
	check(v, ok, err, "a@example.com")
	v, ok, err = r.Get(ctx, "bbkey.keyType") // through [include]
	check(v, ok, err, "ecdsa")
	v, ok, err = r.Get(ctx, "bbkey.remote") // through GIT_CONFIG_*
	check(v, ok, err, "upstream")
	v, ok, err = r.GetURLMatch(ctx, "http.sslCAInfo", "https://bb.example.com/scm/p/r.git")
	check(v, ok, err, "/ca.pem")
	if _, ok, err := r.GetURLMatch(ctx, "http.sslCAInfo", "https://other.example.com/"); ok || err != nil {
		t.Fatalf("other host matched: ok=%v err=%v", ok, err)
	}
	b, ok, err := r.GetBool(ctx, "http.sslVerify")
	if err != nil || !ok || b {
		t.Fatalf("sslVerify: %v %v %v", b, ok, err)
	}
	if _, ok, err := r.Get(ctx, "bbkey.url"); ok || err != nil {
		t.Fatalf("unset key: ok=%v err=%v", ok, err)
	}

	got, err := r.GetRegexp(ctx, `^url\..*\.insteadof$`)
	want := [][2]string{{"url.ssh://git@BB.example.com:7999/.insteadof", "bb:"}, {"url.ssh://git@BB.example.com:7999/.insteadof", "https://bb.example.com/scm/"}}
	if err != nil || len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("GetRegexp = %q, %v; want %q", got, err, want)
	}
	if got, err := r.GetRegexp(ctx, `^nosuch\.`); err != nil || len(got) != 0 {
		t.Fatalf("GetRegexp with no match = %q, %v", got, err)
	}
}

// Without git, a read fails with ErrGitNotFound (whether git was to be
// found on PATH or at a given path), or answers "not set" when the caller
// says that a missing git means no settings.
func TestMissingGit(t *testing.T) {
	ctx := context.Background()
	for _, git := range []string{"git-bbkey-no-such-git", filepath.Join(t.TempDir(), "git")} {
		r := &Reader{Git: git}
		if _, ok, err := r.Get(ctx, "user.email"); ok || !errors.Is(err, ErrGitNotFound) {
			t.Errorf("Get with git %q: ok=%v err=%v, want ErrGitNotFound", git, ok, err)
		}
		if _, ok, err := r.GetURLMatch(ctx, "http.sslVerify", "https://bb.example.com"); ok || !errors.Is(err, ErrGitNotFound) {
			t.Errorf("GetURLMatch with git %q: ok=%v err=%v, want ErrGitNotFound", git, ok, err)
		}
		if got, err := r.GetRegexp(ctx, `^url\.`); got != nil || !errors.Is(err, ErrGitNotFound) {
			t.Errorf("GetRegexp with git %q: %q, %v; want ErrGitNotFound", git, got, err)
		}
		r.MissingGitIsUnset = true
		if v, ok, err := r.Get(ctx, "bbkey.keyType"); v != "" || ok || err != nil {
			t.Errorf("Get with git %q and MissingGitIsUnset: %q ok=%v err=%v, want unset", git, v, ok, err)
		}
		if b, ok, err := r.GetBool(ctx, "http.sslVerify"); b || ok || err != nil {
			t.Errorf("GetBool with git %q and MissingGitIsUnset: %v ok=%v err=%v, want unset", git, b, ok, err)
		}
	}
}

// A git that runs and fails is not a missing git, nor is a missing
// working directory.
func TestGitThatFailsIsNotMissing(t *testing.T) {
	git := testutil.RequireTool(t, "git")
	r := &Reader{Git: git, Dir: filepath.Join(t.TempDir(), "gone"), MissingGitIsUnset: true}
	if _, _, err := r.Get(context.Background(), "user.email"); err == nil || errors.Is(err, ErrGitNotFound) {
		t.Errorf("missing working directory: err=%v, want an error other than ErrGitNotFound", err)
	}
	home := t.TempDir()
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[broken\n"), 0o644)
	r = &Reader{Git: git, Dir: home, Env: []string{"HOME=" + home, "GIT_CONFIG_NOSYSTEM=1"}, MissingGitIsUnset: true}
	if _, _, err := r.Get(context.Background(), "user.email"); err == nil || errors.Is(err, ErrGitNotFound) {
		t.Errorf("broken config: err=%v, want git's error", err)
	}
}
