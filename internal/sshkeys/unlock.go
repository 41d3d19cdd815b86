package sshkeys

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// Agent is what Unlock needs of an ssh-agent: the keys it can sign with.
type Agent interface {
	Signers() ([]ssh.Signer, error)
}

// UnlockOptions are the ways Unlock may open an encrypted key, tried in
// this order: the passphrase given, the agent, a question to a person.
type UnlockOptions struct {
	// Passphrase, when not nil, is tried first; PassphraseFile names where
	// it came from (--passphrase-file), for errors.
	Passphrase     []byte
	PassphraseFile string
	// Agent signs when it holds this very key; nil for none.
	Agent Agent
	// Ask asks a person for the passphrase (no echo); nil when nobody can
	// be asked. Its errors (an interrupt, say) end Unlock as they are.
	Ask func(question string) ([]byte, error)
	// Say tells the person something between questions; may be nil.
	Say func(text string)
}

// String shows the options without the passphrase.
func (o UnlockOptions) String() string {
	return fmt.Sprintf("{PassphraseFile:%s Agent:%v Ask:%v Say:%v} (passphrase given: %v)",
		o.PassphraseFile, o.Agent != nil, o.Ask != nil, o.Say != nil, o.Passphrase != nil)
}

// GoString keeps the passphrase out of %#v too.
func (o UnlockOptions) GoString() string { return "sshkeys.UnlockOptions" + o.String() }

// UnlockMethod says how a key was opened.
type UnlockMethod int

const (
	NotEncrypted     UnlockMethod = iota + 1 // the file needs no passphrase
	ByPassphraseFile                         // UnlockOptions.Passphrase opened it
	ByAgent                                  // the ssh-agent signs with it
	ByPrompt                                 // a passphrase typed by the user opened it
	Generated                                // made in this run (NewUnlocked)
)

func (m UnlockMethod) String() string {
	switch m {
	case NotEncrypted:
		return "not encrypted"
	case ByPassphraseFile:
		return "unlocked with the passphrase file"
	case ByAgent:
		return "signed by the ssh-agent"
	case ByPrompt:
		return "unlocked with the passphrase typed"
	case Generated:
		return "generated in this run"
	}
	return "unknown"
}

// Unlocked is a private key ready to sign. It keeps the decrypted private
// key (unexported) only for handing it to an ssh-agent; it is never an
// output type, and String and GoString never show the secret.
type Unlocked struct {
	Path   string
	Signer ssh.Signer
	Method UnlockMethod

	privateKey any // as x/crypto parses it; nil when the agent signs
}

func (u Unlocked) String() string   { return fmt.Sprintf("%s (%s)", u.Path, u.Method) }
func (u Unlocked) GoString() string { return "sshkeys.Unlocked{" + u.String() + "}" }

// ErrHeldByAgent: the key was unlocked by the agent, which keeps it.
var ErrHeldByAgent = errors.New("the key is held by the ssh-agent, not by git-bbkey")

// AgentKey is the private key to add to an ssh-agent (agent.AddedKey's
// PrivateKey): the only way the secret leaves this value.
func (u *Unlocked) AgentKey() (any, error) {
	if u.privateKey == nil {
		return nil, ErrHeldByAgent
	}
	return u.privateKey, nil
}

// NewUnlocked wraps a key made in this run (saved at path).
func NewUnlocked(path string, key crypto.Signer) (*Unlocked, error) {
	signer, err := ssh.NewSignerFromKey(key)
	if err != nil {
		return nil, fmt.Errorf("cannot use the new key: %v", cleanError(err))
	}
	return &Unlocked{Path: path, Signer: signer, Method: Generated, privateKey: key}, nil
}

// KeyNotFoundError: there is no private key file at Path.
type KeyNotFoundError struct{ Path string }

func (e *KeyNotFoundError) Error() string {
	return fmt.Sprintf("private key %s does not exist", e.Path)
}
func (e *KeyNotFoundError) Is(target error) bool { return target == fs.ErrNotExist }

