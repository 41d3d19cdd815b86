// Package sshdtest starts a real OpenSSH sshd for tests: on a random
// 127.0.0.1 port, with its own host keys and authorized_keys in a temp
// dir, serving Bitbucket's SSH commands (whoami, git-upload-pack,
// git-receive-pack) from bare repositories made with real git.
//
// Keys are authorised with command="…" in authorized_keys, so each key
// can stand for a different Bitbucket user. The server logs in as the
// user running the test (root in CI containers: its password field must
// be "*", not "!", or sshd treats the account as locked).
package sshdtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// Options configures Start. The zero value is fine.
type Options struct {
	// MaxSessions is sshd's per-connection session limit (sshd default 10).
	MaxSessions int
	// ExtraConfig lines are appended to sshd_config.
	ExtraConfig []string
	// AllowTcpForwarding makes the server usable as a jump host
	// (ProxyJump, ssh -W) for keys let in with AuthorizeJump.
	AllowTcpForwarding bool
}

// Server is a running sshd.
type Server struct {
	Host string // "127.0.0.1"
	Port int
	// HostKey is the server's ed25519 host key; HostKeyFile its private
	// key file (the public one is HostKeyFile+".pub").
	HostKey     ssh.PublicKey
	HostKeyFile string
	Dir         string // the temp dir holding config, keys and logs
	ReposDir    string // repository path "/proj/repo.git" is ReposDir/proj/repo.git
	LoginUser   string // the local account sshd logs in as

	t        testing.TB
	gitPath  string
	shell    string
	authFile string
	mu       sync.Mutex
}

// Start runs sshd until the test ends. It skips (or, with
// BBKEY_REQUIRE_TOOLS=1, fails) when sshd, ssh-keygen or git is missing.
func Start(t testing.TB, opts Options) *Server {
	t.Helper()
	sshd := testutil.RequireTool(t, "sshd")
	keygen := testutil.RequireTool(t, "ssh-keygen")
	gitPath := testutil.RequireTool(t, "git")
	if !filepath.IsAbs(sshd) {
		// sshd refuses to re-exec itself from a relative path.
		abs, err := filepath.Abs(sshd)
		if err != nil {
			t.Fatal(err)
		}
		sshd = abs
	}
	u, err := user.Current()
	if err != nil {
		t.Fatalf("sshdtest: current user: %v", err)
	}
	if os.Geteuid() == 0 {
		// sshd running as root insists on its privilege separation dir.
		if _, err := os.Stat("/run/sshd"); os.IsNotExist(err) {
			if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
				t.Fatalf("sshdtest: create /run/sshd: %v", err)
			}
		}
	}

	dir := t.TempDir()
	s := &Server{Host: "127.0.0.1", Dir: dir, ReposDir: filepath.Join(dir, "repos"), LoginUser: u.Username,
		t: t, gitPath: gitPath, HostKeyFile: filepath.Join(dir, "ssh_host_ed25519_key"),
		authFile: filepath.Join(dir, "authorized_keys"), shell: filepath.Join(dir, "bitbucket-shell")}
	if err := os.MkdirAll(s.ReposDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-C", "sshdtest host key", "-f", s.HostKeyFile).CombinedOutput(); err != nil {
		t.Fatalf("sshdtest: ssh-keygen: %v\n%s", err, out)
	}
	pub, err := os.ReadFile(s.HostKeyFile + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if s.HostKey, _, _, _, err = ssh.ParseAuthorizedKey(pub); err != nil {
		t.Fatalf("sshdtest: host key: %v", err)
	}
	if err := os.WriteFile(s.authFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(s.shell, []byte(shellScript(gitPath, s.ReposDir)), 0o755); err != nil {
		t.Fatal(err)
	}

	// Pick a free port; another process may take it before sshd binds,
	// so try a few times.
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		s.Port = port
		if lastErr = s.run(sshd, opts); lastErr == nil {
			return s
		}
	}
	t.Fatalf("sshdtest: %v", lastErr)
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) run(sshd string, opts Options) error {
	t := s.t
	config := []string{
		"Port " + strconv.Itoa(s.Port),
		"ListenAddress 127.0.0.1",
		"HostKey " + s.HostKeyFile,
		"PidFile " + filepath.Join(s.Dir, "sshd.pid"),
		"AuthorizedKeysFile " + s.authFile,
		"StrictModes no",
		"UsePAM no",
		"PubkeyAuthentication yes",
		"PasswordAuthentication no",
		"KbdInteractiveAuthentication no",
		"PermitRootLogin prohibit-password",
		"AllowTcpForwarding " + map[bool]string{false: "no", true: "yes"}[opts.AllowTcpForwarding],
		"X11Forwarding no",
		"PermitTTY no",
		"PrintMotd no",
		"LoginGraceTime 30",
		// sshd runs each command through the login shell, and bash reads
		// the account's ~/.bashrc even then: an empty HOME keeps whatever
		// the machine's user set up there (pyenv, say) out of every session.
		"SetEnv HOME=" + filepath.Join(s.Dir, "session-home"),
	}
	if err := os.MkdirAll(filepath.Join(s.Dir, "session-home"), 0o700); err != nil {
		return err
	}
	if opts.MaxSessions > 0 {
		config = append(config, "MaxSessions "+strconv.Itoa(opts.MaxSessions))
	}
	config = append(config, opts.ExtraConfig...)
	cfgFile := filepath.Join(s.Dir, "sshd_config")
	if err := os.WriteFile(cfgFile, []byte(strings.Join(config, "\n")+"\n"), 0o600); err != nil {
		return err
	}
	logFile := filepath.Join(s.Dir, fmt.Sprintf("sshd-%d.log", s.Port))
	logOut, err := os.Create(logFile)
	if err != nil {
		return err
	}
	args := []string{"-D", "-e", "-f", cfgFile, "-o", "LogLevel=ERROR"}
	cmd := exec.Command(sshd, args...)
	if _, err := os.Stat("/bin/sh"); err == nil {
		// sshd closes every possible descriptor before each command; with
		// a container's large RLIMIT_NOFILE that costs seconds per session.
		cmd = exec.Command("/bin/sh", append([]string{"-c", `ulimit -n 1024 2>/dev/null; exec "$0" "$@"`, sshd}, args...)...)
	}
	cmd.Stdout, cmd.Stderr = logOut, logOut
	if err := cmd.Start(); err != nil {
		logOut.Close()
		return fmt.Errorf("start sshd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait(); logOut.Close() }()

	deadline := time.Now().Add(10 * time.Second)
	for {
		if banner(s.Host, s.Port) {
			break
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logFile)
			return fmt.Errorf("sshd exited (%v):\n%s", err, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			log, _ := os.ReadFile(logFile)
			return fmt.Errorf("sshd did not answer on port %d within 10s:\n%s", s.Port, log)
		}
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			if log, _ := os.ReadFile(logFile); len(log) > 0 {
				t.Logf("sshd log:\n%s", log)
			}
		}
	})
	return nil
}

