package keygen

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// journal records a replacement from the moment its backup is complete
// until both new halves are in place (step 3 of the package comment).
type journal struct {
	Path        string `json:"path"`       // the private key's final path
	NewPrivate  string `json:"newPrivate"` // temporaries, base names in the same directory
	NewPublic   string `json:"newPublic"`
	Fingerprint string `json:"fingerprint"` // of the new key
	BackupDir   string `json:"backupDir"`   // where the old pair went ("" if there was none)
}

func (j *journal) save(dir string) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return safefile.Replace(filepath.Join(dir, sshkeys.ReplaceJournalName), data, 0o600)
}

// ReplaceError: the new pair could not be moved into place. The journal
// stays, so the next writing run finishes the move; the old pair is in
// BackupDir ("" when there was none).
type ReplaceError struct {
	Path, BackupDir string
	Err             error
}

func (e *ReplaceError) Error() string {
	return fmt.Sprintf("cannot move the new key into %s: %v", e.Path, e.Err)
}
func (e *ReplaceError) Unwrap() error { return e.Err }

// JournalError: an interrupted replacement cannot be finished because the
// files are not what its journal (Journal) says any more (someone moved or
// replaced them); nothing is written until a person has looked. The old
// pair is in BackupDir.
type JournalError struct {
	Journal, Path, BackupDir string
	Reason                   string
}

func (e *JournalError) Error() string {
	return fmt.Sprintf("cannot finish the interrupted replacement of %s recorded in %s: %s", e.Path, e.Journal, e.Reason)
}

// finish moves the new halves into place. Each step checks the disk first,
// so it is safe to repeat after a kill at any point.
func (j *journal) finish(dir string, hooks Hooks) error {
	newPriv, newPub := filepath.Join(dir, j.NewPrivate), filepath.Join(dir, j.NewPublic)
	fail := func(err error) error { return &ReplaceError{Path: j.Path, BackupDir: j.BackupDir, Err: err} }
	if exists(newPriv) {
		// The new private key is not in place yet, so NAME.pub is the old
		// one (backed up) or gone: remove it first, so that the private key
		// never sits beside a NAME.pub of another key.
		if err := os.Remove(j.Path + ".pub"); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fail(err)
		}
		safefile.SyncDir(dir)
		hooks.checkpoint("removed-old-public")
		if err := os.Rename(newPriv, j.Path); err != nil {
			return fail(err)
		}
		safefile.SyncDir(dir)
		hooks.checkpoint("moved-private")
	}
	if exists(newPub) {
		if err := os.Rename(newPub, j.Path+".pub"); err != nil {
			return fail(err)
		}
		safefile.SyncDir(dir)
		hooks.checkpoint("moved-public")
	}
	if err := os.Remove(filepath.Join(dir, sshkeys.ReplaceJournalName)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fail(err)
	}
	safefile.SyncDir(dir)
	return nil
}

// check tells why the files do not fit the journal, or "" when the
// replacement can be finished.
func (j *journal) check(dir string) string {
	newPriv, newPub := filepath.Join(dir, j.NewPrivate), filepath.Join(dir, j.NewPublic)
	if j.Path == "" || filepath.Dir(j.Path) != dir || j.NewPrivate != filepath.Base(j.NewPrivate) ||
		j.NewPublic != filepath.Base(j.NewPublic) || !safefile.IsTemporary(j.NewPrivate) || !safefile.IsTemporary(j.NewPublic) {
		return "the journal is damaged"
	}
	if exists(newPriv) {
		if !exists(newPub) {
			return "the new public key " + newPub + " is missing"
		}
		if fingerprintOf(newPriv) != j.Fingerprint || fingerprintOf(newPub) != j.Fingerprint {
			return "the new key's temporary files hold another key"
		}
		return ""
	}
	if fingerprintOf(j.Path) != j.Fingerprint {
		return j.Path + " is not the new key " + j.Fingerprint
	}
	if exists(newPub) && fingerprintOf(newPub) != j.Fingerprint {
		return "the new public key's temporary file holds another key"
	}
	if !exists(newPub) && fingerprintOf(j.Path+".pub") != j.Fingerprint {
		return j.Path + ".pub is not the new key " + j.Fingerprint
	}
	return ""
}

// fingerprintOf reads the fingerprint of a private key (from its clear
// header) or public key file; "" when it has none.
func fingerprintOf(path string) string {
	fp, err := sshkeys.FileFingerprint(path)
	if err != nil {
		return ""
	}
	return fp
}

// Recovery is what Recover found and did.
type Recovery struct {
	// Finished is the key path of an interrupted replacement it completed
	// ("" if none); BackupDir holds the pair that one replaced.
	Finished, BackupDir string
	// Removed are the leftovers it deleted (temporaries, unfinished backups).
	Removed []string
}

// Recover finishes an interrupted replacement in dir and removes what
// killed writers left (sshkeys.FindLeftovers). The caller must hold dir's
// lock (see Lock): then no git-bbkey is writing there, and a temporary is
// never the real thing. A *JournalError means the replacement cannot be
// finished and nothing was changed.
func Recover(dir string, hooks Hooks) error {
	leftovers, err := sshkeys.FindLeftovers(dir)
	if err != nil {
		return err
	}
	var rec Recovery
	for _, l := range leftovers {
		if l.Kind != sshkeys.LeftoverReplaceJournal {
			continue
		}
		data, err := safefile.ReadSmall(l.Path, safefile.MaxSmallFile)
		if err != nil {
			return err
		}
		var j journal
		reason := ""
		if err := json.Unmarshal(data, &j); err != nil {
			reason = "the journal is damaged"
		} else {
			reason = j.check(dir)
		}
		if reason != "" {
			return &JournalError{Journal: l.Path, Path: j.Path, BackupDir: j.BackupDir, Reason: reason}
		}
		if err := j.finish(dir, hooks); err != nil {
			return err
		}
		rec.Finished, rec.BackupDir = j.Path, j.BackupDir
	}
	// Listed again: finishing consumed the journal's temporaries.
	if leftovers, err = sshkeys.FindLeftovers(dir); err != nil {
		return err
	}
	for _, l := range leftovers {
		switch l.Kind {
		case sshkeys.LeftoverTempFile, sshkeys.LeftoverBackupTemp:
			if err := os.RemoveAll(l.Path); err != nil {
				return fmt.Errorf("cannot remove %q, left by an interrupted run: %w", l.Path, err)
			}
			rec.Removed = append(rec.Removed, l.Path)
		}
	}
	if len(rec.Removed) > 0 {
		safefile.SyncDir(dir)
	}
	if (rec.Finished != "" || len(rec.Removed) > 0) && hooks.Recovered != nil {
		hooks.Recovered(rec)
	}
	return nil
}
