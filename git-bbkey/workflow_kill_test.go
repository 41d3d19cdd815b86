package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/rotate"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// setup and rotate killed (SIGKILL) at random moments and at each of
// their steps, and setup run 8 times at once on one HOME, against a
// Bitbucket sandbox. The oracles: ssh-keygen (every key a run reported as
// saved is in place or in key_backup/; the pair in place matches, or is
// keygen's journalled private-key-alone state), the sandbox's registered
// keys, and real git through OpenSSH with the key in place: after every
// complete run, and for rotate after every kill too (rotate promises no
// moment of lost access).

type workflowHome struct {
	*killHome
	bb  *bbsandbox.Server
	git string
	ssh string
}

func newWorkflowHome(t *testing.T) *workflowHome {
	t.Helper()
	h := &workflowHome{killHome: newKillHome(t), git: testutil.RequireTool(t, "git"), ssh: testutil.RequireTool(t, "ssh")}
	h.afterRun = h.loginWorks
	bb := bbsandbox.StartTest(t, bbsandbox.Config{Git: h.git,
		Users:    []bbsandbox.User{{Name: "alice", Password: "alice-pw", Tokens: []string{"alice-token"}}},
		Projects: []bbsandbox.Project{{Key: "PROJ", Repos: []string{"demo"}, Admins: []string{"alice"}}}})
	h.bb = bb
	h.env = append(h.env, "BITBUCKET_TOKEN=alice-token")
	for _, kv := range [][2]string{{"user.email", "kill@example.com"}, {"bbkey.url", bb.URL()}} {
		if out, err := h.gitCommand("config", "--global", kv[0], kv[1]).CombinedOutput(); err != nil {
			t.Fatalf("git config: %v\n%s", err, out)
		}
	}
	return h
}

func (h *workflowHome) gitCommand(args ...string) *exec.Cmd {
	cmd := testutil.Command(h.t, h.git, args...)
	cmd.Env, cmd.Dir = h.env, h.home
	return cmd
}

// loginWorks proves with real git through OpenSSH that the key in place
// logs in to the sandbox and reads the repository.
func (h *workflowHome) loginWorks(when string) {
	h.t.Helper()
	cmd := h.gitCommand("ls-remote", "--", h.bb.CloneURL("PROJ", "demo"))
	cmd.Env = append(slices.Clone(h.env), "GIT_SSH_COMMAND="+h.ssh+" -F /dev/null -i "+h.key+
		" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile="+filepath.Join(h.sshDir, "known_hosts"))
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "refs/heads/") {
		h.t.Fatalf("%s: git ls-remote through OpenSSH with %s fails: %v\n%s", when, h.key, err, out)
	}
}

// checkState is killHome's check of what list shows, run without
// credentials: with them, list also shows the keys registered on the
// server that are not on disk (the earlier keys of setup --new).
func (h *workflowHome) checkState(when string) {
	h.t.Helper()
	env := h.env
	h.env = append(slices.Clone(env), "BITBUCKET_TOKEN=")
	defer func() { h.env = env }()
	h.killHome.checkState(when)
}

// checkPairs is the invariant on disk after any kill: each of the key and
// the rotation's new key is a matching pair, or its private key alone
// while a journal says the next run finishes it, or (the new key) gone.
func (h *workflowHome) checkPairs(when string) {
	h.t.Helper()
	journal := func(name string) bool { _, err := os.Stat(filepath.Join(h.sshDir, name)); return err == nil }
	inFlight := journal(sshkeys.ReplaceJournalName) || journal(rotate.JournalName)
	for _, path := range []string{h.key, h.key + rotate.TmpSuffix} {
		_, privErr := os.Stat(path)
		_, pubErr := os.Stat(path + ".pub")
		switch {
		case privErr == nil && pubErr == nil:
			h.pairFingerprint(path)
		case privErr == nil && !inFlight:
			h.t.Fatalf("%s: %s has no .pub and no journal says a replacement goes on", when, path)
		case privErr == nil && h.fingerprint(path) == "":
			h.t.Fatalf("%s: %s is not a readable private key", when, path)
		case privErr != nil && path == h.key:
			h.t.Fatalf("%s: no key in place at %s", when, path)
		}
	}
}