// banner reports whether an SSH server greets on host:port.
func banner(host string, port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// Authorize lets key in; whoami then prints bitbucketUser for it.
func (s *Server) Authorize(key ssh.PublicKey, bitbucketUser string) {
	s.t.Helper()
	for _, c := range bitbucketUser {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-~", c)) {
			s.t.Fatalf("sshdtest: unsupported Bitbucket user name %q", bitbucketUser)
		}
	}
	line := fmt.Sprintf("command=\"%s %s\",no-pty,no-port-forwarding,no-agent-forwarding,no-X11-forwarding %s",
		s.shell, bitbucketUser, ssh.MarshalAuthorizedKey(key))
	s.mu.Lock()
	defer s.mu.Unlock()
	f, err := os.OpenFile(s.authFile, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		s.t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(line); err != nil {
		s.t.Fatal(err)
	}
}

// NewRepo creates a bare repository at path (e.g. "/proj/repo.git") with
// the given branches (each one commit) and annotated tags. With no
// branches the repository is empty.
func (s *Server) NewRepo(path string, branches, tags []string) string {
	s.t.Helper()
	bare := filepath.Join(s.ReposDir, filepath.FromSlash(strings.TrimPrefix(path, "/")))
	if len(branches) == 0 {
		s.git("", "init", "-q", "--bare", bare)
		return bare
	}
	s.git("", "init", "-q", "--bare", "--initial-branch", branches[0], bare)
	work := s.t.TempDir()
	s.git(work, "init", "-q", "-b", branches[0])
	s.git(work, "commit", "-q", "--allow-empty", "-m", "first")
	for _, b := range branches[1:] {
		s.git(work, "branch", b)
	}
	for _, tag := range tags {
		s.git(work, "tag", "-a", "-m", tag, tag)
	}
	s.git(work, "push", "-q", bare, "--all")
	if len(tags) > 0 {
		s.git(work, "push", "-q", bare, "--tags")
	}
	return bare
}

// SetReadOnly makes git-receive-pack refuse path, as Bitbucket does for a
// key with read access only.
func (s *Server) SetReadOnly(path string) {
	s.t.Helper()
	bare := filepath.Join(s.ReposDir, filepath.FromSlash(strings.TrimPrefix(path, "/")))
	if err := os.WriteFile(filepath.Join(bare, "bbkey-read-only"), nil, 0o644); err != nil {
		s.t.Fatal(err)
	}
}

func (s *Server) git(dir string, args ...string) {
	s.t.Helper()
	cmd := testutil.Command(s.t, s.gitPath, args...)
	cmd.Dir = dir
	cmd.Env = GitEnv(s.Dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		s.t.Fatalf("sshdtest: git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// URL is the ssh:// clone URL of path, as Bitbucket gives it except for
// the user: a real sshd needs a real account, LoginUser, where Bitbucket
// takes "git".
func (s *Server) URL(path string) string {
	return fmt.Sprintf("ssh://%s@%s:%d%s", s.LoginUser, s.Host, s.Port, path)
}

// KnownHostsLine is the known_hosts entry for the server ("[127.0.0.1]:port …").
func (s *Server) KnownHostsLine() string {
	return "[" + s.Host + "]:" + strconv.Itoa(s.Port) + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey)))
}
