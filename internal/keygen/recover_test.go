package keygen

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// killed stands for the process dying at a checkpoint: the panic skips
// every step after it, and the defers that clean up on error see no error.
type killed struct{ step string }

func killAt(step string) Hooks {
	return Hooks{Checkpoint: func(s string) {
		if s == step {
			panic(killed{s})
		}
	}}
}

func executeUntilKilled(t *testing.T, p *Plan, step string) (stopped bool) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(killed); !ok {
				panic(r)
			}
			stopped = true
		}
	}()
	if _, err := p.Execute(context.Background(), Exec{Hooks: killAt(step)}); err != nil {
		t.Fatal(err)
	}
	return false
}

// TestKillAtEveryStepLeavesOldOrNewPair kills a replacement at each step
// and checks the package's invariant with ssh-keygen: the pair on disk is
// the old one, the new one, or (journal present) a private key alone;
// nothing left behind is listed as a key; the next run finishes or cleans
// up, and the old key is in key_backup/ whenever it is gone from its place.
func TestKillAtEveryStepLeavesOldOrNewPair(t *testing.T) {
	steps := []string{"generated", "locked", "written-temporaries", "backed-up", "journal",
		"removed-old-public", "moved-private", "moved-public"}
	for _, step := range steps {
		t.Run(step, func(t *testing.T) {
			sshDir := newSSHDir(t)
			first, err := plan(t, Options{SSHDir: sshDir, NoPassphrase: true}).Execute(context.Background(), Exec{})
			if err != nil {
				t.Fatal(err)
			}
			path := first.PrivateKeyPath
			oldFP := checkPair(t, path)
			p := plan(t, Options{SSHDir: sshDir, NoPassphrase: true, Force: true})
			if !executeUntilKilled(t, p, step) {
				t.Fatalf("step %s never reached", step)
			}

			journal := filepath.Join(sshDir, sshkeys.ReplaceJournalName)
			privFP := keygenFP(t, path)
			if _, err := os.Stat(path + ".pub"); err == nil {
				if checkPair(t, path) != privFP {
					t.Fatal("the pair does not match")
				}
			} else if _, err := os.Stat(journal); err != nil {
				t.Fatalf("a private key alone without a journal to finish it: %v", err)
			}
			if privFP == "" {
				t.Fatal("no private key in place")
			}
			keys, _ := sshkeys.FindKeyPairs(sshDir)
			if len(keys) != 1 || keys[0].PrivateKeyPath != path {
				t.Fatalf("listed %+v", keys)
			}
			if privFP != oldFP && !inBackup(t, sshDir, oldFP) {
				t.Fatal("the old key is neither in place nor backed up")
			}

			var rec Recovery
			if err := Recover(sshDir, Hooks{Recovered: func(r Recovery) { rec = r }}); err != nil {
				t.Fatal(err)
			}
			fp := checkPair(t, path)
			if fp != oldFP && fp != keygenFP(t, path) {
				t.Fatal("after recovery the pair is neither the old nor the new key")
			}
			if fp == oldFP && rec.Finished != "" || fp != oldFP && !inBackup(t, sshDir, oldFP) {
				t.Fatalf("recovery %+v left %s", rec, fp)
			}
			assertClean(t, sshDir)
			checkBackups(t, sshDir)

			// And the next run works as if nothing had happened.
			res, err := plan(t, Options{SSHDir: sshDir, NoPassphrase: true, Force: true}).Execute(context.Background(), Exec{})
			if err != nil || checkPair(t, path) != keygenFP(t, res.PublicKeyPath) || !inBackup(t, sshDir, fp) {
				t.Fatalf("next run: %v", err)
			}
			assertClean(t, sshDir)
		})
	}
}

// inBackup tells whether a pair with fingerprint fp is in key_backup/.
func inBackup(t *testing.T, sshDir, fp string) bool {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(sshDir, "key_backup", "*", "*.pub"))
	for _, pub := range dirs {
		if keygenFP(t, pub) == fp && keygenFP(t, pub[:len(pub)-len(".pub")]) == fp {
			return true
		}
	}
	return false
}

// checkBackups: every backup directory holds one complete, matching pair.
func checkBackups(t *testing.T, sshDir string) {
	t.Helper()
	dirs, _ := os.ReadDir(filepath.Join(sshDir, "key_backup"))
	for _, d := range dirs {
		files, _ := os.ReadDir(filepath.Join(sshDir, "key_backup", d.Name()))
		if len(files) != 2 {
			t.Errorf("backup %s holds %d files", d.Name(), len(files))
			continue
		}
		checkPair(t, filepath.Join(sshDir, "key_backup", d.Name(), "id_ed25519"))
	}
}

// A journal whose files are not what it says (someone moved them) stops
// every writer until a person looks: nothing is guessed.
func TestRecoverRefusesAJournalThatDoesNotFit(t *testing.T) {
	sshDir := newSSHDir(t)
	first, err := plan(t, Options{SSHDir: sshDir, NoPassphrase: true}).Execute(context.Background(), Exec{})
	if err != nil {
		t.Fatal(err)
	}
	oldFP := checkPair(t, first.PrivateKeyPath)
	p := plan(t, Options{SSHDir: sshDir, NoPassphrase: true, Force: true})
	if !executeUntilKilled(t, p, "removed-old-public") {
		t.Fatal("not killed")
	}
	left, _ := sshkeys.FindLeftovers(sshDir)
	for _, l := range left {
		if l.Kind == sshkeys.LeftoverTempFile {
			os.Remove(l.Path) // the new key's temporaries vanish
		}
	}
	var je *JournalError
	if err := Recover(sshDir, Hooks{}); !errors.As(err, &je) || je.Path != first.PrivateKeyPath || je.BackupDir == "" {
		t.Fatalf("%v, want a JournalError", err)
	}
	if _, err := p.Execute(context.Background(), Exec{}); !errors.As(err, &je) {
		t.Fatalf("a writer went on: %v", err)
	}
	if keygenFP(t, first.PrivateKeyPath) != oldFP {
		t.Fatal("the old private key was touched")
	}
}

// LockAndRecover holds the directory's lock and, before it returns,
// finishes what a killed replacement left.
func TestLockAndRecover(t *testing.T) {
	sshDir := newSSHDir(t)
	if _, err := plan(t, Options{SSHDir: sshDir, NoPassphrase: true}).Execute(context.Background(), Exec{}); err != nil {
		t.Fatal(err)
	}
	if !executeUntilKilled(t, plan(t, Options{SSHDir: sshDir, NoPassphrase: true, Force: true}), "moved-private") {
		t.Fatal("step moved-private never reached")
	}
	var rec Recovery
	held, err := LockAndRecover(context.Background(), sshDir, 0, Hooks{Recovered: func(r Recovery) { rec = r }})
	if err != nil {
		t.Fatal(err)
	}
	// Released however the test ends (checkPair may skip): Windows cannot
	// remove a file that is open.
	unlock := sync.OnceFunc(held)
	t.Cleanup(unlock)
	if rec.Finished == "" {
		t.Errorf("the half-done replacement was not finished: %+v", rec)
	}
	checkPair(t, filepath.Join(sshDir, "id_ed25519"))
	assertClean(t, sshDir)

	// Held: another run waits, then gives up.
	_, err = LockAndRecover(context.Background(), sshDir, 50*time.Millisecond, Hooks{})
	if !errors.Is(err, safefile.ErrLocked) {
		t.Fatalf("a second LockAndRecover while held: %v", err)
	}
	unlock()
	again, err := LockAndRecover(context.Background(), sshDir, 0, Hooks{})
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	again()
}