// WrongPassphraseError: the passphrase did not open Path. PassphraseFile is
// set when it came from that file, empty when it was typed.
type WrongPassphraseError struct{ Path, PassphraseFile string }

func (e *WrongPassphraseError) Error() string {
	if e.PassphraseFile != "" {
		return fmt.Sprintf("cannot unlock %s with the passphrase from %s", e.Path, e.PassphraseFile)
	}
	return fmt.Sprintf("wrong passphrase for %s", e.Path)
}
func (e *WrongPassphraseError) Is(target error) bool { return target == x509.IncorrectPasswordError }

// ErrNeedPassphrase is matched by a NeedPassphraseError.
var ErrNeedPassphrase = errors.New("the key needs a passphrase and nobody can be asked")

// NeedPassphraseError: Path is encrypted, no passphrase was given, the
// agent does not hold it, and there is no terminal to ask on.
type NeedPassphraseError struct{ Path string }

func (e *NeedPassphraseError) Error() string {
	return fmt.Sprintf("%s is encrypted, the ssh-agent does not hold it, and there is no terminal to ask for its passphrase", e.Path)
}
func (e *NeedPassphraseError) Is(target error) bool { return target == ErrNeedPassphrase }

// UnsupportedKeyError: a key OpenSSH may use but git-bbkey cannot sign
// with. Err wraps ErrUnsupportedKey (security keys, encrypted PKCS#8,
// post-quantum hybrids) or ErrRefusedType (dsa, rsa1) with the reason.
type UnsupportedKeyError struct {
	Path string
	Err  error
}

func (e *UnsupportedKeyError) Error() string {
	return fmt.Sprintf("git-bbkey cannot use %s: %v", e.Path, e.Err)
}
func (e *UnsupportedKeyError) Unwrap() error { return e.Err }

// unlockTries is how often Ask is asked, as ssh-add does.
const unlockTries = 3

// Unlock opens the private key at path for signing: as it is when it is
// not encrypted; else with opts.Passphrase, with the agent if it holds this
// very key (its public half from the file's clear header or NAME.pub), or
// by asking. Errors are a *KeyNotFoundError, *WrongPassphraseError,
// *NeedPassphraseError, *UnsupportedKeyError, the error of Ask, or an
// error saying the file is not a private key it can read.
func Unlock(path string, opts UnlockOptions) (*Unlocked, error) {
	data, info, err := readSignableKey(path)
	if err != nil {
		return nil, err
	}
	if !info.encrypted {
		return open(path, data, info, nil, NotEncrypted)
	}
	if opts.Passphrase != nil && !info.pkcs8 {
		u, err := open(path, data, info, opts.Passphrase, ByPassphraseFile)
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, &WrongPassphraseError{Path: path, PassphraseFile: opts.PassphraseFile}
		}
		return u, err
	}
	if s := AgentSigner(opts.Agent, publicHalf(path, info)); s != nil {
		return &Unlocked{Path: path, Signer: s, Method: ByAgent}, nil
	}
	if info.pkcs8 {
		return nil, &UnsupportedKeyError{Path: path,
			Err: fmt.Errorf("%w: an encrypted pkcs#8 key, which git-bbkey cannot decrypt", ErrUnsupportedKey)}
	}
	if opts.Ask == nil {
		return nil, &NeedPassphraseError{Path: path}
	}
	for range unlockTries {
		pass, err := opts.Ask(fmt.Sprintf("Enter passphrase for %s: ", path))
		if err != nil {
			return nil, err
		}
		u, err := open(path, data, info, pass, ByPrompt)
		if !errors.Is(err, x509.IncorrectPasswordError) {
			return u, err
		}
		if opts.Say != nil {
			opts.Say("Bad passphrase, try again.")
		}
	}
	return nil, &WrongPassphraseError{Path: path}
}

