package gitremote

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

func TestFetchURL(t *testing.T) {
	rules := Rules{
		{Base: "ssh://git@bb.example.com:7999/", Prefix: "bb:"},
		{Base: "ssh://git@other.example.com/", Prefix: "bb:proj/"},
		{Base: "ssh://git@bb.example.com:7999/", Prefix: "https://bb.example.com/scm/"},
	}
	for _, c := range []struct{ in, want string }{
		{"bb:team/repo.git", "ssh://git@bb.example.com:7999/team/repo.git"},
		{"bb:proj/repo.git", "ssh://git@other.example.com/repo.git"}, // the longest prefix wins
		{"https://bb.example.com/scm/proj/repo.git", "ssh://git@bb.example.com:7999/proj/repo.git"},
		{"https://github.com/o/r.git", "https://github.com/o/r.git"},
		{"xbb:proj/repo.git", "xbb:proj/repo.git"}, // a prefix, not a substring
	} {
		if got := rules.FetchURL(c.in); got != c.want {
			t.Errorf("FetchURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Rules(nil).FetchURL("bb:x"); got != "bb:x" {
		t.Errorf("no rules: %q", got)
	}
}

// Where git fetches and pushes, as remote.c works it out.
func TestApply(t *testing.T) {
	rules := Rules{
		{Base: "ssh://git@bb:7999/", Prefix: "bb:"},
		{Base: "ssh://git@push:7999/", Prefix: "bb:fork/", Push: true},
	}
	for _, c := range []struct {
		name           string
		urls, pushURLs []string
		wantURLs       []string
		wantPush       []string
	}{
		{"no pushurl, no pushInsteadOf match", []string{"bb:p/r.git"}, nil,
			[]string{"ssh://git@bb:7999/p/r.git"}, []string{"ssh://git@bb:7999/p/r.git"}},
		{"pushInsteadOf", []string{"bb:fork/r.git"}, nil,
			[]string{"ssh://git@bb:7999/fork/r.git"}, []string{"ssh://git@push:7999/r.git"}},
		// git pushes only to the URLs a pushInsteadOf rule matched.
		{"pushInsteadOf for one URL of two", []string{"bb:p/r.git", "bb:fork/r.git"}, nil,
			[]string{"ssh://git@bb:7999/p/r.git", "ssh://git@bb:7999/fork/r.git"}, []string{"ssh://git@push:7999/r.git"}},
		// A pushurl takes insteadOf, never pushInsteadOf.
		{"pushurl", []string{"bb:p/r.git"}, []string{"bb:fork/r.git"},
			[]string{"ssh://git@bb:7999/p/r.git"}, []string{"ssh://git@bb:7999/fork/r.git"}},
	} {
		r := Remote{Name: "origin", URLs: slices.Clone(c.urls), PushURLs: slices.Clone(c.pushURLs)}
		rules.Apply(&r)
		if !slices.Equal(r.URLs, c.wantURLs) || !slices.Equal(r.PushURLs, c.wantPush) || !slices.Equal(r.Written, c.urls) {
			t.Errorf("%s: URLs %q, PushURLs %q, Written %q; want %q, %q, %q", c.name, r.URLs, r.PushURLs, r.Written, c.wantURLs, c.wantPush, c.urls)
		}
	}
	if got := rules.PushURL("bb:fork/r.git"); got != "ssh://git@push:7999/r.git" {
		t.Errorf("PushURL = %q", got)
	}
	if got := rules.PushURL("bb:p/r.git"); got != "ssh://git@bb:7999/p/r.git" {
		t.Errorf("PushURL without a push rule = %q", got)
	}
}

// A Repo reads the rules through git (global and local, includes) and
// gives the URLs git itself reports: `git remote get-url` and
// `git remote get-url --push` are the oracle.
func TestRepoMatchesGit(t *testing.T) {
	testutil.RequireTool(t, "git")
	home := t.TempDir()
	dir := filepath.Join(t.TempDir(), "repo")
	env := append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, ".config"), "GIT_CONFIG_NOSYSTEM=1")
	git := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env = dir, env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	git("init", "-q")
	inc := filepath.Join(home, "rules.inc")
	if err := os.WriteFile(inc, []byte("[url \"ssh://git@push.example:7999/\"]\n\tpushInsteadOf = bb:fork/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("config", "--global", "url.ssh://git@bb.example:7999/.insteadOf", "bb:")
	git("config", "--global", "include.path", inc)
	git("config", "url.ssh://git@local.example/.insteadOf", "bb:local/")
	git("remote", "add", "origin", "bb:proj/repo.git")
	git("remote", "add", "fork", "bb:fork/repo.git")
	git("remote", "add", "local", "bb:local/repo.git")
	git("remote", "add", "pushurl", "bb:proj/repo.git")
	git("config", "remote.pushurl.pushurl", "bb:fork/other.git")

	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	repo := &Repo{Dir: dir, Config: &gitconfig.Reader{Dir: dir, Env: env}}
	remotes, err := repo.Remotes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(remotes) != 4 {
		t.Fatalf("remotes: %+v", remotes)
	}
	for _, r := range remotes {
		fetch := trimNL(git("remote", "get-url", r.Name))
		push := trimNL(git("remote", "get-url", "--push", r.Name))
		if r.FirstURL() != fetch || len(r.PushURLs) != 1 || r.PushURLs[0] != push {
			t.Errorf("%s: fetch %q push %q; git says %q and %q", r.Name, r.FirstURL(), r.PushURLs, fetch, push)
		}
	}
	one, err := repo.Remote(context.Background(), "local")
	if err != nil || one.FirstURL() != "ssh://git@local.example/repo.git" || one.Written[0] != "bb:local/repo.git" {
		t.Errorf("Remote(local) = %+v, %v", one, err)
	}
}

func trimNL(s string) string {
	for len(s) > 0 && (s[len(s)-1] == '\n' || s[len(s)-1] == '\r') {
		s = s[:len(s)-1]
	}
	return s
}
