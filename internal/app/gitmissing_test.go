package app

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// noGitEnv is an Env whose git does not exist, with a fresh home.
func noGitEnv(t *testing.T) (*Env, string, *bytes.Buffer) {
	t.Helper()
	home := t.TempDir()
	vars := map[string]string{"HOME": home, "USERPROFILE": home}
	var stderr bytes.Buffer
	return &Env{
		Stdin:    strings.NewReader(""),
		Stdout:   &bytes.Buffer{},
		Stderr:   &stderr,
		Getenv:   func(k string) string { return vars[k] },
		Environ:  func() []string { return []string{"HOME=" + home, "USERPROFILE=" + home} },
		Home:     func() (string, error) { return home, nil },
		Now:      time.Now,
		Dir:      home,
		Prompter: noPrompt{},
		Git:      filepath.Join(home, "no-such-git"),
		Random:   rand.Reader,
		Version:  "test",
	}, home, &stderr
}

// A command that needs git says that git was not found, and how to fix it.
func TestGitNotFoundIsSaidPlainly(t *testing.T) {
	for _, args := range [][]string{
		{"generate", "--no-passphrase"},                          // user.email has no default
		{"add", "--server", "https://bb.example.com", "key.pub"}, // git credential fill
	} {
		env, home, stderr := noGitEnv(t)
		os.WriteFile(filepath.Join(home, "key.pub"), []byte(testPublicKeyLine(t)), 0o644)
		code := Main(context.Background(), append([]string{"git-bbkey"}, args...), env)
		want := "error: git was not found\nhint: install git (https://git-scm.com/downloads) and make sure it is on PATH\n"
		if code != exitFailure || stderr.String() != want {
			t.Errorf("%q: exit %d, stderr:\n%s\nwant exit 1 and:\n%s", args, code, stderr, want)
		}
	}
}

// Without git, git settings take their defaults: generate with a comment
// needs no git at all.
func TestGenerateWithoutGit(t *testing.T) {
	env, home, stderr := noGitEnv(t)
	code := Main(context.Background(), []string{"git-bbkey", "generate", "--comment", "me@example.com", "--no-passphrase"}, env)
	if code != exitOK {
		t.Fatalf("generate without git: exit %d\n%s", code, stderr)
	}
	pem, err := os.ReadFile(filepath.Join(home, ".ssh", "id_ed25519"))
	if err != nil {
		t.Fatal(err)
	}
	key, err := ssh.ParsePrivateKey(pem)
	if err != nil || key.PublicKey().Type() != ssh.KeyAlgoED25519 {
		t.Fatalf("the default key type without git: %v, %v", key, err)
	}
}

func testPublicKeyLine(t *testing.T) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey()))) + " me@example.com\n"
}
