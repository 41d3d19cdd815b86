package doctor

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/crypto/ssh/agent"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// system is a System with only the variables in vars.
func system(t *testing.T, home string, vars map[string]string) *System {
	env := []string{"HOME=" + home}
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	getenv := func(k string) string {
		if k == "HOME" {
			return home
		}
		return vars[k]
	}
	return &System{Getenv: getenv, Environ: env, Home: home, Dir: t.TempDir(),
		Config: &gitconfig.Reader{Env: env, MissingGitIsUnset: true}}
}

// The settings are OpenSSH's own, for the ssh command git runs
// (GIT_SSH_COMMAND here), and ssh -V gives the version.
func TestSystemAsksOpenSSH(t *testing.T) {
	testutil.RequireTool(t, "ssh")
	h := t.TempDir()
	cfg := filepath.Join(h, "cfg")
	if err := os.WriteFile(cfg, []byte("Host bb\n  HostName bb.example.com\n  Port 7999\n  IdentityFile /keys/work\n  IdentitiesOnly yes\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := system(t, h, map[string]string{"GIT_SSH_COMMAND": "ssh -F " + cfg, "PATH": os.Getenv("PATH")})
	cmd, err := s.SSHCommand(context.Background())
	if err != nil || cmd.Source != openssh.SourceGitSSHCommand {
		t.Fatalf("command %+v, %v", cmd, err)
	}
	got, err := s.SSHSettings(context.Background(), openssh.Target{Host: "bb"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Approximated || got.Hostname != "bb.example.com" || got.Port != 7999 || !got.IdentitiesOnly ||
		len(got.IdentityFiles) != 1 || got.IdentityFiles[0].Path != "/keys/work" {
		t.Errorf("settings %+v", got)
	}
	path, err := s.LookPath("ssh")
	if err != nil {
		t.Fatal(err)
	}
	f := &Facts{}
	gatherSSH(context.Background(), s, f)
	if f.SSH.Path != path || !f.SSH.Version.AtLeast(6, 0) {
		t.Errorf("ssh %+v", f.SSH)
	}
}

// Without ssh, the settings come from ~/.ssh/config under $HOME and say
// that they are approximated; doctor says the verdict may differ.
func TestSystemWithoutSSH(t *testing.T) {
	h := t.TempDir()
	if err := os.MkdirAll(filepath.Join(h, ".ssh"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h, ".ssh", "config"), []byte("Host bb\n  HostName bb.example.com\n  Port 7999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := system(t, h, map[string]string{"PATH": t.TempDir()})
	if _, err := s.LookPath("ssh"); err == nil {
		t.Fatal("found ssh in an empty PATH")
	}
	got, err := s.SSHSettings(context.Background(), openssh.Target{Host: "bb"})
	if err != nil {
		t.Fatal(err)
	}
	if !got.Approximated || got.Hostname != "bb.example.com" || got.Port != 7999 {
		t.Errorf("settings %+v", got)
	}
	f := &Facts{Home: h, SSHDir: filepath.Join(h, ".ssh"), Address: &Endpoint{Settings: got, OnServer: true}}
	gatherSSH(context.Background(), s, f)
	if c := checkSSH(f); len(c) != 1 || c[0].Kind != SSHMissing || c[0].Status != Fail {
		t.Errorf("ssh check: %+v", c)
	}
}

// The agent is the user's (SSH_AUTH_SOCK here), listed; none running is
// no error.
func TestSystemAgent(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a unix socket; sshagent tests the Windows pipe")
	}
	dir, err := os.MkdirTemp("", "agent") // short: socket paths are limited
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	keyring := agent.NewKeyring()
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	if err := keyring.Add(agent.AddedKey{PrivateKey: priv}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	s := system(t, t.TempDir(), map[string]string{"SSH_AUTH_SOCK": sock})
	addr, keys, err := s.Agent(context.Background())
	signer, _ := sshkeys.NewUnlocked("k", priv)
	if err != nil || addr != sock || len(keys) != 1 || sshkeys.Fingerprint(keys[0]) != sshkeys.Fingerprint(signer.Signer.PublicKey()) {
		t.Errorf("agent %q %v %v", addr, keys, err)
	}
	s = system(t, t.TempDir(), map[string]string{"SSH_AUTH_SOCK": filepath.Join(dir, "none")})
	f := &Facts{}
	gatherAgent(context.Background(), s, f)
	if _, _, err := s.Agent(context.Background()); !errors.Is(err, sshagent.ErrNoAgent) || f.Agent.Running || f.Agent.Addr == "" {
		t.Errorf("no agent: %v, %+v", err, f.Agent)
	}
	if c := checkAgent(f); c[0].Kind != AgentDown {
		t.Errorf("agent check: %+v", c)
	}
}
