package rotate

import (
	"context"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/backup"
	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// newKey is the new key at tmpPath: the whole pair an interrupted
// rotation left there, else a new key (after setting aside, backed up,
// whatever incomplete key is in the way). unlocked is set for a new key.
func (w *run) newKey(ctx context.Context, tmpPath, comment, oldType string) (*setup.Key, *sshkeys.Unlocked, error) {
	if exists(tmpPath) {
		if k := wholePair(tmpPath); k != nil {
			w.step(Step{Kind: StepContinuing, Path: tmpPath})
			return k, nil, nil
		}
		// Half a pair from a crash while it was made: kept, then made anew.
		var files []string
		for _, f := range []string{tmpPath, tmpPath + ".pub"} {
			if exists(f) {
				files = append(files, f)
			}
		}
		dir, _, err := backup.Copy(w.dir, files, w.now())
		if err != nil {
			return nil, nil, err
		}
		for _, f := range files {
			if err := removeIfExists(f); err != nil {
				return nil, nil, err
			}
		}
		w.step(Step{Kind: StepSetAside, Path: tmpPath, Dir: dir})
	} else if err := removeIfExists(tmpPath + ".pub"); err != nil { // a public half alone is no secret and no loss
		return nil, nil, err
	}
	keyType := w.o.KeyType
	if keyType == "" {
		keyType = kindOf(oldType)
	}
	opts := keygen.Options{Type: keyType, Path: tmpPath, SSHDir: w.dir, Comment: comment,
		NoPassphrase: w.o.NoPassphrase, Passphrase: w.o.Passphrase}
	if w.d.Ask != nil {
		opts.AskPassphrase = func() ([]byte, error) { return w.d.Ask.NewPassphrase(ctx) }
	}
	plan, err := keygen.NewPlan(opts)
	if err != nil {
		return nil, nil, err
	}
	res, err := plan.Execute(ctx, keygen.Exec{Random: w.d.Random, Now: w.d.Now, Locked: w.dir, Hooks: w.d.Keygen})
	if err != nil {
		return nil, nil, err
	}
	return setup.KeyOfResult(res), res.Key, nil
}

// wholePair is the key at path when path and path.pub are one key.
func wholePair(path string) *setup.Key {
	pub, comment, err := sshkeys.ReadPublicKeyFile(path + ".pub")
	if err != nil {
		return nil
	}
	if fp, err := sshkeys.FileFingerprint(path); err != nil || fp != sshkeys.Fingerprint(pub) {
		return nil
	}
	enc, _ := sshkeys.IsEncrypted(path)
	return setup.KeyOfPublic(path, pub, comment, enc)
}

// kindOf keeps the old key's kind (rsa stays rsa unless --type).
func kindOf(keyType string) string {
	switch keyType {
	case ssh.KeyAlgoRSA:
		return "rsa"
	case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
		return "ecdsa"
	}
	return "ed25519"
}

func (w *run) now() time.Time {
	if w.d.Now != nil {
		return w.d.Now()
	}
	return time.Now()
}
