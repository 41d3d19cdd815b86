package sshdtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// lsRemote runs real git through real ssh against the server.
func lsRemote(t *testing.T, s *Server, keyFile, knownHosts, url string) (string, error) {
	t.Helper()
	testutil.RequireTool(t, "ssh")
	cmd := testutil.Command(t, testutil.RequireTool(t, "git"), "ls-remote", url)
	cmd.Env = append(GitEnv(t.TempDir()), "GIT_SSH_COMMAND="+SSHCommand(keyFile, knownHosts))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func TestServer(t *testing.T) {
	s := Start(t, Options{})
	dir := t.TempDir()
	_, keyFile := NewKey(t, dir, "id_ed25519")
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(s.KnownHostsLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	NewKey(t, dir, "id_other")
	pub, err := os.ReadFile(keyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	k, _, _, _, err := ssh.ParseAuthorizedKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	s.Authorize(k, "alice")
	s.NewRepo("/proj/repo.git", []string{"main", "dev"}, []string{"v1"})

	out, err := lsRemote(t, s, keyFile, kh, s.URL("/proj/repo.git"))
	if err != nil {
		t.Fatalf("git ls-remote: %v\n%s", err, out)
	}
	for _, want := range []string{"HEAD", "refs/heads/main", "refs/heads/dev", "refs/tags/v1", "refs/tags/v1^{}"} {
		if !strings.Contains(out, "\t"+want+"\n") {
			t.Errorf("ls-remote output lacks %s:\n%s", want, out)
		}
	}

	out, err = lsRemote(t, s, keyFile, kh, s.URL("/proj/missing.git"))
	if err == nil || !strings.Contains(out, "Repository not found") {
		t.Errorf("missing repository: err %v\n%s", err, out)
	}

	out, err = lsRemote(t, s, filepath.Join(dir, "id_other"), kh, s.URL("/proj/repo.git"))
	if err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("unauthorised key: err %v\n%s", err, out)
	}
}

// TestJump: a server started with AllowTcpForwarding carries git's ssh
// to another one, with ProxyJump, as a bastion does.
func TestJump(t *testing.T) {
	target := Start(t, Options{})
	bastion := Start(t, Options{AllowTcpForwarding: true})
	dir := t.TempDir()
	signer, keyFile := NewKey(t, dir, "id_ed25519")
	target.Authorize(signer.PublicKey(), "alice")
	bastion.AuthorizeJump(signer.PublicKey())
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(target.KnownHostsLine()+"\n"+bastion.KnownHostsLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	target.NewRepo("/proj/repo.git", []string{"main"}, nil)
	cfg := WriteSSHConfig(t, dir, keyFile, kh)
	jump := bastion.LoginUser + "@" + bastion.Host + ":" + strconv.Itoa(bastion.Port)

	run := func(sshCommand string) (string, error) {
		cmd := testutil.Command(t, testutil.RequireTool(t, "git"), "ls-remote", target.URL("/proj/repo.git"))
		cmd.Env = append(GitEnv(t.TempDir()), "GIT_SSH_COMMAND="+sshCommand)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	testutil.RequireTool(t, "ssh")
	if out, err := run("ssh -F " + cfg + " -J " + jump); err != nil || !strings.Contains(out, "refs/heads/main") {
		t.Fatalf("ls-remote through the bastion: %v\n%s", err, out)
	}
	// The bastion refuses sessions: it is a jump host only.
	out, err := testutil.Command(t, testutil.RequireTool(t, "ssh"), "-F", cfg, "-p", strconv.Itoa(bastion.Port), bastion.LoginUser+"@"+bastion.Host, "whoami").CombinedOutput()
	if err == nil {
		t.Errorf("a session on the bastion worked: %s", out)
	}
	// Without forwarding, the target cannot be a jump host.
	targetJump := target.LoginUser + "@" + target.Host + ":" + strconv.Itoa(target.Port)
	if out, err := run("ssh -F " + cfg + " -J " + targetJump); err == nil {
		t.Errorf("a server without AllowTcpForwarding carried the connection:\n%s", out)
	}
}