// readPrivateKey reads (bounded) and parses the private key file at path.
func readPrivateKey(path string) ([]byte, privateKey, error) {
	data, err := safefile.ReadSmall(path, maxKeyFileSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, privateKey{}, &KeyNotFoundError{Path: path}
	}
	if err != nil {
		return nil, privateKey{}, fmt.Errorf("cannot read private key: %w", err)
	}
	if classify(data) != privateFile {
		return nil, privateKey{}, fmt.Errorf("%q is not a private key", path)
	}
	info, err := parsePrivateKey(data)
	if err != nil {
		return nil, privateKey{}, fmt.Errorf("private key %q does not parse: %w", path, err)
	}
	return data, info, nil
}

// readSignableKey is readPrivateKey for a key of a type git-bbkey can sign
// with: others give an *UnsupportedKeyError.
func readSignableKey(path string) ([]byte, privateKey, error) {
	data, info, err := readPrivateKey(path)
	if err != nil {
		return nil, privateKey{}, err
	}
	if info.dsa || info.pub != nil && !canSign(info.pub.typ) {
		typ := typeDSA
		if info.pub != nil {
			typ = info.pub.typ
		}
		return nil, privateKey{}, &UnsupportedKeyError{Path: path, Err: unsupportedTypeError(typ)}
	}
	return data, info, nil
}

// open decrypts (with pass, unless nil) and loads a key git-bbkey can sign
// with. A wrong passphrase gives an error matching x509.IncorrectPasswordError.
func open(path string, data []byte, info privateKey, pass []byte, how UnlockMethod) (*Unlocked, error) {
	var raw any
	var err error
	if pass != nil && info.encrypted {
		if len(pass) == 0 {
			// An empty answer is a wrong passphrase (x/crypto calls it a
			// parse error of its own).
			return nil, fmt.Errorf("wrong passphrase for %q: %w", path, x509.IncorrectPasswordError)
		}
		raw, err = ssh.ParseRawPrivateKeyWithPassphrase(data, pass)
		// A wrong passphrase on legacy PEM often decrypts to garbage that
		// x/crypto reports as a parse error: with a PEM that parsed before
		// decryption, garbage means the passphrase.
		if err != nil && info.pub == nil {
			err = x509.IncorrectPasswordError
		}
		if errors.Is(err, x509.IncorrectPasswordError) {
			return nil, fmt.Errorf("wrong passphrase for %q: %w", path, err)
		}
	} else {
		raw, err = ssh.ParseRawPrivateKey(data) // a passphrase given for a clear key is not needed
	}
	if err != nil {
		return nil, fmt.Errorf("private key %q does not parse: %v", path, cleanError(err))
	}
	signer, err := ssh.NewSignerFromKey(raw)
	if err != nil {
		return nil, fmt.Errorf("private key %q does not parse: %v", path, cleanError(err))
	}
	return &Unlocked{Path: path, Signer: signer, Method: how, privateKey: raw}, nil
}

// publicHalf is the key's public half without its passphrase: from the
// file's clear header, else from NAME.pub; nil when neither tells.
func publicHalf(path string, info privateKey) ssh.PublicKey {
	if info.pub != nil && info.pub.key != nil {
		return info.pub.key
	}
	pub, _, err := ReadPublicKeyFile(path + ".pub")
	if err != nil {
		return nil
	}
	return pub
}

// ReadPublicKeyFile reads (bounded) and parses a NAME.pub file: see
// ParsePublicKeyLine.
func ReadPublicKeyFile(path string) (ssh.PublicKey, string, error) {
	data, err := safefile.ReadSmall(path, maxKeyFileSize)
	if err != nil {
		return nil, "", err
	}
	return ParsePublicKeyLine(data)
}

// AgentSigner is the agent's signer for exactly pub, or nil (also when
// the agent cannot be asked).
func AgentSigner(ag Agent, pub ssh.PublicKey) ssh.Signer {
	if ag == nil || pub == nil {
		return nil
	}
	signers, err := ag.Signers()
	if err != nil {
		return nil
	}
	for _, s := range signers {
		if bytes.Equal(s.PublicKey().Marshal(), pub.Marshal()) {
			return s
		}
	}
	return nil
}
