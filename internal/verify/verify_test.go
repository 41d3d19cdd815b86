package verify

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

// lab is a real sshd serving alice's repository, a repository with
// remotes, and git's ssh as `ssh -F CONFIG` (OpenSSH is told its files,
// as it reads ~ from the password database), or a wrapper around it.
type lab struct {
	srv              *sshdtest.Server
	dir, repo        string
	good, bad        string // key files: alice's, and one the server does not know
	goodKey          ssh.Signer
	knownHosts, conf string
	env              []string
}

func newLab(t *testing.T, blocks ...string) *lab {
	t.Helper()
	testutil.RequireTool(t, "ssh")
	git := testutil.RequireTool(t, "git")
	l := &lab{srv: sshdtest.Start(t, sshdtest.Options{}), dir: t.TempDir()}
	l.goodKey, l.good = sshdtest.NewKey(t, l.dir, "good")
	_, l.bad = sshdtest.NewKey(t, l.dir, "bad")
	l.srv.Authorize(l.goodKey.PublicKey(), "alice")
	l.srv.NewRepo("/proj/repo.git", []string{"main"}, nil)
	l.knownHosts = filepath.Join(l.dir, "known_hosts")
	if err := os.WriteFile(l.knownHosts, []byte(l.srv.KnownHostsLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(l.srv.Port)
	all := append([]string{
		"Host bb", "  HostName 127.0.0.1", "  Port " + port, "  User " + l.srv.LoginUser, "  IdentityFile " + l.good,
		"Host badkey", "  HostName 127.0.0.1", "  Port " + port, "  User " + l.srv.LoginUser, "  IdentityFile " + l.bad,
	}, blocks...)
	l.conf = sshdtest.WriteSSHConfig(t, l.dir, l.bad, l.knownHosts, all...)
	l.repo = filepath.Join(l.dir, "repo")
	if out, err := exec.Command(git, "init", "-q", l.repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	l.env = append(sshdtest.GitEnv(l.dir), "GIT_SSH_COMMAND=ssh -F "+l.conf)
	return l
}

func (l *lab) git(t *testing.T, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir, cmd.Env = l.repo, l.env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
}

func getenv(env []string) func(string) string {
	return func(k string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], k+"="); ok {
				return v
			}
		}
		return ""
	}
}

// deps are the workflow's dependencies for the lab, in dir.
func (l *lab) deps(dir string) Deps {
	cfg := &gitconfig.Reader{Dir: dir, Env: l.env}
	return Deps{
		Repo:   &gitremote.Repo{Dir: dir, Config: cfg},
		Home:   l.dir,
		Env:    l.env,
		Dir:    dir,
		Getenv: getenv(l.env),
		Config: cfg,
		Unlock: func(_ context.Context, path string) (*sshkeys.Unlocked, error) {
			return sshkeys.Unlock(path, sshkeys.UnlockOptions{})
		},
	}
}

func runAll(t *testing.T, d Deps, opts Options) []Result {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = 20 * time.Second
	}
	res, err := Run(context.Background(), d, opts)
	if err != nil {
		t.Fatalf("Run(%+v): %v", opts, err)
	}
	return res
}

