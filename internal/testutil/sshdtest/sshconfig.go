package sshdtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// WriteSSHConfig writes an ssh_config for `ssh -F` that keeps OpenSSH
// away from the account's real ~/.ssh (OpenSSH finds ~ through the
// password database, not $HOME): blocks first (Host/Match sections of
// the test, in order), then a final "Host *" with keyFile as the only
// identity, no agent, knownHosts as the only known-hosts file, strict
// host-key checking and batch mode. It returns the file's path.
func WriteSSHConfig(t testing.TB, dir, keyFile, knownHosts string, blocks ...string) string {
	t.Helper()
	lines := append([]string(nil), blocks...)
	lines = append(lines,
		"Host *",
		"  IdentityFile "+quoteConfig(keyFile),
		"  IdentitiesOnly yes",
		"  IdentityAgent none",
		"  UserKnownHostsFile "+quoteConfig(knownHosts),
		"  GlobalKnownHostsFile /dev/null",
		"  StrictHostKeyChecking yes",
		"  BatchMode yes",
		"  ConnectTimeout 10",
	)
	file := filepath.Join(dir, "ssh_config")
	if err := os.WriteFile(file, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

func quoteConfig(s string) string {
	if strings.ContainsAny(s, " \t\"") {
		return `"` + s + `"`
	}
	return s
}
