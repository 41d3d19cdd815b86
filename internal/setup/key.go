package setup

import (
	"context"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/keygen"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// Key is a key pair on disk, as setup and rotate report it.
type Key struct {
	PrivateKeyPath, PublicKeyPath string
	Public                        ssh.PublicKey
	Type                          string // OpenSSH's name: ssh-ed25519, ...
	Bits                          int
	Fingerprint                   string // SHA256:...
	Comment                       string
	Encrypted                     bool
}

func keyOf(k sshkeys.Key) *Key {
	return &Key{PrivateKeyPath: k.PrivateKeyPath, PublicKeyPath: k.PublicKeyPath, Public: k.PublicKey, Type: k.Type,
		Bits: k.Bits, Fingerprint: k.Fingerprint, Comment: k.Comment, Encrypted: k.Encrypted}
}

// KeyOfResult is the key keygen wrote.
func KeyOfResult(res *keygen.Result) *Key {
	return &Key{PrivateKeyPath: res.PrivateKeyPath, PublicKeyPath: res.PublicKeyPath, Public: res.PublicKey,
		Type: res.PublicKey.Type(), Bits: sshkeys.Bits(res.PublicKey), Fingerprint: sshkeys.Fingerprint(res.PublicKey),
		Comment: res.Comment, Encrypted: res.Encrypted}
}

// KeyOfPublic is the pair at path described by its public half.
func KeyOfPublic(path string, pub ssh.PublicKey, comment string, encrypted bool) *Key {
	return &Key{PrivateKeyPath: path, PublicKeyPath: path + ".pub", Public: pub, Type: pub.Type(), Bits: sshkeys.Bits(pub),
		Fingerprint: sshkeys.Fingerprint(pub), Comment: comment, Encrypted: encrypted}
}

// KeyDirError: the key directory cannot be read.
type KeyDirError struct {
	Dir string
	Err error
}

func (e *KeyDirError) Error() string { return e.Err.Error() }
func (e *KeyDirError) Unwrap() error { return e.Err }

// UsableKey is the best key to reuse: a complete pair with no problems
// that OpenSSH loads, of a type Bitbucket takes, ed25519 first; nil if
// there is none.
func UsableKey(keys []sshkeys.Key) *sshkeys.Key {
	rank := func(k sshkeys.Key) int {
		switch k.Type {
		case ssh.KeyAlgoED25519:
			return 0
		case ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384, ssh.KeyAlgoECDSA521:
			return 1
		case ssh.KeyAlgoRSA:
			return 2
		}
		return 3
	}
	var best *sshkeys.Key
	for i, k := range keys {
		if k.PrivateKeyPath == "" || k.PublicKeyPath == "" || k.PublicKey == nil || len(k.Problems) > 0 ||
			sshkeys.CheckLoadable(k.PrivateKeyPath) != nil { // a key OpenSSH refuses is no use to git
			continue
		}
		if ok, _ := sshkeys.AcceptedByBitbucket(k); !ok || rank(k) > 2 {
			continue
		}
		if best == nil || rank(k) < rank(*best) {
			best = &keys[i]
		}
	}
	return best
}

// candidates are the keys setup may reuse: those in ~/.ssh, or with
// --file the key at that path alone.
func (w *run) candidates() ([]sshkeys.Key, error) {
	dir, only := w.d.SSHDir, ""
	if w.o.KeyFile != "" {
		dir, only = filepath.Dir(w.o.KeyFile), w.o.KeyFile
		if !exists(only) {
			return nil, nil
		}
	}
	keys, err := sshkeys.FindKeyPairs(dir)
	if err != nil {
		return nil, &KeyDirError{Dir: dir, Err: err}
	}
	if only == "" {
		return keys, nil
	}
	var out []sshkeys.Key
	for _, k := range keys {
		if k.PrivateKeyPath == only {
			out = append(out, k)
		}
	}
	return out, nil
}

// chooseKey is steps 2 and 3: the best usable key, reused (asked on a
// terminal, --yes, or the key an unfinished setup made), else a new key,
// after a backup of whatever it replaces. unlocked is set for a new key.
func (w *run) chooseKey(ctx context.Context) (key *Key, unlocked *sshkeys.Unlocked, err error) {
	keys, err := w.candidates()
	if err != nil {
		return nil, nil, err
	}
	keyType, _, err := keygen.KeyType(w.o.KeyType, w.o.DefaultKeyType, 0)
	if err != nil {
		return nil, nil, err
	}
	path := w.o.KeyFile
	if path == "" {
		path = filepath.Join(w.d.SSHDir, sshkeys.DefaultFileName(keyType))
	}
	var cand *sshkeys.Key
	if !w.o.New {
		cand = UsableKey(keys)
	}
	if w.d.Ask != nil {
		intro := Intro{Email: w.o.Email, Server: w.r.Server, KeyPath: path}
		if cand != nil {
			intro.KeyPath, intro.Existing = cand.PrivateKeyPath, true
		}
		w.d.Ask.Intro(intro)
	}
	if cand != nil {
		k := keyOf(*cand)
		switch p := loadPending(w.d.SSHDir); {
		case p != nil && p.Path == k.PrivateKeyPath && p.Fingerprint == k.Fingerprint:
			w.r.Resumed = true // made by a setup that did not finish: ours already
			return k, nil, nil
		case w.o.Yes:
			return k, nil, nil
		case w.d.Ask == nil:
			return nil, nil, &NeedsPersonError{Choice: ChoiceReuse, Key: k}
		}
		use, err := w.d.Ask.Reuse(ctx, *k)
		if err != nil {
			return nil, nil, err
		}
		if use {
			return k, nil, nil
		}
	}
	return w.generate(ctx, path)
}

// generate makes the new key at path, under the ~/.ssh lock the run holds.
func (w *run) generate(ctx context.Context, path string) (*Key, *sshkeys.Unlocked, error) {
	force := w.o.Yes || w.o.New
	if !force && (exists(path) || exists(path+".pub")) {
		if w.d.Ask == nil {
			return nil, nil, &NeedsPersonError{Choice: ChoiceReplace, Path: path}
		}
		ok, err := w.d.Ask.Replace(ctx, path)
		if err != nil {
			return nil, nil, err
		}
		if !ok {
			return nil, nil, &DeclinedError{Choice: ChoiceReplace, Path: path}
		}
		force = true
	}
	opts := keygen.Options{Type: w.o.KeyType, DefaultType: w.o.DefaultKeyType, Path: path, SSHDir: w.d.SSHDir,
		Comment: w.o.Email, NoPassphrase: w.o.NoPassphrase, Passphrase: w.o.Passphrase, Force: force}
	if w.d.Ask != nil {
		opts.AskPassphrase = func() ([]byte, error) { return w.d.Ask.NewPassphrase(ctx) }
	}
	plan, err := keygen.NewPlan(opts)
	if err != nil {
		return nil, nil, err
	}
	res, err := plan.Execute(ctx, keygen.Exec{Random: w.d.Random, Now: w.d.Now, Locked: w.d.SSHDir, Hooks: w.d.Keygen})
	if err != nil {
		return nil, nil, err
	}
	k := KeyOfResult(res)
	w.r.Generated, w.r.BackupDir = true, res.BackupDir
	savePending(w.d.SSHDir, pending{Path: k.PrivateKeyPath, Fingerprint: k.Fingerprint})
	return k, res.Key, nil
}

// pendingName records the key a setup generated until that setup has
// finished, so that the next setup takes it without asking again: it is
// the key the user already chose to make (issue 12, item 13).
const pendingName = ".git-bbkey-setup.json"

type pending struct {
	Path        string `json:"path"`
	Fingerprint string `json:"fingerprint"`
}

func loadPending(dir string) *pending {
	data, err := safefile.ReadSmall(filepath.Join(dir, pendingName), 4096)
	if err != nil {
		return nil
	}
	var p pending
	if json.Unmarshal(data, &p) != nil || p.Path == "" {
		return nil
	}
	return &p
}

// savePending is best effort: without the note, the next setup merely
// asks (or needs --yes) to reuse the key.
func savePending(dir string, p pending) {
	if data, err := json.Marshal(p); err == nil {
		_ = safefile.Replace(filepath.Join(dir, pendingName), data, 0o600)
	}
}

// clearPending removes the note once a setup has finished with its key.
func clearPending(dir string) error {
	err := os.Remove(filepath.Join(dir, pendingName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
