package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// These tests run the real program many times on one HOME, killing it
// (SIGKILL) at random moments and at each step of a key replacement, and
// running it concurrently. ssh-keygen is the oracle: every key a run
// reported as saved is in place or in key_backup/, the pair in place
// always matches (or, while a journalled replacement is unfinished, the
// private key is alone), backups are whole, nothing a kill left is listed
// as a key, and the next run cleans up.
//
// The program is this test binary, which testscript.Main put on PATH as
// git-bbkey: it is built once, with the code under test.

type killHome struct {
	t        *testing.T
	bin      string
	sshKeyg  string
	home     string
	sshDir   string
	key      string // the private key the runs replace
	env      []string
	reported map[string]bool // fingerprints of the keys runs reported as made
	// afterRun checks more after each complete run (nil: nothing more).
	afterRun func(when string)
}

func newKillHome(t *testing.T) *killHome {
	t.Helper()
	keyg := testutil.RequireTool(t, "ssh-keygen")
	bin, err := exec.LookPath("git-bbkey")
	if err != nil {
		t.Fatalf("git-bbkey is not on PATH (testscript.Main puts it there): %v", err)
	}
	home := t.TempDir()
	env := []string{"HOME=" + home, "USERPROFILE=" + home, "PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=" + filepath.Join(home, ".gitconfig"),
		"GIT_TERMINAL_PROMPT=0", "SSH_AUTH_SOCK=", "BITBUCKET_TOKEN="}
	sshDir := filepath.Join(home, ".ssh")
	return &killHome{t: t, bin: bin, sshKeyg: keyg, home: home, sshDir: sshDir,
		key: filepath.Join(sshDir, "id_ed25519"), env: env, reported: map[string]bool{}}
}

func (h *killHome) command(extraEnv []string, args ...string) *exec.Cmd {
	cmd := testutil.Command(h.t, h.bin, args...)
	cmd.Env = append(slices.Clone(h.env), extraEnv...)
	cmd.Dir = h.home
	return cmd
}

var generateArgs = []string{"generate", "--force", "--no-passphrase", "--comment", "kill@example.com", "--json"}

// run runs git-bbkey to the end, which must succeed, and records the key
// it reports.
func (h *killHome) run(args ...string) {
	h.t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := h.command(nil, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		h.t.Fatalf("git-bbkey %s: %v\n%s", strings.Join(args, " "), err, stderr.String())
	}
	h.record(stdout.Bytes())
	if h.afterRun != nil {
		h.afterRun("after a complete run")
	}
}

// record notes the key a (possibly killed) run printed in its --json
// document as made: generate's key, setup's when it generated one,
// rotate's new key. It returns that fingerprint ("" for none).
func (h *killHome) record(stdout []byte) string {
	var doc struct {
		Fingerprint string // generate
		Generated   bool   // setup
		Key, NewKey *struct{ Fingerprint string }
	}
	fp := ""
	switch {
	case json.Unmarshal(stdout, &doc) != nil:
	case doc.Fingerprint != "":
		fp = doc.Fingerprint
	case doc.Generated && doc.Key != nil:
		fp = doc.Key.Fingerprint
	case doc.NewKey != nil:
		fp = doc.NewKey.Fingerprint
	}
	if fp != "" {
		h.reported[fp] = true
	}
	return fp
}

// killAfter starts git-bbkey, kills it (SIGKILL) after d (d < 0: lets it
// end by itself, at a crash point), and records what it reported.
func (h *killHome) killAfter(d time.Duration, extraEnv []string, args ...string) {
	h.t.Helper()
	var stdout bytes.Buffer
	cmd := h.command(extraEnv, args...)
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		h.t.Fatal(err)
	}
	if d >= 0 {
		time.Sleep(d)
		cmd.Process.Kill()
	}
	cmd.Wait()
	h.record(stdout.Bytes())
}

// parallel runs git-bbkey n times at once, each to its end (which must
// succeed), and returns the keys they reported as made.
func (h *killHome) parallel(n int, args ...string) []string {
	var mu sync.Mutex
	var wg sync.WaitGroup
	var made []string
	for range n {
		wg.Go(func() {
			var stdout, stderr bytes.Buffer
			cmd := h.command(nil, args...)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				h.t.Errorf("a concurrent git-bbkey %s failed: %v\n%s", strings.Join(args, " "), err, stderr.String())
			}
			if fp := h.record(stdout.Bytes()); fp != "" {
				made = append(made, fp)
			}
		})
	}
	wg.Wait()
	return made
}

