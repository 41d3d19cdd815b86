package keygen

import (
	"context"
	"crypto"
	"io"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/backup"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// LockName is the lock file of a key directory: ~/.ssh/.git-bbkey.lock is
// the one setup and rotate hold for their whole run.
const LockName = ".git-bbkey.lock"

// DefaultLockWait is how long Execute waits for another run to finish.
const DefaultLockWait = 30 * time.Second

// Lock takes the lock of the key directory dir, waiting up to wait for a
// run that holds it. Errors are safefile's: a *safefile.LockBusyError when
// another run kept it (errors.Is(err, safefile.ErrLocked)), a
// *safefile.LockFileError when the lock file cannot be used at all (a
// read-only directory, a directory in its place).
func Lock(ctx context.Context, dir string, wait time.Duration) (unlock func(), err error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	return safefile.Lock(ctx, filepath.Join(dir, LockName))
}

// LockAndRecover takes the lock of the key directory dir, which exists,
// waiting up to wait (0: DefaultLockWait) for another run, and then
// finishes or cleans up what an interrupted run left there (Recover), so
// that the caller looks only at whole keys. setup, rotate and backup hold
// it for their whole run. Call unlock when done.
func LockAndRecover(ctx context.Context, dir string, wait time.Duration, hooks Hooks) (unlock func(), err error) {
	if wait == 0 {
		wait = DefaultLockWait
	}
	unlock, err = Lock(ctx, dir, wait)
	if err != nil {
		return nil, err
	}
	if err := Recover(dir, hooks); err != nil {
		unlock()
		return nil, err
	}
	return unlock, nil
}

// Exec is what Execute needs from outside.
type Exec struct {
	Random io.Reader        // entropy; nil for crypto/rand
	Now    func() time.Time // names the backup directory; nil for time.Now
	// Locked is a key directory whose lock the caller already holds (setup
	// and rotate hold ~/.ssh's): Execute does not take it again.
	Locked   string
	LockWait time.Duration // 0: DefaultLockWait
	Hooks    Hooks
}

// Hooks let the caller show progress; any may be nil.
type Hooks struct {
	// Generating is called before the key is made (RSA takes a while) and
	// the function it returns once it is made.
	Generating func(keyType string, bits int) (done func())
	// BackedUp tells where the replaced files went.
	BackedUp func(dir string)
	// Recovered tells what an interrupted run left that was finished or
	// cleaned up before this one wrote anything.
	Recovered func(Recovery)
	// Checkpoint is for tests that kill the process between two steps;
	// it is called with the name of the step just done.
	Checkpoint func(step string)
}

func (h Hooks) checkpoint(step string) {
	if h.Checkpoint != nil {
		h.Checkpoint(step)
	}
}

// Result is the new key as written.
type Result struct {
	PrivateKeyPath, PublicKeyPath string
	PublicKey                     ssh.PublicKey
	Comment                       string
	Encrypted                     bool
	BackupDir                     string // "" when nothing was replaced
	// Key signs with the new key (no need to unlock it again); it holds
	// the private key for an ssh-agent, never for output.
	Key *sshkeys.Unlocked
}

// Execute makes the key, then, under the directory's lock, finishes what
// an interrupted run left (Recover), backs up whatever is at the key's
// path and writes the new pair as the package comment describes.
func (p *Plan) Execute(ctx context.Context, x Exec) (*Result, error) {
	dir := filepath.Dir(p.Path)
	if dir == filepath.Clean(p.sshDir) {
		if _, err := safefile.MkdirPrivate(dir); err != nil {
			return nil, err
		}
	}
	// Made before the lock is taken: an RSA key can take a while, and
	// other runs need not wait for it.
	key, err := p.generate(x)
	if err != nil {
		return nil, err
	}
	x.Hooks.checkpoint("generated")
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	privPEM, err := sshkeys.MarshalPrivateKey(key, p.Comment, p.passphrase)
	if err != nil {
		return nil, err
	}
	pubLine := sshkeys.MarshalPublicKey(pub, p.Comment)
	unlocked, err := sshkeys.NewUnlocked(p.Path, key)
	if err != nil {
		return nil, err
	}

	if filepath.Clean(x.Locked) != dir {
		wait := x.LockWait
		if wait == 0 {
			wait = DefaultLockWait
		}
		unlock, err := Lock(ctx, dir, wait)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	x.Hooks.checkpoint("locked")
	if err := Recover(dir, x.Hooks); err != nil {
		return nil, err
	}
	backupDir, err := p.write(dir, privPEM, pubLine, sshkeys.Fingerprint(pub), x)
	if err != nil {
		return nil, err
	}
	return &Result{
		PrivateKeyPath: p.Path,
		PublicKeyPath:  p.Path + ".pub",
		PublicKey:      pub,
		Comment:        p.Comment,
		Encrypted:      p.Encrypted(),
		BackupDir:      backupDir,
		Key:            unlocked,
	}, nil
}

func (p *Plan) generate(x Exec) (crypto.Signer, error) {
	if x.Hooks.Generating != nil {
		done := x.Hooks.Generating(p.Type, p.Bits)
		defer done()
	}
	return sshkeys.Generate(p.Type, p.Bits, x.Random)
}

// Names of the temporaries the new halves are written to (see the package
// comment); they are safefile temporaries, so a kill leaves only files that
// sshkeys.FindLeftovers reports and Recover removes.
const (
	newPrivateBase = "git-bbkey-new"
	newPublicBase  = "git-bbkey-new.pub"
)

// write puts the new pair in place under the lock: temporaries, backup,
// journal, then the renames (finish). It returns the backup directory.
func (p *Plan) write(dir string, privPEM, pubLine []byte, fingerprint string, x Exec) (backupDir string, err error) {
	var existing []string
	for _, f := range []string{p.Path, p.Path + ".pub"} {
		if exists(f) {
			existing = append(existing, f)
		}
	}
	if len(existing) > 0 && !p.mayReplace {
		return "", &ExistsError{Path: p.Path} // made by someone else meanwhile
	}
	tmpPriv, err := safefile.WriteTemp(dir, newPrivateBase, privPEM, 0o600)
	if err != nil {
		return "", err
	}
	tmpPub, err := safefile.WriteTemp(dir, newPublicBase, pubLine, 0o644)
	if err != nil {
		os.Remove(tmpPriv)
		return "", err
	}
	journalSaved := false
	defer func() {
		if err != nil && !journalSaved {
			os.Remove(tmpPriv)
			os.Remove(tmpPub)
		}
	}()
	x.Hooks.checkpoint("written-temporaries")
	if len(existing) > 0 {
		now := time.Now
		if x.Now != nil {
			now = x.Now
		}
		if backupDir, _, err = backup.Copy(dir, existing, now()); err != nil {
			return "", err
		}
		if x.Hooks.BackedUp != nil {
			x.Hooks.BackedUp(backupDir)
		}
		x.Hooks.checkpoint("backed-up")
	}
	j := &journal{Path: p.Path, NewPrivate: filepath.Base(tmpPriv), NewPublic: filepath.Base(tmpPub),
		Fingerprint: fingerprint, BackupDir: backupDir}
	if err := j.save(dir); err != nil {
		return "", err
	}
	journalSaved = true
	x.Hooks.checkpoint("journal")
	return backupDir, j.finish(dir, x.Hooks)
}
