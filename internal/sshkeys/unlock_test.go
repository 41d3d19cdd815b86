package sshkeys

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// asker answers Ask from a list and records what it was asked and told.
type asker struct {
	answers []string
	asked   []string
	said    []string
	err     error
}

func (a *asker) ask(q string) ([]byte, error) {
	a.asked = append(a.asked, q)
	if a.err != nil {
		return nil, a.err
	}
	if len(a.answers) == 0 {
		return nil, errors.New("asked too often")
	}
	next := a.answers[0]
	a.answers = a.answers[1:]
	return []byte(next), nil
}

func (a *asker) say(text string) { a.said = append(a.said, text) }

func (a *asker) options() UnlockOptions { return UnlockOptions{Ask: a.ask, Say: a.say} }

// loadSigner opens the key at path as --passphrase-file does, with no
// agent and nobody to ask (passphrase nil: none given).
func loadSigner(path string, passphrase []byte) (ssh.Signer, error) {
	u, err := Unlock(path, UnlockOptions{Passphrase: passphrase})
	if err != nil {
		return nil, err
	}
	return u.Signer, nil
}

// holding is an agent that holds keys with these public halves. It cannot
// sign: it tells whether Unlock finds an encrypted key in the agent.
type holding []ssh.PublicKey

func (h holding) Signers() ([]ssh.Signer, error) {
	var s []ssh.Signer
	for _, pub := range h {
		s = append(s, publicOnly{pub})
	}
	return s, nil
}

type publicOnly struct{ pub ssh.PublicKey }

func (p publicOnly) PublicKey() ssh.PublicKey { return p.pub }
func (p publicOnly) Sign(io.Reader, []byte) (*ssh.Signature, error) {
	return nil, errors.New("a test agent that cannot sign")
}

// sshKeygenPub is `ssh-keygen -y` of a private key: the oracle for what
// the unlocked key is.
func sshKeygenPub(t *testing.T, path, passphrase string) string {
	t.Helper()
	out := run(t, testutil.RequireTool(t, "ssh-keygen"), "-y", "-P", passphrase, "-f", path)
	f := strings.Fields(out)
	return f[0] + " " + f[1]
}

func authorized(pub ssh.PublicKey) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(pub)))
}

func TestUnlockEveryWay(t *testing.T) {
	dir := t.TempDir()
	key, pub := newKey(t, "ed25519", 0)
	writePair(t, dir, "clear", key, pub, "")
	writePair(t, dir, "locked", key, pub, "open sesame")
	clear, locked := filepath.Join(dir, "clear"), filepath.Join(dir, "locked")
	want := sshKeygenPub(t, locked, "open sesame")

	check := func(name string, u *Unlocked, err error, method UnlockMethod) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if u.Method != method || authorized(u.Signer.PublicKey()) != want {
			t.Fatalf("%s: %v with key %s, want %v with ssh-keygen's %s", name, u.Method, authorized(u.Signer.PublicKey()), method, want)
		}
	}

	u, err := Unlock(clear, UnlockOptions{})
	check("clear key", u, err, NotEncrypted)

	u, err = Unlock(locked, UnlockOptions{Passphrase: []byte("open sesame"), PassphraseFile: "pw.txt"})
	check("passphrase file", u, err, ByPassphraseFile)

	_, err = Unlock(locked, UnlockOptions{Passphrase: []byte("nope"), PassphraseFile: "pw.txt"})
	var wrong *WrongPassphraseError
	if !errors.As(err, &wrong) || wrong.PassphraseFile != "pw.txt" || !errors.Is(err, x509.IncorrectPasswordError) {
		t.Fatalf("wrong passphrase file: %v", err)
	}

	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: key}); err != nil {
		t.Fatal(err)
	}
	u, err = Unlock(locked, UnlockOptions{Agent: keyring})
	check("agent", u, err, ByAgent)
	if _, err := u.AgentKey(); !errors.Is(err, ErrHeldByAgent) {
		t.Fatalf("AgentKey of an agent's key: %v", err)
	}

	// An agent with other keys does not help: the person is asked, and a
	// wrong answer is asked again.
	other, _ := newKey(t, "ed25519", 0)
	otherRing := agent.NewKeyring()
	otherRing.Add(agent.AddedKey{PrivateKey: other})
	a := &asker{answers: []string{"wrong", "", "open sesame"}}
	opts := a.options()
	opts.Agent = otherRing
	u, err = Unlock(locked, opts)
	check("prompt", u, err, ByPrompt)
	if len(a.asked) != 3 || a.asked[0] != "Enter passphrase for "+locked+": " || len(a.said) != 2 {
		t.Fatalf("asked %q, said %q", a.asked, a.said)
	}
	raw, err := u.AgentKey()
	if err != nil {
		t.Fatal(err)
	}
	if s, err := ssh.NewSignerFromKey(raw); err != nil || authorized(s.PublicKey()) != want {
		t.Fatalf("AgentKey is not the key: %v", err)
	}

	a = &asker{answers: []string{"a", "b", "c", "d"}}
	if _, err := Unlock(locked, a.options()); !errors.As(err, &wrong) || wrong.PassphraseFile != "" || len(a.asked) != 3 {
		t.Fatalf("three wrong answers: %v after %d questions", err, len(a.asked))
	}

	interrupted := errors.New("interrupted")
	a = &asker{err: interrupted}
	if _, err := Unlock(locked, a.options()); !errors.Is(err, interrupted) {
		t.Fatalf("an error of Ask: %v", err)
	}

	var need *NeedPassphraseError
	if _, err := Unlock(locked, UnlockOptions{Agent: otherRing}); !errors.As(err, &need) || !errors.Is(err, ErrNeedPassphrase) || need.Path != locked {
		t.Fatalf("nobody to ask: %v", err)
	}

	var notFound *KeyNotFoundError
	if _, err := Unlock(filepath.Join(dir, "missing"), UnlockOptions{}); !errors.As(err, &notFound) || !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing key: %v", err)
	}
}