// medianRun is how long a complete run of args takes here (median of 3).
func (h *killHome) medianRun(args ...string) time.Duration {
	var times []time.Duration
	for range 3 {
		start := time.Now()
		h.run(args...)
		times = append(times, time.Since(start))
	}
	slices.Sort(times)
	return times[1]
}

// fingerprint is ssh-keygen's fingerprint of a key file, "" if unreadable.
func (h *killHome) fingerprint(path string) string {
	out, err := exec.Command(h.sshKeyg, "-l", "-E", "sha256", "-f", path).Output()
	if err != nil {
		return ""
	}
	return strings.Fields(string(out))[1]
}

// pairFingerprint checks with ssh-keygen -y that path and path.pub are one
// key, and returns its fingerprint.
func (h *killHome) pairFingerprint(path string) string {
	h.t.Helper()
	derived, err := exec.Command(h.sshKeyg, "-y", "-P", "", "-f", path).Output()
	if err != nil {
		h.t.Fatalf("ssh-keygen -y -f %s: %v", path, err)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		h.t.Fatalf("%s has no public half: %v", path, err)
	}
	d, p := strings.Fields(string(derived)), strings.Fields(string(pub))
	if len(d) < 2 || len(p) < 2 || d[0] != p[0] || d[1] != p[1] {
		h.t.Fatalf("%s and %s.pub are different keys", path, path)
	}
	return h.fingerprint(path)
}

// checkState is the invariant after any kill: the pair in place matches,
// or the private key is alone while a replacement's journal says the next
// run finishes it; list shows that one key and nothing a kill left.
func (h *killHome) checkState(when string) {
	h.t.Helper()
	if _, err := os.Stat(h.key + ".pub"); err == nil {
		h.pairFingerprint(h.key)
	} else if _, err := os.Stat(filepath.Join(h.sshDir, sshkeys.ReplaceJournalName)); err != nil {
		h.t.Fatalf("%s: %s.pub is missing and no journal says the replacement goes on", when, h.key)
	} else if h.fingerprint(h.key) == "" {
		h.t.Fatalf("%s: no readable private key in place", when)
	}
	out, err := h.command(nil, "list", "--json").Output()
	if err != nil {
		h.t.Fatalf("%s: list: %v", when, err)
	}
	var listed struct {
		Keys []struct {
			PrivateKeyPath, PublicKeyPath *string
		}
	}
	if err := json.Unmarshal(out, &listed); err != nil {
		h.t.Fatalf("%s: list --json: %v\n%s", when, err, out)
	}
	if len(listed.Keys) != 1 || listed.Keys[0].PrivateKeyPath == nil || *listed.Keys[0].PrivateKeyPath != h.key {
		h.t.Fatalf("%s: list shows %s, want only %s", when, out, h.key)
	}
}

// finalCheck runs once more to the end, then: nothing left over, the pair
// matches, every backup holds one whole pair, and every key ever reported
// as saved is in place or backed up.
func (h *killHome) finalCheck() {
	h.t.Helper()
	h.run(generateArgs...)
	if left, err := sshkeys.FindLeftovers(h.sshDir); err != nil || len(left) != 0 {
		h.t.Fatalf("leftovers after a complete run: %v %v", left, err)
	}
	have := map[string]bool{h.pairFingerprint(h.key): true}
	dirs, _ := os.ReadDir(filepath.Join(h.sshDir, "key_backup"))
	for _, d := range dirs {
		dir := filepath.Join(h.sshDir, "key_backup", d.Name())
		files, _ := os.ReadDir(dir)
		if len(files) != 2 {
			h.t.Fatalf("backup %s holds %d files, want a whole pair", d.Name(), len(files))
		}
		have[h.pairFingerprint(filepath.Join(dir, "id_ed25519"))] = true
	}
	for fp := range h.reported {
		if !have[fp] {
			h.t.Fatalf("key %s was reported as saved and is neither in place nor in key_backup/", fp)
		}
	}
	h.t.Logf("%d keys reported, all found; %d backups", len(h.reported), len(dirs))
}

