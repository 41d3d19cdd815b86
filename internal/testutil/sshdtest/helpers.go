package sshdtest

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// NewKey writes a new unencrypted ed25519 key pair (OpenSSH format) to
// dir/name and dir/name.pub and returns the signer and the private key
// file, for use with both Go and `ssh -i`.
func NewKey(t testing.TB, dir, name string) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "sshdtest key")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file+".pub", ssh.MarshalAuthorizedKey(signer.PublicKey()), 0o644); err != nil {
		t.Fatal(err)
	}
	return signer, file
}

// GitEnv is a hermetic environment for running git in tests: no user or
// system config, a fixed identity, no GIT_DIR from outside.
func GitEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GIT_") && !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "SSH_AUTH_SOCK=") {
			env = append(env, kv)
		}
	}
	return append(env, "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=sshdtest", "GIT_AUTHOR_EMAIL=sshdtest@example.com",
		"GIT_COMMITTER_NAME=sshdtest", "GIT_COMMITTER_EMAIL=sshdtest@example.com", "GIT_TERMINAL_PROMPT=0")
}

// SSHCommand is a GIT_SSH_COMMAND that uses exactly keyFile and the
// given known_hosts, ignoring ~/.ssh (OpenSSH finds ~ through the passwd
// entry, not $HOME).
func SSHCommand(keyFile, knownHosts string) string {
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	return strings.Join([]string{"ssh", "-F", "/dev/null", "-i", q(keyFile), "-o", "IdentitiesOnly=yes", "-o", "IdentityAgent=none",
		"-o", "UserKnownHostsFile=" + q(knownHosts), "-o", "GlobalKnownHostsFile=/dev/null", "-o", "StrictHostKeyChecking=yes",
		"-o", "BatchMode=yes", "-o", "ConnectTimeout=10"}, " ")
}
