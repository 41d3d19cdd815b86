package bbsession

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

const (
	alicePW    = "alice-pw-SECRET-1"
	aliceToken = "alice-token-SECRET-2"
	bobPW      = "bob-pw-SECRET-3"
)

// world is an isolated git home for one test: its own global config and
// environment, nothing from the machine's.
type world struct {
	t    *testing.T
	git  string
	home string
	env  []string
}

// newWorld needs no git: only the tests that run git (config, credential
// helpers, git as the oracle) require it, through gitc.
func newWorld(t *testing.T) *world {
	t.Helper()
	home := t.TempDir()
	return &world{t: t, git: "git", home: home, env: []string{
		"HOME=" + home, "PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1",
		"XDG_CONFIG_HOME=" + filepath.Join(home, ".config"),
		"GIT_CONFIG_GLOBAL=" + filepath.Join(home, ".gitconfig"),
	}}
}

// setenv sets (or, with unset, removes) a variable of the world.
func (w *world) setenv(key, value string) {
	w.unsetenv(key)
	w.env = append(w.env, key+"="+value)
}

func (w *world) unsetenv(key string) {
	out := w.env[:0]
	for _, kv := range w.env {
		if !strings.HasPrefix(kv, key+"=") {
			out = append(out, kv)
		}
	}
	w.env = out
}

// gitc runs git with the world's environment in its home.
func (w *world) gitc(args ...string) string {
	w.t.Helper()
	w.git = testutil.RequireTool(w.t, "git")
	cmd := testutil.Command(w.t, w.git, args...)
	cmd.Env, cmd.Dir = w.env, w.home
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// config sets a global git config value.
func (w *world) config(key, value string) { w.gitc("config", "--global", "--add", key, value) }

func (w *world) sessions(mod ...func(*Config)) *Sessions {
	cfg := Config{
		Git: w.git, Config: &gitconfig.Reader{Git: w.git, Dir: w.home, Env: w.env, MissingGitIsUnset: true},
		Env: w.env, Dir: w.home, UserAgent: "git-bbkey/test", Timeout: 5 * time.Second,
	}
	for _, m := range mod {
		m(&cfg)
	}
	return New(cfg)
}

// session opens the session with base, failing the test on error.
func (w *world) session(base string, mod ...func(*Config)) *Session {
	w.t.Helper()
	s, err := w.sessions(mod...).For(context.Background(), base)
	if err != nil {
		w.t.Fatal(err)
	}
	return s
}

// startSandbox starts the Bitbucket stand-in, REST only (no git needed):
// alice administers PROJ, bob reads it.
func startSandbox(t *testing.T, mutate ...func(*bbsandbox.Config)) *bbsandbox.Server {
	t.Helper()
	cfg := bbsandbox.Config{
		RESTOnly: true,
		Users: []bbsandbox.User{
			{Name: "alice", Password: alicePW, Tokens: []string{aliceToken}},
			{Name: "bob", Password: bobPW},
		},
		Projects: []bbsandbox.Project{
			{Key: "PROJ", Name: "Project", Repos: []string{"demo"}, Admins: []string{"alice"}, Readers: []string{"bob"}},
		},
		DataDir: t.TempDir(),
		Logf:    t.Logf,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	return bbsandbox.StartTest(t, cfg)
}

// writeFile writes data to a new file in dir and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// count is the number of sandbox requests with method whose path ends
// with suffix.
func count(s *bbsandbox.Server, method, suffix string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			n++
		}
	}
	return n
}