// Each target goes the way git's ssh would: the alias's host, port, user
// and identity; remotes with git's names; transport URLs and other hosts
// refused or skipped before anything is dialled.
func TestRun(t *testing.T) {
	l := newLab(t)
	l.git(t, "remote", "add", "origin", "bb:proj/repo.git")
	l.git(t, "remote", "add", "evil", "ext::sh -c touch% /tmp/bbkey-verify-pwned")
	l.git(t, "remote", "add", "hub", "https://github.com/octo/demo.git")
	d := l.deps(l.repo)

	res := runAll(t, d, Options{})
	if r := res[0]; r.Status != StatusOK || r.Remote != "origin" || r.Key != l.good || r.User != "alice" || r.Via != ViaDirect ||
		r.Host != "127.0.0.1" || r.Port != l.srv.Port || r.SSHHost != "bb" || !r.SCPLike || r.PortGiven {
		t.Errorf("origin: %+v", r)
	}
	res = runAll(t, d, Options{Names: []string{"badkey:proj/repo.git", "evil", "bb:proj/missing.git"}})
	if res[0].Status != StatusKeyRejected || res[0].Key != l.bad || res[0].Fingerprint == "" {
		t.Errorf("badkey: %+v", res[0])
	}
	var te *gitremote.TransportError
	if res[1].Status != StatusBadURL || !errors.As(res[1].Err, &te) || te.Transport != "ext" || res[1].Via != ViaNone {
		t.Errorf("evil: %+v", res[1])
	}
	if res[2].Status != StatusRepoNotFound {
		t.Errorf("missing: %+v", res[2])
	}
	// With All the https remote of another server is skipped; named, it
	// is bad-url (no Bitbucket to map it).
	res = runAll(t, d, Options{All: true})
	if len(res) != 3 || res[0].Status != StatusBadURL || res[1].Status != StatusSkipped || res[1].Skip == nil || res[2].Status != StatusOK {
		t.Errorf("--all: %+v", res)
	}
	var notBB *NotBitbucketURLError
	if res = runAll(t, d, Options{Names: []string{"hub"}}); res[0].Status != StatusBadURL || !errors.As(res[0].Err, &notBB) {
		t.Errorf("hub: %+v", res[0])
	}
	// --key chooses; gitKey names what git's ssh offers.
	res = runAll(t, d, Options{Key: l.bad})
	if res[0].Status != StatusKeyRejected || res[0].GitKey != l.good || !hasNote(res[0], NoteGitKeyDiffers) {
		t.Errorf("--key: %+v", res[0])
	}
	if _, err := os.Stat("/tmp/bbkey-verify-pwned"); err == nil {
		t.Fatal("the ext:: command ran")
	}

	// The run's own errors.
	for _, c := range []struct {
		dir  string
		opts Options
		want any
	}{
		{l.repo, Options{Names: []string{"nosuch"}}, new(*UnknownNameError)},
		{l.repo, Options{DefaultRemote: "upstream"}, new(*NoRemoteError)},
		{t.TempDir(), Options{All: true}, new(*NotRepositoryError)},
	} {
		_, err := Run(context.Background(), l.deps(c.dir), c.opts)
		if err == nil || !errors.As(err, c.want) {
			t.Errorf("%+v: %v", c.opts, err)
		}
	}
}

