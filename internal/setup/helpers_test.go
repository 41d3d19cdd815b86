package setup_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/sshconfig"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

const aliceToken = "alice-token-SECRET"

// world is one user's machine: a home with ~/.ssh, git config of its own,
// a Bitbucket sandbox (REST only: the SSH check is the fake verify), and
// optionally a repository.
type world struct {
	t       *testing.T
	bb      *bbsandbox.Server
	home    string
	sshDir  string
	env     []string
	repo    string // "" until newRepo
	verify  *fakeVerify
	options setup.Options
}

func newWorld(t *testing.T) *world {
	t.Helper()
	bb := bbsandbox.StartTest(t, bbsandbox.Config{
		RESTOnly: true,
		Users:    []bbsandbox.User{{Name: "alice", Password: "alice-pw", Tokens: []string{aliceToken}}},
		Projects: []bbsandbox.Project{{Key: "PROJ", Repos: []string{"demo"}, Admins: []string{"alice"}}},
	})
	home := t.TempDir()
	w := &world{t: t, bb: bb, home: home, sshDir: filepath.Join(home, ".ssh"), verify: &fakeVerify{},
		env: []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "GIT_CONFIG_NOSYSTEM=1",
			"GIT_CONFIG_GLOBAL=" + filepath.Join(home, ".gitconfig"), "BITBUCKET_TOKEN=" + aliceToken}}
	w.options = setup.Options{Email: "alice@example.com", Server: bb.URL(), Remote: "origin", NoPassphrase: true}
	return w
}

// deps are the world's dependencies for one run; ask may be nil.
func (w *world) deps(ask setup.Asker) setup.Deps {
	dir := w.home
	if w.repo != "" {
		dir = w.repo
	}
	cfg := &gitconfig.Reader{Dir: dir, Env: w.env, MissingGitIsUnset: true}
	d := setup.Deps{
		SSHDir: w.sshDir,
		Sessions: bbsession.New(bbsession.Config{Config: cfg, Env: w.env, Dir: dir, UserAgent: "git-bbkey/test",
			Timeout: 5 * time.Second}),
		Git:      setup.Git{Dir: dir, Env: w.env},
		Verify:   w.verify.run,
		LockWait: 5 * time.Second,
	}
	if w.repo != "" {
		d.Repo = &gitremote.Repo{Dir: dir, Config: cfg}
	}
	if ask != nil {
		d.Ask = ask
	}
	return d
}

func (w *world) run(ask setup.Asker) (*setup.Result, error) {
	w.t.Helper()
	return w.runWith(w.options, ask)
}

func (w *world) runWith(o setup.Options, ask setup.Asker) (*setup.Result, error) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return setup.Run(ctx, o, w.deps(ask))
}

// newRepo makes a repository whose origin is url.
func (w *world) newRepo(url string) {
	w.t.Helper()
	w.repo = filepath.Join(w.home, "repo")
	w.git("init", "-q", w.repo)
	w.git("-C", w.repo, "remote", "add", "--", "origin", url)
}

func (w *world) git(args ...string) string {
	w.t.Helper()
	git := testutil.RequireTool(w.t, "git")
	cmd := exec.Command(git, args...)
	cmd.Env, cmd.Dir = w.env, w.home
	out, err := cmd.CombinedOutput()
	if err != nil {
		w.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// registered lists the fingerprints of alice's keys on the server.
func (w *world) registered() []string {
	var fps []string
	for _, k := range w.bb.UserKeys("alice") {
		fps = append(fps, k.Fingerprint)
	}
	return fps
}

// pairFingerprint checks with ssh-keygen that path and path.pub are one
// key, and returns ssh-keygen's fingerprint of it.
func pairFingerprint(t *testing.T, path string) string {
	t.Helper()
	keyg := testutil.RequireTool(t, "ssh-keygen")
	derived, err := exec.Command(keyg, "-y", "-P", "", "-f", path).Output()
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
	out, err := exec.Command(keyg, "-l", "-E", "sha256", "-f", path).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))[1]
}

// fakeVerify stands in for the verify workflow: it records what it is
// asked and answers with out (ok and a pinned host key by default).
type fakeVerify struct {
	mu      sync.Mutex
	targets []setup.Target
	keys    []string
	out     *setup.Outcome
	err     error
}

func (f *fakeVerify) run(ctx context.Context, t setup.Target, key *sshkeys.Unlocked) (setup.Outcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.targets = append(f.targets, t)
	f.keys = append(f.keys, sshkeys.Fingerprint(key.Signer.PublicKey()))
	if f.err != nil {
		return setup.Outcome{}, f.err
	}
	if f.out != nil {
		return *f.out, nil
	}
	return setup.Outcome{Status: sshverify.StatusOK, User: "alice", Refs: 1, Pinned: len(f.targets) == 1}, nil
}

// fakeAsker answers setup's questions from its fields and records them.
type fakeAsker struct {
	reuse, replace, fixRemote, sshConfig bool
	passphrase                           []byte
	errAt                                string // the question that fails with err
	err                                  error
	asked                                []string
	intros                               []setup.Intro
}

func (a *fakeAsker) answer(q string, v bool) (bool, error) {
	a.asked = append(a.asked, q)
	if a.errAt == q {
		return false, a.err
	}
	return v, nil
}

func (a *fakeAsker) Intro(i setup.Intro) { a.intros = append(a.intros, i) }
func (a *fakeAsker) Reuse(ctx context.Context, k setup.Key) (bool, error) {
	return a.answer("reuse", a.reuse)
}
func (a *fakeAsker) Replace(ctx context.Context, path string) (bool, error) {
	return a.answer("replace", a.replace)
}
func (a *fakeAsker) FixRemote(ctx context.Context, name, from, to string) (bool, error) {
	return a.answer("fix-remote", a.fixRemote)
}
func (a *fakeAsker) WriteSSHConfig(ctx context.Context, path string, b sshconfig.Block) (bool, error) {
	return a.answer("ssh-config", a.sshConfig)
}
func (a *fakeAsker) NewPassphrase(ctx context.Context) ([]byte, error) {
	if _, err := a.answer("new-passphrase", true); err != nil {
		return nil, err
	}
	return a.passphrase, nil
}
func (a *fakeAsker) Passphrase(ctx context.Context, question string) ([]byte, error) {
	if _, err := a.answer("passphrase", true); err != nil {
		return nil, err
	}
	return a.passphrase, nil
}
func (a *fakeAsker) Say(string) {}

// gitMaybe is git's output, "" when it fails (a setting that is unset).
func (w *world) gitMaybe(args ...string) string {
	w.t.Helper()
	cmd := exec.Command(testutil.RequireTool(w.t, "git"), args...)
	cmd.Env, cmd.Dir = w.env, w.home
	out, _ := cmd.Output()
	return strings.TrimSpace(string(out))
}
