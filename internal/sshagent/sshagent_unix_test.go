//go:build !windows

package sshagent

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// listen opens a Unix socket in a fresh directory.
func listen(t *testing.T) (string, net.Listener) {
	t.Helper()
	addr := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", addr)
	if err != nil {
		t.Fatal(err)
	}
	return addr, l
}

func missingAddr(t *testing.T) string { return filepath.Join(t.TempDir(), "agent.sock") }

func TestNoAgentWithoutSSHAuthSock(t *testing.T) {
	_, _, err := Dial(env(nil))
	var de *DialError
	if !errors.Is(err, ErrNoAgent) || !errors.As(err, &de) || de.Addr != "" {
		t.Fatalf("Dial without SSH_AUTH_SOCK = %v, want ErrNoAgent", err)
	}
	if err.Error() != "no ssh-agent: SSH_AUTH_SOCK is not set" {
		t.Errorf("message %q", err)
	}
}

// A socket left behind by an agent that exited is no agent either.
func TestStaleSocketIsNoAgent(t *testing.T) {
	addr, l := listen(t)
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	if _, err := os.Stat(addr); err != nil {
		t.Fatalf("the socket file should stay: %v", err)
	}
	_, _, err := Dial(env(map[string]string{"SSH_AUTH_SOCK": addr}))
	if !errors.Is(err, ErrNoAgent) {
		t.Fatalf("Dial to a stale socket = %v, want ErrNoAgent", err)
	}
}

// Permission denied means an agent may be there but cannot be reached:
// not "no agent" (which would send the user off to start one).
func TestAbsentOnlyForNoSocket(t *testing.T) {
	for errno, want := range map[syscall.Errno]bool{syscall.ENOENT: true, syscall.ECONNREFUSED: true, syscall.EACCES: false, syscall.ETIMEDOUT: false} {
		err := &net.OpError{Op: "dial", Net: "unix", Err: os.NewSyscallError("connect", errno)}
		if absent(err) != want {
			t.Errorf("absent(%v) = %v, want %v", err, !want, want)
		}
	}
}

// Against OpenSSH's own ssh-agent: what we add, ssh-add lists; what
// ssh-add adds, we list.
func TestRealSSHAgent(t *testing.T) {
	sshAgent := testutil.RequireTool(t, "ssh-agent")
	sshAdd := testutil.RequireTool(t, "ssh-add")
	sshKeygen := testutil.RequireTool(t, "ssh-keygen")
	dir := t.TempDir()
	sock := filepath.Join(dir, "agent.sock")
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, sshAgent, "-D", "-a", sock)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("ssh-agent did not create its socket")
		}
	}
	getenv := env(map[string]string{"SSH_AUTH_SOCK": sock})
	client, closer, err := Dial(getenv)
	if err != nil {
		t.Fatal(err)
	}
	defer closer.Close()
	useAgent(t, client)

	agentEnv := append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	list := exec.Command(sshAdd, "-L")
	list.Env = agentEnv
	out, err := list.Output()
	if err != nil || !strings.Contains(string(out), " agent-test@example.com") {
		t.Fatalf("ssh-add -L does not show the key added through Dial: %q (%v)", out, err)
	}

	key := filepath.Join(dir, "id_ed25519")
	if out, err := exec.Command(sshKeygen, "-q", "-t", "ed25519", "-N", "", "-C", "added-by-ssh-add", "-f", key).CombinedOutput(); err != nil {
		t.Fatalf("ssh-keygen: %v\n%s", err, out)
	}
	add := exec.Command(sshAdd, key)
	add.Env = agentEnv
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v\n%s", err, out)
	}
	pubText, _ := os.ReadFile(key + ".pub")
	pub, _, _, _, err := ssh.ParseAuthorizedKey(pubText)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := client.List()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, k := range keys {
		found = found || k.Comment == "added-by-ssh-add" && bytes.Equal(k.Marshal(), pub.Marshal())
	}
	if !found {
		t.Fatalf("List does not show the key ssh-add added: %v", keys)
	}
}