// finalChecks: after a last complete run nothing is left over, the key in
// place is the one registered key, and every key ever reported as saved
// is in place or in a backup.
func (h *workflowHome) finalChecks(maxRegistered int) {
	h.t.Helper()
	if left, err := sshkeys.FindLeftovers(h.sshDir); err != nil || len(left) != 0 {
		h.t.Fatalf("leftovers after a complete run: %v %v", left, err)
	}
	for _, p := range []string{rotate.JournalName, filepath.Base(h.key) + rotate.TmpSuffix} {
		if _, err := os.Stat(filepath.Join(h.sshDir, p)); err == nil {
			h.t.Fatalf("%s is left after a complete run", p)
		}
	}
	have := map[string]bool{h.pairFingerprint(h.key): true}
	backups, _ := filepath.Glob(filepath.Join(h.sshDir, "key_backup", "*", "*"))
	for _, f := range backups {
		if fp := h.fingerprint(f); fp != "" {
			have[fp] = true
		}
	}
	for fp := range h.reported {
		if !have[fp] {
			h.t.Fatalf("key %s was reported as saved and is neither in place nor in key_backup/", fp)
		}
	}
	var registered []string
	for _, k := range h.bb.UserKeys("alice") {
		registered = append(registered, k.Fingerprint)
	}
	if !slices.Contains(registered, h.fingerprint(h.key)) || len(registered) > maxRegistered {
		h.t.Fatalf("registered %v; want the key in place among at most %d", registered, maxRegistered)
	}
	h.t.Logf("%d keys reported, all found; %d backup files; %d keys registered", len(h.reported), len(backups), len(registered))
}

var setupNewArgs = []string{"setup", "--new", "--yes", "--no-passphrase", "--json"}

func TestSetupNewSurvivesKills(t *testing.T) {
	h := newWorkflowHome(t)
	d := h.medianRun(setupNewArgs...)
	for _, step := range []string{"generated", "locked", "written-temporaries", "backed-up", "journal",
		"removed-old-public", "moved-private", "moved-public"} {
		h.killAfter(-1, []string{"GIT_BBKEY_TEST_CRASH_AFTER=generate:" + step}, setupNewArgs...)
		h.checkPairs("stopped after " + step)
		h.checkState("stopped after " + step)
	}
	const kills = 60
	for i := range kills {
		h.killAfter(rand.N(d*3/2), nil, setupNewArgs...)
		h.checkPairs(fmt.Sprintf("kill %d", i))
		h.checkState(fmt.Sprintf("kill %d", i))
		if i%6 == 5 {
			h.run("setup", "--yes", "--no-passphrase", "--json") // the next run completes: the key works
		}
	}
	h.run(setupNewArgs...)
	h.finalChecks(kills + 20)
}

var rotateArgs = []string{"rotate", "--yes", "--no-passphrase", "--json"}

func TestRotateSurvivesKills(t *testing.T) {
	h := newWorkflowHome(t)
	h.run("setup", "--yes", "--no-passphrase", "--json")
	d := h.medianRun(rotateArgs...)
	steps := []string{"generate:generated", "generate:written-temporaries", "generate:journal", "generate:moved-private",
		"registered", "backed-up", "removed-old-public", "moved-private", "moved"}
	for _, step := range steps {
		h.killAfter(-1, []string{"GIT_BBKEY_TEST_CRASH_AFTER=" + step}, rotateArgs...)
		h.checkPairs("stopped after " + step)
		h.loginWorks("stopped after " + step)
	}
	const kills = 60
	for i := range kills {
		h.killAfter(rand.N(d*3/2), nil, rotateArgs...)
		h.checkPairs(fmt.Sprintf("kill %d", i))
		h.loginWorks(fmt.Sprintf("kill %d", i)) // no moment of lost access
		if i%6 == 5 {
			h.run(rotateArgs...)
		}
	}
	h.run(rotateArgs...)
	h.finalChecks(1) // every old key was deleted once its successor was in place
}

// Eight setups at once on one HOME take turns under the ~/.ssh lock: from
// nothing, one makes the key and the others reuse it; with --new, each
// makes one and backs up the one before, and no key is lost.
func TestConcurrentSetupsLoseNothing(t *testing.T) {
	h := newWorkflowHome(t)
	if made := h.parallel(8, "setup", "--yes", "--no-passphrase", "--json"); len(made) != 1 {
		t.Fatalf("%d setups made a key, want exactly one (the others reuse it)", len(made))
	}
	h.loginWorks("after 8 setups")
	if made := h.parallel(8, setupNewArgs...); len(made) != 8 || len(slices.Compact(slices.Sorted(slices.Values(made)))) != 8 {
		t.Fatalf("8 setups --new reported %d distinct keys: %v", len(made), made)
	}
	h.loginWorks("after 8 setups --new")
	h.checkState("after 8 setups --new")
	h.finalChecks(9)
	if kh, _ := os.ReadFile(filepath.Join(h.sshDir, "known_hosts")); strings.Count(string(kh), "\n") != 1 {
		t.Fatalf("known_hosts has %d lines, want one:\n%s", strings.Count(string(kh), "\n"), kh)
	}
}