// The unlocked value never shows its secret, however it is printed.
func TestUnlockedNeverShowsTheKey(t *testing.T) {
	dir := t.TempDir()
	key, pub := newKey(t, "ed25519", 0)
	writePair(t, dir, "k", key, pub, "")
	u, err := Unlock(filepath.Join(dir, "k"), UnlockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := u.AgentKey()
	secret := fmt.Sprintf("%v", raw)
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{u, *u} {
			out := fmt.Sprintf(format, v)
			if strings.Contains(out, secret) || strings.Contains(out, fmt.Sprintf("%x", []byte(secret))) || !strings.Contains(out, u.Path) {
				t.Errorf("%s of %T shows too much or too little: %s", format, v, out)
			}
		}
	}
}

// An encrypted PKCS#8 key cannot be decrypted here: it is refused without
// asking for a passphrase, unless the agent holds it.
func TestUnlockEncryptedPKCS8(t *testing.T) {
	sshKeygen := testutil.RequireTool(t, "ssh-keygen")
	path := filepath.Join(t.TempDir(), "id_ecdsa")
	run(t, sshKeygen, "-q", "-t", "ecdsa", "-m", "PKCS8", "-N", "secret passphrase", "-C", "x", "-f", path)
	a := &asker{answers: []string{"secret passphrase"}}
	_, err := Unlock(path, a.options())
	var unsupported *UnsupportedKeyError
	if !errors.As(err, &unsupported) || !errors.Is(err, ErrUnsupportedKey) || len(a.asked) != 0 {
		t.Fatalf("%v after %d questions, want an UnsupportedKeyError without asking", err, len(a.asked))
	}
	if _, err := Unlock(path, UnlockOptions{Passphrase: []byte("secret passphrase")}); !errors.As(err, &unsupported) {
		t.Fatalf("with a passphrase file: %v", err)
	}
	// The agent may hold it (ssh-add can decrypt it): then it signs. The
	// test agent gets the key as ssh-keygen decrypts it.
	clear := filepath.Join(t.TempDir(), "clear")
	data, _ := os.ReadFile(path)
	writeFile(t, clear, data, 0o600)
	run(t, sshKeygen, "-q", "-p", "-P", "secret passphrase", "-N", "", "-m", "PEM", "-f", clear)
	clearData, _ := os.ReadFile(clear)
	raw, err := ssh.ParseRawPrivateKey(clearData)
	if err != nil {
		t.Fatal(err)
	}
	ring := agent.NewKeyring()
	ring.Add(agent.AddedKey{PrivateKey: raw})
	u, err := Unlock(path, UnlockOptions{Agent: ring})
	if err != nil || u.Method != ByAgent {
		t.Fatalf("agent holding the key: %v", err)
	}
}

// Keys of a type git-bbkey cannot sign with give an UnsupportedKeyError
// at once (OpenSSH's own security-key test vectors).
func TestUnlockSecurityKey(t *testing.T) {
	dir := vectorsDir(t)
	a := &asker{}
	_, err := Unlock(filepath.Join(dir, "ed25519_sk1"), a.options())
	var unsupported *UnsupportedKeyError
	if !errors.As(err, &unsupported) || !errors.Is(err, ErrUnsupportedKey) || len(a.asked) != 0 {
		t.Fatalf("%v, want an UnsupportedKeyError", err)
	}
}

// Unlock reads the key file bounded: a device is refused, not read.
func TestUnlockRefusesSpecialFiles(t *testing.T) {
	if _, err := os.Stat("/dev/zero"); err != nil {
		t.Skip("no /dev/zero")
	}
	if _, err := Unlock("/dev/zero", UnlockOptions{}); err == nil || !bytes.Contains([]byte(err.Error()), []byte("not a regular file")) {
		t.Fatalf("%v", err)
	}
}

// UnlockOptions carry a passphrase: no format shows it.
func TestUnlockOptionsHidePassphrase(t *testing.T) {
	o := UnlockOptions{Passphrase: []byte("s3cret-pass"), PassphraseFile: "/p/file"}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		for _, v := range []any{o, &o} {
			out := fmt.Sprintf(format, v)
			if strings.Contains(out, "s3cret") || strings.Contains(out, fmt.Sprintf("%x", "s3cret")) || strings.Contains(out, fmt.Sprint([]byte("s3cret"))[1:10]) || !strings.Contains(out, "/p/file") {
				t.Errorf("%s of %T shows too much or too little: %s", format, v, out)
			}
		}
	}
}
