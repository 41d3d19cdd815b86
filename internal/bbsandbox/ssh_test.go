package bbsandbox

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// sshClient drives the real OpenSSH client and git against a sandbox, with
// a fake HOME and every file passed explicitly (ssh finds ~ through passwd).
type sshClient struct {
	t          *testing.T
	s          *Server
	dir        string
	git, ssh   string
	knownHosts string
}

func newSSHClient(t *testing.T, s *Server) *sshClient {
	t.Helper()
	c := &sshClient{
		t: t, s: s, dir: t.TempDir(),
		git: testutil.RequireTool(t, "git"),
		ssh: testutil.RequireTool(t, "ssh"),
	}
	c.knownHosts = filepath.Join(c.dir, "known_hosts")
	if err := os.WriteFile(c.knownHosts, []byte(s.KnownHostsLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

// keygen makes a key pair with the real ssh-keygen and returns the private
// key path and the public key text.
func (c *sshClient) keygen(name, typ string) (string, string) {
	c.t.Helper()
	keygen := testutil.RequireTool(c.t, "ssh-keygen")
	path := filepath.Join(c.dir, name)
	args := []string{"-q", "-t", typ, "-N", "", "-C", name + "@example.com", "-f", path}
	if typ == "rsa" {
		args = append(args, "-b", "2048")
	}
	if out, err := exec.Command(keygen, args...).CombinedOutput(); err != nil {
		c.t.Fatalf("ssh-keygen: %v: %s", err, out)
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		c.t.Fatal(err)
	}
	return path, strings.TrimSpace(string(pub))
}

func (c *sshClient) sshArgs(key string) []string {
	return []string{
		"-F", os.DevNull, "-i", key, "-o", "IdentitiesOnly=yes",
		"-o", "UserKnownHostsFile=" + c.knownHosts, "-o", "GlobalKnownHostsFile=" + os.DevNull,
		"-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10",
	}
}

func (c *sshClient) env(key string) []string {
	return append(gitEnv(
		"HOME="+c.dir,
		"GIT_SSH_COMMAND="+c.ssh+" "+strings.Join(c.sshArgs(key), " "),
		"GIT_AUTHOR_NAME=Test", "GIT_AUTHOR_EMAIL=test@example.com",
		"GIT_COMMITTER_NAME=Test", "GIT_COMMITTER_EMAIL=test@example.com",
	), "LC_ALL=C")
}

// run runs a command with a deadline and returns combined output.
func (c *sshClient) run(key, name string, args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = testutil.CommandWaitDelay // git's ssh holding the pipes must not hang the test
	cmd.Env = c.env(key)
	cmd.Dir = c.dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (c *sshClient) lsRemote(key, url string) (string, error) {
	return c.run(key, c.git, "ls-remote", url)
}

func (c *sshClient) sshCmd(key string, extra ...string) (string, error) {
	args := append(c.sshArgs(key), "-p", strconv.Itoa(c.s.SSHPort()), "git@127.0.0.1")
	return c.run(key, c.ssh, append(args, extra...)...)
}

// push makes a commit in a fresh local repository and pushes it to branch.
func (c *sshClient) push(key, url, branch string) (string, error) {
	c.t.Helper()
	work := filepath.Join(c.dir, "work-"+branch)
	for _, args := range [][]string{
		{"init", "-q", work},
		{"-C", work, "commit", "-q", "--allow-empty", "-m", "change " + branch},
	} {
		if out, err := c.run(key, c.git, args...); err != nil {
			c.t.Fatalf("git %v: %v: %s", args, err, out)
		}
	}
	return c.run(key, c.git, "-C", work, "push", url, "HEAD:refs/heads/"+branch)
}

func register(t *testing.T, s *Server, a auth, pub string) {
	t.Helper()
	wantStatus(t, do(t, s, "POST", "/rest/ssh/1.0/keys", a, map[string]any{"text": pub}), 201)
}

func grant(t *testing.T, s *Server, path, pub, perm string) {
	t.Helper()
	wantStatus(t, do(t, s, "POST", path, asAlice, map[string]any{"key": map[string]any{"text": pub}, "permission": perm}), 201)
}

func TestOpenSSHUserKey(t *testing.T) {
	s := startSandbox(t, nil)
	c := newSSHClient(t, s)
	key, pub := c.keygen("alice", "ed25519")
	register(t, s, asAlice, pub)
	url := s.CloneURL("PROJ", "demo")

	out, err := c.lsRemote(key, url)
	if err != nil || !strings.Contains(out, "\trefs/heads/main") || !strings.Contains(out, "\tHEAD") {
		t.Fatalf("git ls-remote %s: %v\n%s", url, err, out)
	}
	// Path forms: upper-case project, no .git, personal project.
	port := strconv.Itoa(s.SSHPort())
	for _, u := range []string{"ssh://git@127.0.0.1:" + port + "/PROJ/demo", "ssh://git@127.0.0.1:" + port + "/~alice/dotfiles.git"} {
		if out, err := c.lsRemote(key, u); err != nil || !strings.Contains(out, "refs/heads/main") {
			t.Errorf("git ls-remote %s: %v\n%s", u, err, out)
		}
	}

	out, err = c.sshCmd(key, "whoami")
	if err != nil || strings.TrimSpace(out) != "alice" {
		t.Errorf("ssh whoami: %v %q", err, out)
	}

	// alice is project admin: she can push; the ref shows up in the bare repo.
	if out, err := c.push(key, url, "feature"); err != nil {
		t.Fatalf("git push: %v\n%s", err, out)
	}
	if out, err := c.run(key, c.git, "--git-dir", s.RepoDir("PROJ", "demo"), "rev-parse", "--verify", "refs/heads/feature"); err != nil {
		t.Errorf("pushed branch missing in the bare repo: %v %s", err, out)
	}

	out, err = c.lsRemote(key, s.CloneURL("PROJ", "missing"))
	if err == nil || !strings.Contains(out, "Repository not found") || !strings.Contains(out, "does not exist, or you do not have permission") {
		t.Errorf("missing repo: %v\n%s", err, out)
	}
	// bob cannot see ~alice/dotfiles: the same answer as a missing repo.
	bobKey, bobPub := c.keygen("bob", "ed25519")
	register(t, s, asBob, bobPub)
	if out, err := c.lsRemote(bobKey, "ssh://git@127.0.0.1:"+port+"/~alice/dotfiles.git"); err == nil || !strings.Contains(out, "Repository not found") {
		t.Errorf("bob on ~alice/dotfiles: %v\n%s", err, out)
	}
	// bob reads PROJ but cannot push there.
	if out, err := c.push(bobKey, url, "bob"); err == nil || !strings.Contains(out, "not permitted") {
		t.Errorf("bob push: %v\n%s", err, out)
	}

	// A shell is refused, and the server calls itself SSHD-UNKNOWN.
	out, err = c.sshCmd(key, "-v", "-T")
	if err == nil || !strings.Contains(out, "remote software version SSHD-UNKNOWN") {
		t.Errorf("shell: %v\n%s", err, out)
	}
	if keys := s.UserKeys("alice"); len(keys) != 1 || keys[0].LastAuthenticated.IsZero() {
		t.Errorf("lastAuthenticated not recorded: %+v", keys)
	}
}

func TestOpenSSHUnregisteredKey(t *testing.T) {
	s := startSandbox(t, nil)
	c := newSSHClient(t, s)
	key, pub := c.keygen("stranger", "ed25519")
	out, err := c.lsRemote(key, s.CloneURL("PROJ", "demo"))
	if err == nil || !strings.Contains(out, "Permission denied") {
		t.Fatalf("unregistered key: %v\n%s", err, out)
	}
	// Registered, then deleted again: refused again.
	register(t, s, asAlice, pub)
	if out, err := c.lsRemote(key, s.CloneURL("PROJ", "demo")); err != nil {
		t.Fatalf("after registering: %v\n%s", err, out)
	}
	wantStatus(t, do(t, s, "DELETE", "/rest/ssh/1.0/keys?user=alice", asAlice, nil), 204)
	if out, err := c.lsRemote(key, s.CloneURL("PROJ", "demo")); err == nil || !strings.Contains(out, "Permission denied") {
		t.Fatalf("after deleting: %v\n%s", err, out)
	}
}

func TestOpenSSHAccessKeys(t *testing.T) {
	s := startSandbox(t, nil)
	c := newSSHClient(t, s)
	readKey, readPub := c.keygen("reader", "ed25519")
	writeKey, writePub := c.keygen("writer", "ecdsa")
	projKey, projPub := c.keygen("project", "ed25519")
	grant(t, s, "/rest/keys/1.0/projects/PROJ/repos/demo/ssh", readPub, "REPO_READ")
	grant(t, s, "/rest/keys/1.0/projects/PROJ/repos/demo/ssh", writePub, "REPO_WRITE")
	grant(t, s, "/rest/keys/1.0/projects/PROJ/ssh", projPub, "PROJECT_READ")
	demo, other := s.CloneURL("PROJ", "demo"), s.CloneURL("PROJ", "other")

	if out, err := c.lsRemote(readKey, demo); err != nil || !strings.Contains(out, "refs/heads/main") {
		t.Fatalf("read key ls-remote: %v\n%s", err, out)
	}
	if out, err := c.push(readKey, demo, "nope"); err == nil || !strings.Contains(out, "You are not permitted to access this repository") {
		t.Errorf("read key push: %v\n%s", err, out)
	}
	if out, err := c.lsRemote(readKey, other); err == nil || !strings.Contains(out, "Repository not found") {
		t.Errorf("read key on another repo: %v\n%s", err, out)
	}
	if out, err := c.push(writeKey, demo, "deploy"); err != nil {
		t.Errorf("write key push: %v\n%s", err, out)
	}
	if out, err := c.lsRemote(projKey, other); err != nil {
		t.Errorf("project key on a repo of the project: %v\n%s", err, out)
	}
	if out, err := c.sshCmd(readKey, "whoami"); err != nil || strings.TrimSpace(out) != "reader@example.com" {
		t.Errorf("whoami for an access key prints its label: %v %q", err, out)
	}

	// Upgrading the permission over REST takes effect for the next push.
	id := s.AccessKeys()[0].ID
	wantStatus(t, do(t, s, "PUT", "/rest/keys/1.0/projects/PROJ/repos/demo/ssh/"+strconv.Itoa(id)+"/permission/REPO_WRITE", asAlice, nil), 200)
	if out, err := c.push(readKey, demo, "now-allowed"); err != nil {
		t.Errorf("push after upgrade: %v\n%s", err, out)
	}

	// Access keys switched off globally: they no longer log in.
	s.SetAccessKeysEnabled(false)
	if out, err := c.lsRemote(readKey, demo); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("access keys disabled: %v\n%s", err, out)
	}
}

// TestOpenSSHRSATrap: like Bitbucket, the server leaves OpenSSH >= 8.8 no
// RSA signature algorithm to use, while a Go client (ssh-rsa) gets in.
func TestOpenSSHRSATrap(t *testing.T) {
	s := startSandbox(t, nil)
	c := newSSHClient(t, s)
	key, pub := c.keygen("rsa", "rsa")
	register(t, s, asAlice, pub)
	if out, err := c.sshCmd(key, "whoami"); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("OpenSSH with RSA: %v\n%s", err, out)
	}
	pem, err := os.ReadFile(key)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	out, err := goSSH(t, s, signer, "whoami")
	if err != nil || strings.TrimSpace(out) != "alice" {
		t.Errorf("Go client with RSA: %v %q", err, out)
	}

	s2 := startSandbox(t, func(cfg *Config) { cfg.AcceptRSASHA2 = true })
	register(t, s2, asAlice, pub)
	c2 := newSSHClient(t, s2)
	if out, err := c2.sshCmd(key, "whoami"); err != nil || strings.TrimSpace(out) != "alice" {
		t.Errorf("OpenSSH with RSA and AcceptRSASHA2: %v\n%s", err, out)
	}
}

func goDial(t *testing.T, s *Server, signer ssh.Signer) (*ssh.Client, error) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", s.SSHAddr(), 5*time.Second)
	if err != nil {
		return nil, err
	}
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	cc, chans, reqs, err := ssh.NewClientConn(conn, s.SSHAddr(), &ssh.ClientConfig{
		User:            "git",
		Auth:            []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: ssh.FixedHostKey(s.HostKey()),
	})
	if err != nil {
		conn.Close()
		return nil, err
	}
	client := ssh.NewClient(cc, chans, reqs)
	t.Cleanup(func() { client.Close() })
	return client, nil
}

func goSSH(t *testing.T, s *Server, signer ssh.Signer, command string) (string, error) {
	t.Helper()
	client, err := goDial(t, s, signer)
	if err != nil {
		return "", err
	}
	sess, err := client.NewSession()
	if err != nil {
		return "", err
	}
	defer sess.Close()
	out, err := sess.CombinedOutput(command)
	return string(out), err
}

func TestSessionLimitAndPty(t *testing.T) {
	s := startSandbox(t, nil)
	s.MaxSessionsPerConn(3)
	signer, pub := newEd25519(t, "go")
	register(t, s, asAlice, pub)
	client, err := goDial(t, s, signer)
	if err != nil {
		t.Fatal(err)
	}
	if string(client.ServerVersion()) != "SSH-2.0-SSHD-UNKNOWN" {
		t.Errorf("banner %q", client.ServerVersion())
	}
	var open []*ssh.Session
	for range 3 {
		sess, err := client.NewSession()
		if err != nil {
			t.Fatalf("session within the limit: %v", err)
		}
		open = append(open, sess)
	}
	_, err = client.NewSession()
	var oce *ssh.OpenChannelError
	if !errors.As(err, &oce) || oce.Reason != ssh.ResourceShortage {
		t.Fatalf("session beyond the limit: %v", err)
	}
	if err := open[0].RequestPty("xterm", 24, 80, nil); err == nil {
		t.Error("pty request accepted")
	}
	if err := open[1].Shell(); err == nil {
		t.Error("shell accepted")
	}
	if err := open[2].Start("cat /etc/passwd"); err == nil {
		t.Error("arbitrary command accepted")
	}
	open[0].Close()
	// A closed session frees its slot.
	deadline := time.Now().Add(5 * time.Second)
	for {
		sess, err := client.NewSession()
		if err == nil {
			out, err := sess.Output("whoami")
			if err != nil || strings.TrimSpace(string(out)) != "alice" {
				t.Errorf("whoami on a freed slot: %v %q", err, out)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot never freed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestSSHSilentAndDisabled(t *testing.T) {
	s := startSandbox(t, nil)
	s.SSHSilent(true)
	conn, err := net.DialTimeout("tcp", s.SSHAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	n, err := conn.Read(make([]byte, 64))
	var ne net.Error
	if n != 0 || !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("silent server said %d bytes, err %v", n, err)
	}
	conn.Close()

	s.SSHSilent(false)
	s.SetSSHEnabled(false)
	conn, err = net.DialTimeout("tcp", s.SSHAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := conn.Read(make([]byte, 64)); n != 0 || err == nil || errors.As(err, &ne) {
		t.Errorf("disabled SSH: read %d, %v (want the connection closed)", n, err)
	}
	conn.Close()

	// A silent connection still ends on Close.
	s.SSHSilent(true)
	s.SetSSHEnabled(true)
	conn, err = net.DialTimeout("tcp", s.SSHAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	time.Sleep(50 * time.Millisecond)
	done := make(chan struct{})
	go func() { _ = s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Close hangs on a silent connection")
	}
}
