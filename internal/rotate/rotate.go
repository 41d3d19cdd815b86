// Package rotate replaces the user's SSH key without a moment of lost
// access: the new key is made beside the old one, registered and verified
// alone; then the old pair is backed up, the new key moved into its place,
// and only then is the old key deleted from Bitbucket. A failure before
// the move leaves the old key in place, working and registered; a run cut
// short after the backup is finished (never redone) by the next run, which
// a journal in the key directory tells where to go on.
//
// Like package setup, it prints nothing and asks only through Asker: it
// returns a Result and typed errors, and the caller words them.
package rotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/backup"
	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/register"
	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// Options are rotate's choices.
type Options struct {
	KeyPath        string // the key to replace: bbkey.keyFile, else the default key
	Server         string // --server; "" for bbkey.url or the remote's server
	Remote         string // the remote to verify the new key against (bbkey.remote, else origin)
	KeyType        string // --type; "" keeps the old key's kind
	NoPassphrase   bool
	Passphrase     []byte // --passphrase-file's first line; nil when not given
	PassphraseFile string
	Yes            bool
}

// String shows the options without the passphrase.
func (o Options) String() string {
	type plain Options // without this method
	p := plain(o)
	p.Passphrase = nil
	return fmt.Sprintf("%+v (passphrase given: %v)", p, o.Passphrase != nil)
}

// GoString keeps the passphrase out of %#v too.
func (o Options) GoString() string { return "rotate.Options" + o.String() }

// Deps are what rotate works with (see setup.Deps).
type Deps struct {
	Sessions *bbsession.Sessions
	Repo     *gitremote.Repo
	Verify   setup.Verify
	Agent    sshagent.Dialer
	Ask      Asker // nil: nobody can be asked
	// Step tells each step as it is done; may be nil.
	Step     func(Step)
	Progress func(setup.Progress)
	Keygen   keygen.Hooks
	// Checkpoint is for tests that kill the process between two steps.
	Checkpoint func(step string)
	Now        func() time.Time
	Random     io.Reader
	LockWait   time.Duration
}

// Asker asks a person rotate's questions.
type Asker interface {
	// Rotate: replace Key and delete it from Server? (Enter: no)
	Rotate(ctx context.Context, p Plan) (bool, error)
	setup.Passphrases
}

// Plan is what a rotation is about to do.
type Plan struct {
	Key    *setup.Key
	Server string
}

// Result is what rotate did.
type Result struct {
	Server  string
	KeyPath string
	// Finished: this run finished a rotation an earlier run had taken past
	// its backup (OldKey, NewKey, Registration and Verify are then unset).
	Finished     bool
	OldKey       *setup.Key
	NewKey       *setup.Key // at KeyPath once moved
	Registration *register.Result
	Target       *setup.Target
	Verify       *setup.Outcome
	BackupDir    string
	Removed      []register.Result // the old key's registrations deleted
}

// StepKind names a step of a rotation.
type StepKind int

const (
	StepFinishing  StepKind = iota + 1 // finishing an interrupted rotation (Path, Dir: its backup)
	StepContinuing                     // going on with the new key an interrupted rotation left (Path)
	StepSetAside                       // an incomplete new key of an interrupted rotation, moved to Dir
	StepNewKey                         // the new key is ready beside the old one (Path, Fingerprint)
	StepRegistered                     // the new key is registered (Result)
	StepVerified                       // the new key works (URL)
	StepBackedUp                       // the old pair is in Dir
	StepMoved                          // the new key is in place at Path
	StepRemoved                        // the old key is deleted from Bitbucket (Result)
)

// Step is one step done.
type Step struct {
	Kind        StepKind
	Path, Dir   string
	Fingerprint string
	URL         string
	Result      *register.Result
}

type run struct {
	o   Options
	d   Deps
	r   *Result
	dir string // the key directory
}

func (w *run) step(s Step) {
	if w.d.Step != nil {
		w.d.Step(s)
	}
}

func (w *run) checkpoint(name string) {
	if w.d.Checkpoint != nil {
		w.d.Checkpoint(name)
	}
}

// TmpSuffix names the new key while it waits beside the old one.
const TmpSuffix = ".rotating"

// Run rotates o.KeyPath. The Result is never nil.
func Run(ctx context.Context, o Options, d Deps) (*Result, error) {
	w := &run{o: o, d: d, r: &Result{KeyPath: o.KeyPath}, dir: filepath.Dir(o.KeyPath)}
	if o.NoPassphrase && o.Passphrase != nil {
		return w.r, keygen.ErrPassphraseConflict
	}
	if !o.Yes && d.Ask == nil {
		return w.r, &setup.NeedsPersonError{Choice: setup.ChoiceRotate}
	}
	s, err := d.Sessions.Open(ctx, o.Server)
	if err != nil {
		return w.r, err
	}
	w.r.Server = s.Base()
	if err := s.Authenticate(ctx); err != nil {
		return w.r, err
	}
	if _, err := os.Stat(w.dir); err != nil {
		return w.r, &NotAPairError{Path: o.KeyPath}
	}
	unlock, err := keygen.LockAndRecover(ctx, w.dir, d.LockWait, d.Keygen)
	if err != nil {
		return w.r, err
	}
	defer unlock()

	// 0. A rotation that got past its backup is finished first.
	j, err := loadJournal(w.dir)
	if err != nil {
		return w.r, err
	}
	if j != nil {
		w.r.Finished, w.r.KeyPath, w.r.BackupDir = true, j.KeyPath, j.BackupDir
		w.step(Step{Kind: StepFinishing, Path: j.KeyPath, Dir: j.BackupDir})
		return w.r, w.finish(ctx, s, j)
	}
	return w.r, w.rotate(ctx, s)
}