// Check is verify for one target with a key opened by the caller (setup,
// rotate): the host key pinned where ssh keeps it, the host alone.
func TestCheck(t *testing.T) {
	l := newLab(t)
	if err := os.WriteFile(l.knownHosts, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	d := l.deps(l.repo)
	key, err := sshkeys.Unlock(l.good, sshkeys.UnlockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	url := l.srv.URL("/proj/repo.git")
	r, err := Check(context.Background(), d, Target{URL: url}, key, CheckOptions{Timeout: 20 * time.Second})
	if err != nil || r.Status != StatusHostUnknown {
		t.Fatalf("unknown host: %v %+v", err, r)
	}
	r, err = Check(context.Background(), d, Target{URL: url}, key, CheckOptions{AcceptNewHostKey: true, Write: true, Timeout: 20 * time.Second})
	if err != nil || r.Status != StatusOK || !r.HostKeyAdded || len(r.Pins) != 1 || r.Pins[0].File != l.knownHosts ||
		r.User != "alice" || r.Write == nil || !*r.Write || r.Key != l.good {
		t.Fatalf("accept: %v %+v", err, r)
	}
	if data, _ := os.ReadFile(l.knownHosts); string(data) != l.srv.KnownHostsLine()+"\n" {
		t.Errorf("known_hosts %q", data)
	}
	r, err = Check(context.Background(), d, Target{URL: "ssh://" + l.srv.LoginUser + "@127.0.0.1:" + strconv.Itoa(l.srv.Port) + "/", HostOnly: true}, key, CheckOptions{})
	if err != nil || r.Status != StatusOK || r.Refs != nil || r.User != "alice" {
		t.Errorf("host only: %v %+v", err, r)
	}
	// An interrupt is the run's error, not a verdict.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Check(ctx, d, Target{URL: url}, key, CheckOptions{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

// Where in-process cannot match OpenSSH (a wrapper), the checks run
// through the user's ssh, with the same statuses; an unknown host key is
// accepted only as verify would, and then pinned where ssh looks (see
// viassh_test.go).
func TestViaSSH(t *testing.T) {
	l := newLab(t, "Host fresh", "  HostName 127.0.0.1", "  Port 0", "  UserKnownHostsFile FRESH")
	fresh := filepath.Join(l.dir, "fresh_hosts")
	conf, err := os.ReadFile(l.conf)
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(strings.NewReplacer("Port 0", "Port "+strconv.Itoa(l.srv.Port), "FRESH", fresh).Replace(string(conf)))
	if err := os.WriteFile(l.conf, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(l.dir, "myssh")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec ssh -F '"+l.conf+"' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	l.env = append(l.env, "GIT_SSH_COMMAND="+wrapper)
	d := l.deps(l.repo)
	res := runAll(t, d, Options{Names: []string{"bb:proj/repo.git", "badkey:proj/repo.git", "bb:proj/missing.git"}, Write: true})
	if r := res[0]; r.Status != StatusOK || r.Via != ViaSSH || r.User != "alice" || r.Refs == nil || *r.Refs != 2 || r.Write == nil || !*r.Write ||
		len(r.Limits) == 0 || r.Limits[0].Kind != openssh.LimitWrapper {
		t.Errorf("via ssh: %+v", r)
	}
	if r := res[1]; r.Status != StatusKeyRejected || r.Via != ViaSSH {
		t.Errorf("via ssh, unknown key: %+v", r)
	}
	if r := res[2]; r.Status != StatusRepoNotFound || !strings.Contains(r.Message, "Repository not found") {
		t.Errorf("via ssh, missing repository: %+v", r)
	}
	// An unknown host: not accepted without a reason; with
	// --accept-new-host-key, pinned where ssh looks.
	opts := Options{Names: []string{"fresh:proj/repo.git"}, Key: l.good}
	if r := runAll(t, d, opts)[0]; r.Status != StatusHostUnknown || r.Via != ViaSSH || len(r.Pins) != 1 ||
		r.Pins[0].Decision.Reason != sshverify.ReasonNotChecked || r.Pins[0].Recorded {
		t.Errorf("unknown host via ssh: %+v", r)
	}
	if data, _ := os.ReadFile(fresh); len(data) != 0 {
		t.Errorf("not accepted, yet %s = %q", fresh, data)
	}
	opts.AcceptNewHostKey = true
	r := runAll(t, d, opts)[0]
	if r.Status != StatusOK || !r.HostKeyAdded || len(r.Pins) != 1 || r.Pins[0].File != fresh {
		t.Errorf("accepted via ssh: %+v", r)
	}
	if data, _ := os.ReadFile(fresh); string(data) != l.srv.KnownHostsLine()+"\n" {
		t.Errorf("%s = %q", fresh, data)
	}
	// Known now: nothing more is decided or written.
	r = runAll(t, d, opts)[0]
	if r.Status != StatusOK || r.HostKeyAdded || len(r.Pins) != 0 {
		t.Errorf("known via ssh: %+v", r)
	}
}

// The key checked: the identity ssh offers (the first that exists), the
// one given (noting git's when it differs), else a typed error.
func TestChooseKey(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := os.WriteFile(b, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	files := func(p ...string) []openssh.File {
		var out []openssh.File
		for _, x := range p {
			out = append(out, openssh.File{Path: x, HomePath: x})
		}
		return out
	}
	u, _ := gitremote.Parse("bb:p/r.git")
	for _, c := range []struct {
		key      string
		ids      []openssh.File
		variant  openssh.Variant
		want     string
		gitKey   string
		noIdents bool
	}{
		{"", files(a, b), openssh.VariantSSH, b, "", false},
		{a, files(b), openssh.VariantSSH, a, b, false},
		{b, files(a, b), openssh.VariantSSH, b, "", false},
		{"", files(a), openssh.VariantSSH, "", "", true},
		{"", nil, openssh.VariantPlink, "", "", true}, // no default key in this home either
	} {
		r := &run{d: &Deps{Home: dir}, opts: Options{Key: c.key}}
		tg := &target{url: u, settings: &openssh.Settings{IdentityFiles: c.ids, Variant: c.variant}}
		r.chooseKey(tg)
		var noID *NoIdentityError
		if tg.key != c.want || tg.res.GitKey != c.gitKey || errors.As(tg.res.Err, &noID) != c.noIdents {
			t.Errorf("%+v: key %q gitKey %q err %v", c, tg.key, tg.res.GitKey, tg.res.Err)
		}
	}
}

func hasNote(r Result, k NoteKind) bool {
	for _, n := range r.Notes {
		if n.Kind == k {
			return true
		}
	}
	return false
}
