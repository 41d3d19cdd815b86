// Package keygen decides and writes a new SSH key pair: its type, size,
// file, comment and passphrase (NewPlan), then the pair itself with a
// backup of whatever it replaces (Plan.Execute).
//
// # What a kill can leave
//
// All writing in a key directory happens under its lock (LockName, the
// same ~/.ssh lock setup and rotate take), so concurrent runs take turns
// and each backs up what the one before it wrote. POSIX cannot rename two
// files at once, so a replacement goes in steps, each of them safe to be
// the last:
//
//  1. The new private key and NAME.pub are written and synced as
//     temporaries (.git-bbkey-new.tmp-N, .git-bbkey-new.pub.tmp-N).
//  2. The old pair is copied into key_backup/<UTC time>/, which appears
//     complete or not at all (package backup).
//  3. A journal (sshkeys.ReplaceJournalName) names the temporaries, the
//     new key's fingerprint and the backup.
//  4. The old NAME.pub is removed, the new private key renamed over the
//     old one, then the new NAME.pub renamed into place; the journal goes.
//
// The invariant: after a kill at any moment, the pair on disk is the old
// pair, or the new pair, or — between the steps of 4, while the journal
// exists — a private key alone (old or new). ssh uses a private key without
// NAME.pub, whereas it refuses one whose NAME.pub is another key, so the
// files ssh reads never disagree. A key that was ever reported as saved is
// in place or in key_backup/. The next writing run (Recover, called by
// Execute under the lock) finishes a journalled replacement and removes
// the temporaries and unfinished backups a kill left; until then
// sshkeys.FindKeyPairs ignores them and sshkeys.FindLeftovers reports them.
//
// The package never prints or prompts: questions and progress are
// callbacks, and errors are typed for the caller to explain.
package keygen

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// Options are the inputs of the decisions NewPlan makes.
type Options struct {
	// Type is ed25519, ecdsa or rsa (any case); "" means DefaultType
	// (bbkey.keyType), and an empty DefaultType means ed25519.
	Type, DefaultType string
	Bits              int // 0: the type's default
	// Path is the private key's absolute path; "" means SSHDir/id_<type>.
	Path   string
	SSHDir string
	// Comment goes into both halves (user.email, as ssh-keygen -C).
	Comment string

	// NoPassphrase leaves the key unencrypted. Passphrase, when not nil, is
	// the passphrase (--passphrase-file). AskPassphrase asks a person for a
	// new one (twice); nil when there is no terminal.
	NoPassphrase  bool
	Passphrase    []byte
	AskPassphrase func() ([]byte, error)

	// Force replaces an existing key without asking; otherwise Confirm asks
	// (nil when there is no terminal). A replaced key is always backed up.
	Force   bool
	Confirm func(question string) (bool, error)
}

// String shows the options without the passphrase.
func (o Options) String() string {
	type plain Options // without this method
	p := plain(o)
	p.Passphrase = nil
	return fmt.Sprintf("%+v (passphrase given: %v)", p, o.Passphrase != nil)
}

// GoString keeps the passphrase out of %#v too.
func (o Options) GoString() string { return "keygen.Options" + o.String() }

// Plan is everything decided before a key is made: nothing is written
// until Execute.
type Plan struct {
	Type    string // ed25519, ecdsa or rsa
	Bits    int
	Path    string // private key; the public key is Path + ".pub"
	Comment string
	// Replace: a key (or half of one) was there when planned; the user
	// allowed replacing it.
	Replace bool

	sshDir     string
	mayReplace bool
	passphrase []byte
}

// Encrypted tells whether the new key gets a passphrase.
func (p *Plan) Encrypted() bool { return len(p.passphrase) > 0 }

func (p Plan) String() string {
	return fmt.Sprintf("%s %d-bit key at %s (encrypted: %v)", p.Type, p.Bits, p.Path, p.Encrypted())
}

// GoString keeps the passphrase out of %#v too.
func (p Plan) GoString() string { return "keygen.Plan{" + p.String() + "}" }

// Errors of NewPlan, for the caller to explain.
var (
	// ErrPassphraseConflict: NoPassphrase together with a Passphrase.
	ErrPassphraseConflict = errors.New("--no-passphrase and --passphrase-file cannot be used together")
	// ErrNoPassphraseChoice: no passphrase choice was made and nobody can
	// be asked (no terminal); NoPassphrase or Passphrase decides it.
	ErrNoPassphraseChoice = errors.New("a passphrase is needed and there is no terminal to ask on")
)

// ExistsError: a key is at Path (or Path.pub) and neither Force nor a
// person allowed replacing it.
type ExistsError struct{ Path string }

func (e *ExistsError) Error() string { return fmt.Sprintf("%s already exists", e.Path) }

// KeptError: the person asked said no to replacing the key at Path.
type KeptError struct{ Path string }

func (e *KeptError) Error() string { return fmt.Sprintf("%s already exists and was kept", e.Path) }

// NoDirError: the key's directory does not exist (only ~/.ssh is created).
type NoDirError struct{ Dir string }

func (e *NoDirError) Error() string { return fmt.Sprintf("directory %q does not exist", e.Dir) }

// NewPlan decides the key: type and size (sshkeys.CheckTypeBits errors for
// bad ones), file, whether an existing key may be replaced (asking through
// Confirm), and the passphrase (asking through AskPassphrase).
func NewPlan(o Options) (*Plan, error) {
	keyType, bits, err := KeyType(o.Type, o.DefaultType, o.Bits)
	if err != nil {
		return nil, err
	}
	if o.NoPassphrase && o.Passphrase != nil {
		return nil, ErrPassphraseConflict
	}
	path := o.Path
	if path == "" {
		path = filepath.Join(o.SSHDir, sshkeys.DefaultFileName(keyType))
	}
	p := &Plan{Type: keyType, Bits: bits, Path: path, Comment: o.Comment, sshDir: o.SSHDir}
	if dir := filepath.Dir(path); dir != filepath.Clean(o.SSHDir) {
		if st, err := os.Stat(dir); err != nil || !st.IsDir() {
			return nil, &NoDirError{Dir: dir}
		}
	}
	if exists(path) || exists(path+".pub") {
		switch {
		case o.Force:
		case o.Confirm != nil:
			ok, err := o.Confirm(fmt.Sprintf("%s already exists.\nOverwrite (y/n)?", path))
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, &KeptError{Path: path}
			}
		default:
			return nil, &ExistsError{Path: path}
		}
		p.Replace = true
	}
	// Force also covers a key that appears while the key is generated
	// (another run made it): it is backed up like any other.
	p.mayReplace = o.Force || p.Replace
	switch {
	case o.NoPassphrase:
	case o.Passphrase != nil:
		p.passphrase = o.Passphrase
	case o.AskPassphrase != nil:
		if p.passphrase, err = o.AskPassphrase(); err != nil {
			return nil, err
		}
	default:
		return nil, ErrNoPassphraseChoice
	}
	return p, nil
}

// KeyType is the type and size a key of these options gets: typ, else
// defaultType, else ed25519, checked by sshkeys.CheckTypeBits (whose
// errors it returns). NewPlan starts with it; callers may check early.
func KeyType(typ, defaultType string, bits int) (string, int, error) {
	keyType := strings.ToLower(typ)
	if keyType == "" {
		keyType = strings.ToLower(defaultType)
	}
	if keyType == "" {
		keyType = "ed25519"
	}
	bits, err := sshkeys.CheckTypeBits(keyType, bits)
	return keyType, bits, err
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
