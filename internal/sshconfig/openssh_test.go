package sshconfig

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// runSSH runs the real OpenSSH client with a config file and nothing else
// from the environment that could change its answer.
func runSSH(t *testing.T, ssh string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, ssh, args...)
	cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK=")
	out, err := cmd.CombinedOutput()
	if err != nil && args[0] == "-G" {
		t.Fatalf("ssh %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// sshG returns `ssh -G` output as keyword → values, in order.
func sshG(t *testing.T, ssh, config, host string) (map[string][]string, string) {
	t.Helper()
	out := runSSH(t, ssh, "-G", "-F", config, host)
	values := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), " "); ok {
			values[k] = append(values[k], v)
		}
	}
	return values, out
}

// TestOpenSSHReadsTheBlock asks the real ssh client what it makes of a
// config after Apply: for our host the block's values win over a catch-all
// section that comes after it, and for any other host the answer is the
// same as before the block was added.
func TestOpenSSHReadsTheBlock(t *testing.T) {
	ssh := testutil.RequireTool(t, "ssh")
	dir := t.TempDir()
	otherKey := filepath.Join(dir, "other_key")
	keyPath := filepath.Join(dir, "My Keys", "100%", "id_ed25519")
	b := Block{Host: "bb.example.com", HostName: "bb.internal", Port: 7999, User: "git",
		IdentityFile: keyPath, IdentitiesOnly: true}

	configs := map[string]string{
		"Host * after global options": "# personal settings\nServerAliveInterval 31\n\n" +
			"Host *\n    User other\n    Port 2222\n    IdentityFile " + otherKey + "\n",
		"Match all, CRLF, no final newline": "ServerAliveInterval 31\r\n\r\n" +
			"Match all\r\n\tUser other\r\n\tPort 2222\r\n\tIdentityFile " + otherKey,
		"Host= form with a commented section": "ServerAliveInterval=31\n# catch-all\nHost=*\n  User=other\n  Port=2222\n" +
			"  IdentityFile=" + otherKey + "\nHost other.example.com\n  HostName o.internal\n",
	}
	for name, original := range configs {
		t.Run(name, func(t *testing.T) {
			before := filepath.Join(t.TempDir(), "config")
			writeFile(t, before, original, 0o600)
			after := filepath.Join(t.TempDir(), "config")
			writeFile(t, after, original, 0o600)
			if change, err := Update(after, b); err != nil || change != Inserted {
				t.Fatalf("Update = %v, %v", change, err)
			}

			got, raw := sshG(t, ssh, after, "bb.example.com")
			want := map[string]string{
				"hostname":            "bb.internal",
				"port":                "7999",
				"user":                "git",
				"identitiesonly":      "yes",
				"serveraliveinterval": "31", // global options above the block still apply
				// ssh -G shows IdentityFile before %-expansion.
				"identityfile": strings.ReplaceAll(keyPath, "%", "%%"),
			}
			for k, v := range want {
				if len(got[k]) == 0 || got[k][0] != v {
					t.Errorf("ssh -G bb.example.com: %s = %q, want %q first\n%s", k, got[k], v, raw)
				}
			}

			// The key file ssh would really offer, after %-expansion: ask
			// ssh -v without a network (the proxy command fails at once).
			verbose := runSSH(t, ssh, "-v", "-F", after, "-o", "ProxyCommand=false", "-o", "BatchMode=yes",
				"-o", "UserKnownHostsFile=/dev/null", "-o", "GlobalKnownHostsFile=/dev/null", "bb.example.com", "true")
			if !strings.Contains(verbose, "identity file "+keyPath+" type") {
				t.Errorf("ssh -v does not load %q:\n%s", keyPath, verbose)
			}
			if i, j := strings.Index(verbose, "identity file "+keyPath), strings.Index(verbose, "identity file "+otherKey); j >= 0 && j < i {
				t.Errorf("ssh offers %q before our key", otherKey)
			}

			// Any other host: ssh's whole answer is what it was without the block.
			for _, host := range []string{"other.example.com", "bb.example.org"} {
				wantOut := runSSH(t, ssh, "-G", "-F", before, host)
				gotOut := runSSH(t, ssh, "-G", "-F", after, host)
				if gotOut != wantOut {
					t.Errorf("ssh -G %s changed with the block:\nbefore:\n%s\nafter:\n%s", host, wantOut, gotOut)
				}
				other, _ := sshG(t, ssh, after, host)
				if other["user"][0] != "other" || other["port"][0] != "2222" || other["identitiesonly"][0] != "no" {
					t.Errorf("ssh -G %s: user %q port %q identitiesonly %q, want other/2222/no",
						host, other["user"], other["port"], other["identitiesonly"])
				}
			}
		})
	}
}
