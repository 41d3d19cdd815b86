package sshverify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

// gitLsRemote runs real git through OpenSSH's ssh with exactly keyFile.
// It returns the refs git prints, leaving out peeled "^{}" lines (which
// are not refs, and which Verify does not count).
func gitLsRemote(t *testing.T, keyFile, knownHosts, url string) (refs int, out string, err error) {
	t.Helper()
	testutil.RequireTool(t, "ssh")
	cmd := testutil.Command(t, testutil.RequireTool(t, "git"), "ls-remote", url)
	cmd.Env = append(sshdtest.GitEnv(t.TempDir()), "GIT_SSH_COMMAND="+sshdtest.SSHCommand(keyFile, knownHosts))
	b, err := cmd.CombinedOutput()
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if _, ref, ok := strings.Cut(line, "\t"); ok && !strings.HasSuffix(ref, "^{}") {
			refs++
		}
	}
	return refs, string(b), err
}

// TestAgainstOpenSSH compares our verdicts with git + OpenSSH against a
// real sshd: same success and ref count for the authorised key, both
// fail for a key the server does not know.
func TestAgainstOpenSSH(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	dir := t.TempDir()
	good, goodFile := sshdtest.NewKey(t, dir, "id_good")
	bad, badFile := sshdtest.NewKey(t, dir, "id_bad")
	srv.Authorize(good.PublicKey(), "alice")
	srv.NewRepo("/proj/repo.git", []string{"main", "dev", "feature"}, []string{"v1", "v2"})
	srv.NewRepo("/proj/empty.git", nil, nil)
	srv.NewRepo("/proj/ro.git", []string{"main"}, nil)
	srv.SetReadOnly("/proj/ro.git")
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(srv.KnownHostsLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	opts := Options{Signer: good, KnownHostsFile: kh, User: srv.LoginUser, Timeout: 20 * time.Second, Write: true}
	url := srv.URL("/proj/repo.git")

	gitRefs, out, err := gitLsRemote(t, goodFile, kh, url)
	if err != nil {
		t.Fatalf("git ls-remote with the authorised key: %v\n%s", err, out)
	}
	res := Verify(context.Background(), []Target{
		{URL: url},
		{URL: srv.URL("/proj/empty.git")},
		{URL: srv.URL("/proj/missing.git")},
		{URL: srv.URL("/proj/ro.git")},
	}, opts)
	wantStatus(t, res[0], StatusOK)
	if res[0].User != "alice" || res[0].Refs == nil || *res[0].Refs != gitRefs || gitRefs != 6 {
		t.Errorf("verify: user %q refs %v; git ls-remote saw %d refs (want 6: HEAD, 3 branches, 2 tags)\n%s", res[0].User, res[0].Refs, gitRefs, out)
	}
	if res[0].Write == nil || !*res[0].Write {
		t.Errorf("write access not seen: %+v", res[0])
	}
	wantStatus(t, res[1], StatusOK)
	if res[1].Refs == nil || *res[1].Refs != 0 {
		t.Errorf("empty repository: refs %v", res[1].Refs)
	}
	if n, out, err := gitLsRemote(t, goodFile, kh, srv.URL("/proj/empty.git")); err != nil || n != 0 {
		t.Errorf("git ls-remote of the empty repository: %d refs, %v\n%s", n, err, out)
	}
	wantStatus(t, res[2], StatusRepoNotFound)
	if !strings.Contains(res[2].Message, "Repository not found") {
		t.Errorf("message %q", res[2].Message)
	}
	if _, out, err := gitLsRemote(t, goodFile, kh, srv.URL("/proj/missing.git")); err == nil || !strings.Contains(out, "Repository not found") {
		t.Errorf("git ls-remote of a missing repository: %v\n%s", err, out)
	}
	wantStatus(t, res[3], StatusNoWriteAccess)

	// The unauthorised key: both fail.
	if _, out, err := gitLsRemote(t, badFile, kh, url); err == nil || !strings.Contains(out, "Permission denied (publickey)") {
		t.Errorf("git ls-remote with an unknown key succeeded or said something else: %v\n%s", err, out)
	}
	bad1 := Verify(context.Background(), []Target{{URL: url}}, Options{Signer: bad, KnownHostsFile: kh, User: srv.LoginUser})
	wantStatus(t, bad1[0], StatusKeyRejected)

	// Host key: an empty known_hosts accepted through the callback gives
	// a line OpenSSH itself then trusts (StrictHostKeyChecking=yes).
	kh2 := filepath.Join(dir, "known_hosts2")
	res = Verify(context.Background(), []Target{{URL: url}}, Options{Signer: good, KnownHostsFile: kh2, User: srv.LoginUser,
		HostKeyPolicy: &HostKeyPolicy{AcceptNew: true}})
	wantStatus(t, res[0], StatusOK)
	if !res[0].HostKeyAdded {
		t.Error("HostKeyAdded not set")
	}
	if n, out, err := gitLsRemote(t, goodFile, kh2, url); err != nil || n != gitRefs {
		t.Errorf("OpenSSH does not accept the known_hosts line we wrote: %v\n%s", err, out)
	}
}

// OpenSSH's MaxSessions: channels beyond it are refused; Verify moves
// them to other connections and every target still passes.
func TestOpenSSHMaxSessions(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{MaxSessions: 2})
	dir := t.TempDir()
	good, _ := sshdtest.NewKey(t, dir, "id_good")
	srv.Authorize(good.PublicKey(), "alice")
	srv.NewRepo("/proj/repo.git", []string{"main"}, nil)
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(srv.KnownHostsLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	targets := make([]Target, 8)
	for i := range targets {
		targets[i] = Target{URL: srv.URL("/proj/repo.git")}
	}
	res := Verify(context.Background(), targets, Options{Signer: good, KnownHostsFile: kh, User: srv.LoginUser, Timeout: 30 * time.Second})
	for _, r := range res {
		wantStatus(t, r, StatusOK)
		if r.User != "alice" || r.Refs == nil || *r.Refs != 2 {
			t.Errorf("result %+v", r)
		}
	}
}
