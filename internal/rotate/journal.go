package rotate

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// journal records a rotation past its backup, so that an interrupted run
// is finished, never repeated: the moves, then the old key's deletion.
type journal struct {
	KeyPath        string       `json:"keyPath"`
	TmpPath        string       `json:"tmpPath"`
	BackupDir      string       `json:"backupDir"`
	NewFingerprint string       `json:"newFingerprint"`
	OldKeys        []journalKey `json:"oldKeys"`
}

type journalKey struct {
	ID          int    `json:"id"`
	Fingerprint string `json:"fingerprint"`
	Label       string `json:"label"`
}

// JournalName is the journal's file in the key directory.
const JournalName = ".git-bbkey-rotate.json"

func (j *journal) save(dir string) error {
	data, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return safefile.Replace(filepath.Join(dir, JournalName), data, 0o600)
}

func loadJournal(dir string) (*journal, error) {
	path := filepath.Join(dir, JournalName)
	data, err := safefile.ReadSmall(path, safefile.MaxSmallFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, &JournalError{Path: path, Err: err}
	}
	var j journal
	if err := json.Unmarshal(data, &j); err != nil || j.KeyPath == "" || j.TmpPath == "" {
		return nil, &JournalError{Path: path}
	}
	return &j, nil
}

// finish moves the new key into place (private half first) and deletes
// the old key from Bitbucket; each step is safe to repeat.
func (w *run) finish(ctx context.Context, s *bbsession.Session, j *journal) error {
	// ssh refuses a private key whose .pub beside it is another key, but
	// works without a .pub: so the old .pub (backed up) goes first, and at
	// every moment the file at KeyPath is a key that logs in.
	if exists(j.TmpPath) {
		if err := removeIfExists(j.KeyPath + ".pub"); err != nil {
			return &MoveError{Path: j.KeyPath + ".pub", BackupDir: j.BackupDir, Err: err}
		}
		w.checkpoint("removed-old-public")
		if err := os.Rename(j.TmpPath, j.KeyPath); err != nil {
			return &MoveError{Path: j.KeyPath, BackupDir: j.BackupDir, Err: err}
		}
		safefile.SyncDir(filepath.Dir(j.KeyPath))
	}
	w.checkpoint("moved-private")
	if exists(j.TmpPath + ".pub") {
		if err := os.Rename(j.TmpPath+".pub", j.KeyPath+".pub"); err != nil {
			return &MoveError{Path: j.KeyPath + ".pub", BackupDir: j.BackupDir, Err: err}
		}
		safefile.SyncDir(filepath.Dir(j.KeyPath))
	}
	pub, comment, err := sshkeys.ReadPublicKeyFile(j.KeyPath + ".pub")
	if err != nil || sshkeys.Fingerprint(pub) != j.NewFingerprint {
		return &ChangedError{Path: j.KeyPath + ".pub", Fingerprint: j.NewFingerprint, BackupDir: j.BackupDir}
	}
	if w.r.NewKey == nil { // finishing an earlier run's rotation
		enc, _ := sshkeys.IsEncrypted(j.KeyPath)
		w.r.NewKey = setup.KeyOfPublic(j.KeyPath, pub, comment, enc)
	}
	w.step(Step{Kind: StepMoved, Path: j.KeyPath, Fingerprint: j.NewFingerprint})
	w.checkpoint("moved")

	// Only now the old key leaves Bitbucket.
	for _, k := range j.OldKeys {
		w.progress(setup.WaitingForBitbucket, s.Base())
		r := register.RemoveUserKey(ctx, s, bitbucket.SSHKey{ID: k.ID, Label: k.Label})
		if r.Err != nil {
			return &RemoveOldError{ID: k.ID, Fingerprint: k.Fingerprint, Err: r.Err}
		}
		if r.Fingerprint == "" {
			r.Fingerprint = k.Fingerprint
		}
		w.r.Removed = append(w.r.Removed, r)
		w.step(Step{Kind: StepRemoved, Result: &w.r.Removed[len(w.r.Removed)-1]})
	}
	return removeIfExists(filepath.Join(filepath.Dir(j.KeyPath), JournalName))
}