func (w *run) rotate(ctx context.Context, s *bbsession.Session) error {
	oldPath, tmpPath := w.o.KeyPath, w.o.KeyPath+TmpSuffix
	oldPub, oldComment, err := sshkeys.ReadPublicKeyFile(oldPath + ".pub")
	if err != nil || !exists(oldPath) {
		return &NotAPairError{Path: oldPath}
	}
	enc, _ := sshkeys.IsEncrypted(oldPath)
	w.r.OldKey = setup.KeyOfPublic(oldPath, oldPub, oldComment, enc)
	if !w.o.Yes {
		ok, err := w.d.Ask.Rotate(ctx, Plan{Key: w.r.OldKey, Server: s.Base()})
		if err != nil {
			return err
		}
		if !ok {
			return &setup.DeclinedError{Choice: setup.ChoiceRotate, Path: oldPath}
		}
	}
	// What the old key is on the server, found before anything changes.
	w.progress(setup.WaitingForBitbucket, s.Base())
	oldIDs, err := register.FindUserKeys(ctx, s, register.Selector{Key: oldPub})
	if err != nil {
		return err
	}

	// 1. The new key beside the old one (or the one an interrupted run
	// left), unlocked before anything is registered.
	agent := sshagent.NewLazy(w.d.Agent)
	defer agent.Close()
	newKey, unlocked, err := w.newKey(ctx, tmpPath, oldComment, oldPub.Type())
	if err != nil {
		return err
	}
	w.r.NewKey = newKey
	if unlocked == nil {
		if unlocked, err = setup.UnlockKey(ctx, tmpPath, w.o.Passphrase, w.o.PassphraseFile, agent, passphrases(w.d.Ask)); err != nil {
			return err
		}
	}
	w.step(Step{Kind: StepNewKey, Path: tmpPath, Fingerprint: newKey.Fingerprint})
	leftBehind := func(err error) error { return &LeftBehindError{OldPath: oldPath, NewPath: tmpPath, Err: err} }

	// 2. Register it.
	w.progress(setup.WaitingForBitbucket, s.Base())
	reg := register.AddUserKey(ctx, s, register.Key{Public: newKey.Public, Comment: newKey.Comment},
		register.UserKeyOptions{Label: newKey.Comment})
	w.r.Registration = &reg
	if reg.Status == register.Failed {
		return leftBehind(reg.Err)
	}
	w.step(Step{Kind: StepRegistered, Result: &reg})
	w.checkpoint("registered")

	// 3. Verify it, alone.
	t, err := w.target(ctx, s)
	if err != nil {
		return leftBehind(err)
	}
	w.r.Target = &t
	out, err := w.d.Verify(ctx, t, unlocked)
	if err != nil {
		return err
	}
	w.r.Verify = &out
	if !out.OK() {
		return leftBehind(&setup.VerifyError{Target: t, Outcome: out})
	}
	w.step(Step{Kind: StepVerified, URL: t.URL})

	// 4. Back up the old pair, note what is left to do, then move the new
	// key into place and delete the old one from Bitbucket.
	backupDir, _, err := backup.Copy(w.dir, []string{oldPath, oldPath + ".pub"}, w.now())
	if err != nil {
		return leftBehind(err)
	}
	w.r.BackupDir = backupDir
	w.step(Step{Kind: StepBackedUp, Dir: backupDir})
	j := &journal{KeyPath: oldPath, TmpPath: tmpPath, BackupDir: backupDir, NewFingerprint: newKey.Fingerprint}
	for _, k := range oldIDs {
		j.OldKeys = append(j.OldKeys, journalKey{ID: k.ID, Fingerprint: register.Fingerprint(k), Label: k.Label})
	}
	if err := j.save(w.dir); err != nil {
		return leftBehind(err)
	}
	w.checkpoint("backed-up")
	if err := w.finish(ctx, s, j); err != nil {
		return err
	}
	newKey.PrivateKeyPath, newKey.PublicKeyPath = oldPath, oldPath+".pub"
	return nil
}

// target is where the new key is verified: the default remote when it is
// a Bitbucket repository, else the server's SSH address.
func (w *run) target(ctx context.Context, s *bbsession.Session) (setup.Target, error) {
	rt, err := setup.FindRemote(ctx, w.d.Sessions, w.d.Repo, w.o.Remote, s.Base())
	if err != nil {
		return setup.Target{}, err
	}
	if rt != nil {
		return rt.Target, nil
	}
	return setup.HostTarget(ctx, s)
}

func (w *run) progress(a setup.Activity, where string) {
	if w.d.Progress != nil {
		w.d.Progress(setup.Progress{Activity: a, Where: where})
	}
}

func passphrases(a Asker) setup.Passphrases {
	if a == nil {
		return nil
	}
	return a
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}