func TestGenerateSurvivesKills(t *testing.T) {
	h := newKillHome(t)
	h.run(generateArgs...)
	d := h.medianRun(generateArgs...)

	// At every step of a replacement, including between the renames.
	steps := []string{"generated", "locked", "written-temporaries", "backed-up", "journal",
		"removed-old-public", "moved-private", "moved-public"}
	for _, step := range steps {
		cmd := h.command([]string{"GIT_BBKEY_TEST_CRASH_AFTER=generate:" + step}, generateArgs...)
		if err := cmd.Run(); err == nil {
			t.Fatalf("step %s: the run did not stop there", step)
		}
		h.checkState("stopped after " + step)
	}

	// At random moments: SIGKILL somewhere within 1.5 times a whole run.
	const kills = 60
	for i := range kills {
		h.killAfter(rand.N(d*3/2), nil, generateArgs...)
		h.checkState(fmt.Sprintf("kill %d", i))
	}
	h.finalCheck()
}

// SIGKILL while a slow RSA key is generated: nothing is written before the
// key exists, so the old pair stays as it was and nothing is left over.
func TestGenerateKilledDuringRSAGeneration(t *testing.T) {
	h := newKillHome(t)
	h.key = filepath.Join(h.sshDir, "id_rsa")
	args := []string{"generate", "--type", "rsa", "--force", "--no-passphrase", "--comment", "k@example.com", "--json"}
	h.run(append(args, "--bits", "2048")...)
	before := h.pairFingerprint(h.key)
	for i := range 3 {
		h.killAfter(time.Duration(100+100*i)*time.Millisecond, nil, append(args, "--bits", "16384")...)
		if h.pairFingerprint(h.key) != before {
			t.Fatal("the key changed although its replacement was killed while it was generated")
		}
		if left, _ := sshkeys.FindLeftovers(h.sshDir); len(left) != 0 {
			t.Fatalf("a kill during generation left %v", left)
		}
	}
}

// Eight generate --force at once on one HOME: they take turns under the
// lock, each backing up the key the one before it wrote; no key is lost
// (before the lock, 20 of 20 trials of two runs lost one).
func TestGenerateConcurrentRunsLoseNoKey(t *testing.T) {
	for trial := range 3 {
		h := newKillHome(t)
		h.run(generateArgs...)
		if made := h.parallel(8, generateArgs...); len(made) != 8 {
			t.Fatalf("trial %d: %d runs reported a key, want 8", trial, len(made))
		}
		if len(h.reported) != 9 {
			t.Fatalf("trial %d: %d keys reported, want 9", trial, len(h.reported))
		}
		h.finalCheck()
		if backups, _ := os.ReadDir(filepath.Join(h.sshDir, "key_backup")); len(backups) != 9 {
			t.Fatalf("trial %d: %d backups, want one per replaced key (9)", trial, len(backups))
		}
	}
}

// backup killed at random moments never leaves an empty or partial
// timestamped directory, and the next writing run removes its temporary.
func TestBackupSurvivesKills(t *testing.T) {
	h := newKillHome(t)
	h.run(generateArgs...)
	fp := h.pairFingerprint(h.key)
	start := time.Now()
	h.run("backup", "--json")
	d := time.Since(start)
	for range 50 {
		h.killAfter(rand.N(d*3/2), nil, "backup", "--json")
		dirs, _ := filepath.Glob(filepath.Join(h.sshDir, "key_backup", "[0-9]*"))
		for _, dir := range dirs {
			if h.pairFingerprint(filepath.Join(dir, "id_ed25519")) != fp {
				t.Fatalf("backup %s is not the key", dir)
			}
			if files, _ := os.ReadDir(dir); len(files) != 2 {
				t.Fatalf("backup %s holds %d files", dir, len(files))
			}
		}
	}
	h.run("backup", "--json")
	if left, err := sshkeys.FindLeftovers(h.sshDir); err != nil || len(left) != 0 {
		t.Fatalf("leftovers after a complete backup: %v %v", left, err)
	}
	if h.pairFingerprint(h.key) != fp {
		t.Fatal("backup changed the key")
	}
}
