package sshdtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// lsRemote runs real git through real ssh against the server.
func lsRemote(t *testing.T, s *Server, keyFile, knownHosts, url string) (string, error) {
	t.Helper()
	testutil.RequireTool(t, "ssh")
	cmd := exec.Command(testutil.RequireTool(t, "git"), "ls-remote", url)
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
