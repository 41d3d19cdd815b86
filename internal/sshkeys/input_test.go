package sshkeys

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

func TestDefaultKey(t *testing.T) {
	dir := t.TempDir()
	if _, err := DefaultKey(dir); !errors.Is(err, ErrNoDefaultKey) || err.Error() != "no SSH key in "+dir {
		t.Fatalf("an empty directory: %v", err)
	}
	writeFile(t, filepath.Join(dir, "id_rsa"), []byte("x"), 0o600)
	writeFile(t, filepath.Join(dir, "other"), []byte("x"), 0o600)
	if p, err := DefaultKey(dir); err != nil || p != filepath.Join(dir, "id_rsa") {
		t.Fatalf("DefaultKey = %q, %v; want id_rsa", p, err)
	}
	// ed25519 comes first, and a public half alone is enough to choose it.
	writeFile(t, filepath.Join(dir, "id_ed25519.pub"), []byte("x"), 0o644)
	if p, err := DefaultKey(dir); err != nil || p != filepath.Join(dir, "id_ed25519") {
		t.Fatalf("DefaultKey = %q, %v; want id_ed25519", p, err)
	}
}

func TestReadPublicKey(t *testing.T) {
	dir := t.TempDir()
	key, pub := newKey(t, "ed25519", 0)
	writePair(t, dir, "id_ed25519", key, pub, "")
	path := filepath.Join(dir, "id_ed25519.pub")

	in, err := ReadPublicKey(path)
	if err != nil {
		t.Fatal(err)
	}
	line, _ := os.ReadFile(path)
	if in.Source != path || in.Comment != "me@example.com" || Fingerprint(in.Key) != Fingerprint(pub) || in.Text() != strings.TrimSpace(string(line)) {
		t.Errorf("ReadPublicKey = %+v (text %q), want the key of %s", in, in.Text(), path)
	}
	from, err := ReadPublicKeyFrom(strings.NewReader(string(line)), "standard input")
	if err != nil || from.Source != "standard input" || from.Text() != in.Text() {
		t.Errorf("ReadPublicKeyFrom = %+v, %v", from, err)
	}

	// A private key is refused, whether in a file or on stdin, and says so.
	priv := filepath.Join(dir, "id_ed25519")
	_, err = ReadPublicKey(priv)
	var notPub *NotPublicKeyError
	if !errors.As(err, &notPub) || !errors.Is(err, ErrPrivateKey) || notPub.Source != priv {
		t.Fatalf("a private key file: %v", err)
	}
	if want := priv + " is a private key; only the public key is ever sent"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	privData, _ := os.ReadFile(priv)
	if _, err := ReadPublicKeyFrom(strings.NewReader(string(privData)), "standard input"); !errors.Is(err, ErrPrivateKey) {
		t.Errorf("a private key on stdin: %v", err)
	}

	// Not a key at all.
	junk := filepath.Join(dir, "junk.pub")
	writeFile(t, junk, []byte("hello\n"), 0o644)
	if _, err := ReadPublicKey(junk); !errors.As(err, &notPub) || errors.Is(err, ErrPrivateKey) ||
		!strings.HasPrefix(err.Error(), junk+" is not an SSH public key: ") {
		t.Errorf("a file that is no key: %v", err)
	}

	// A file that cannot be read names itself once, and a missing one is
	// fs.ErrNotExist.
	missing := filepath.Join(dir, "nope.pub")
	_, err = ReadPublicKey(missing)
	var readErr *PublicKeyReadError
	if !errors.As(err, &readErr) || !errors.Is(err, fs.ErrNotExist) || strings.Count(err.Error(), missing) != 1 ||
		!strings.HasPrefix(err.Error(), "cannot read "+missing+": ") {
		t.Errorf("a missing file: %v", err)
	}
	if runtime.GOOS != "windows" {
		if _, err := ReadPublicKey(dir); !errors.Is(err, safefile.ErrNotRegular) || strings.HasPrefix(err.Error(), "cannot read") {
			t.Errorf("a directory: %v", err)
		}
	}

	// Standard input is read up to a bound, not to its end.
	big := strings.NewReader(strings.Repeat("a", MaxPublicKeyInput+1))
	if _, err := ReadPublicKeyFrom(big, "standard input"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("more than MaxPublicKeyInput bytes: %v", err)
	}
}
