//go:build !windows

package setup_test

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/crypto/ssh/agent"

	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
)

// Issue 13: --agent reaches the agent SSH_AUTH_SOCK names through
// internal/sshagent (on Windows, the OpenSSH agent's named pipe).
func TestAgentThroughSSHAuthSock(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	keyring := agent.NewKeyring()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	w := newWorld(t)
	d := w.deps(nil)
	d.Agent = sshagent.System(func(k string) string {
		if k == "SSH_AUTH_SOCK" {
			return sock
		}
		return ""
	})
	o := w.options
	o.Agent, o.AgentLifetime = true, time.Hour
	r, err := setup.Run(context.Background(), o, d)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := keyring.List()
	if err != nil || len(keys) != 1 || sshkeys.Fingerprint(keys[0]) != r.Key.Fingerprint || r.Agent != setup.AgentAdded {
		t.Fatalf("the agent holds %v (%v), setup says %v for key %s", keys, err, r.Agent, r.Key.Fingerprint)
	}
}
