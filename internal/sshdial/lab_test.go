package sshdial

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

// lab is a Bitbucket stand-in (target) behind two bastions, one key
// that target knows as "alice" and the bastions let forward, and an
// ssh_config that reaches target in every way the tests compare.
type lab struct {
	target, b1, b2 *sshdtest.Server
	dir            string
	keyFile        string
	knownHosts     string
	config         string
	pidDir         string
	env            []string
}

func newLab(t *testing.T) *lab {
	t.Helper()
	testutil.RequireTool(t, "ssh")
	l := &lab{dir: t.TempDir()}
	l.target = sshdtest.Start(t, sshdtest.Options{})
	l.b1 = sshdtest.Start(t, sshdtest.Options{AllowTcpForwarding: true})
	l.b2 = sshdtest.Start(t, sshdtest.Options{AllowTcpForwarding: true})
	signer, keyFile := sshdtest.NewKey(t, l.dir, "id_ed25519")
	l.keyFile = keyFile
	l.target.Authorize(signer.PublicKey(), "alice")
	l.b1.AuthorizeJump(signer.PublicKey())
	l.b2.AuthorizeJump(signer.PublicKey())
	l.target.NewRepo("/proj/repo.git", []string{"main"}, nil)
	l.knownHosts = filepath.Join(l.dir, "known_hosts")
	lines := l.target.KnownHostsLine() + "\n" + l.b1.KnownHostsLine() + "\n" + l.b2.KnownHostsLine() + "\n" +
		"bbalias " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(l.target.HostKey))) + "\n"
	if err := os.WriteFile(l.knownHosts, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	l.pidDir = filepath.Join(l.dir, "pids")
	if err := os.Mkdir(l.pidDir, 0o700); err != nil {
		t.Fatal(err)
	}
	inc := filepath.Join(l.dir, "included.conf")
	if err := os.WriteFile(inc, []byte("Host inc\n  HostName 127.0.0.1\n  Port "+port(l.target)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	user := l.target.LoginUser
	tgt := []string{"  HostName 127.0.0.1", "  Port " + port(l.target), "  User " + user}
	block := func(head string, extra ...string) []string { return append(append([]string{head}, extra...), tgt...) }
	var blocks []string
	for _, b := range [][]string{
		block("Host bb"),
		block("Host *.example"),
		block("Match originalhost matched"),
		{"Host realhost", "  HostName 127.0.0.1", "  Port " + port(l.target)},
		{"Host *", "Include " + inc},
		block("Host jump1", "  ProxyJump "+user+"@127.0.0.1:"+port(l.b1)),
		block("Host jump2", "  ProxyJump "+user+"@127.0.0.1:"+port(l.b1)+","+user+"@127.0.0.1:"+port(l.b2)),
		block("Host jumpalias", "  ProxyJump hop2"),
		{"Host hop2", "  HostName 127.0.0.1", "  Port " + port(l.b2), "  User " + user, "  ProxyJump hop1"},
		{"Host hop1", "  HostName 127.0.0.1", "  Port " + port(l.b1), "  User " + user},
		block("Host pcmd", "  ProxyCommand ssh -F "+filepath.Join(l.dir, "ssh_config")+" -W %h:%p -p "+port(l.b1)+" %r@127.0.0.1"),
		// The reader in the background ends with the writer: ssh hangs up
		// the command, never its children, and a reader left behind would
		// hold the connection (and the oracle's stderr) open.
		block("Host pcmd-bash", "  ProxyCommand bash -c 'exec 3<>/dev/tcp/%h/%p; cat <&3 & trap \"kill $! 2>/dev/null\" EXIT HUP TERM; cat >&3'"),
		block("Host aliased", "  HostKeyAlias bbalias"),
		block("Host silent", "  ProxyCommand sh -c 'echo $$ > "+l.pidDir+"/silent; exec sleep 30'"),
		block("Host failing", "  ProxyCommand sh -c 'echo proxy says no >&2; exit 3'"),
		{"Host noforward", "  ProxyJump " + user + "@127.0.0.1:" + port(l.target), "  HostName 127.0.0.1", "  Port " + port(l.b1)},
	} {
		blocks = append(blocks, b...)
	}
	l.config = sshdtest.WriteSSHConfig(t, l.dir, keyFile, l.knownHosts, blocks...)
	l.env = append(sshdtest.GitEnv(t.TempDir()), "PATH="+os.Getenv("PATH"), "SHELL=/bin/sh")
	return l
}

func port(s *sshdtest.Server) string { return strconv.Itoa(s.Port) }

// resolver is what verify will build: git's ssh command from the
// environment and git config, OpenSSH's account.
func (l *lab) resolver(t *testing.T, env []string) *openssh.Resolver {
	t.Helper()
	c, err := openssh.GitCommand(context.Background(), func(k string) string { return envOf(env, k) }, &gitconfig.Reader{Env: env})
	if err != nil {
		t.Fatal(err)
	}
	local, err := openssh.CurrentLocal()
	if err != nil {
		t.Fatal(err)
	}
	return &openssh.Resolver{Command: c, Local: local, Home: envOf(env, "HOME"), Env: env}
}

func envOf(env []string, k string) string {
	for i := len(env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(env[i], k+"="); ok {
			return v
		}
	}
	return ""
}

// dialer checks every jump host's key in the known-hosts files of its
// settings and offers the first of its identity files that exists.
func dialer(r *openssh.Resolver) *Dialer {
	return &Dialer{Resolver: r, Env: r.Env, HostKeyCallback: hostKeys, Signers: identity}
}

func hostKeys(s *openssh.Settings) (ssh.HostKeyCallback, []string, error) {
	var files []string
	for _, f := range s.UserKnownHostsFiles {
		if _, err := os.Stat(f.Path); err == nil {
			files = append(files, f.Path)
		}
	}
	db, err := knownhosts.New(files...)
	if err != nil {
		return nil, nil, err
	}
	// KnownHostsName in x/crypto's host:port form.
	hostport := net.JoinHostPort(s.Hostname, strconv.Itoa(s.Port))
	if s.HostKeyAlias != "" {
		hostport = net.JoinHostPort(s.HostKeyAlias, "22")
	}
	return func(_ string, _ net.Addr, key ssh.PublicKey) error {
		return db(hostport, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: s.Port}, key)
	}, nil, nil
}

func identity(s *openssh.Settings) ([]ssh.Signer, error) {
	for _, f := range s.IdentityFiles {
		data, err := os.ReadFile(f.Path)
		if err != nil {
			continue
		}
		signer, err := ssh.ParsePrivateKey(data)
		if err != nil {
			return nil, err
		}
		return []ssh.Signer{signer}, nil
	}
	return nil, os.ErrNotExist
}

// whoami connects to s's target over conn as OpenSSH would (its host-key
// check, its identity) and runs Bitbucket's whoami.
func whoami(ctx context.Context, s *openssh.Settings, conn net.Conn) (user string, hostKey ssh.PublicKey, err error) {
	cb, _, err := hostKeys(s)
	if err != nil {
		return "", nil, err
	}
	signers, err := identity(s)
	if err != nil {
		return "", nil, err
	}
	cfg := &ssh.ClientConfig{User: s.User, Auth: []ssh.AuthMethod{ssh.PublicKeys(signers...)},
		HostKeyCallback: func(h string, a net.Addr, k ssh.PublicKey) error { hostKey = k; return cb(h, a, k) }}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, chans, reqs, err := ssh.NewClientConn(conn, net.JoinHostPort(s.Hostname, strconv.Itoa(s.Port)), cfg)
	if err != nil {
		return "", hostKey, err
	}
	client := ssh.NewClient(c, chans, reqs)
	defer client.Close()
	sess, err := client.NewSession()
	if err != nil {
		return "", hostKey, err
	}
	defer sess.Close()
	out, err := sess.Output("whoami")
	return strings.TrimSpace(string(out)), hostKey, err
}

// oracle asks OpenSSH and git what they make of the same setup: git
// ls-remote with env, and `SSHCOMMAND DEST… whoami`.
func (l *lab) oracle(t *testing.T, env []string, sshCommand string, dest []string, url string) (user string, lsRemote error) {
	t.Helper()
	git := testutil.RequireTool(t, "git")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, git, "ls-remote", url)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second // a proxy's child holding the pipes must not hang the test
	out, err := cmd.CombinedOutput()
	if err == nil && !strings.Contains(string(out), "refs/heads/main") {
		t.Fatalf("git ls-remote %s: no refs:\n%s", url, out)
	}
	lsRemote = err
	sshCmd := exec.CommandContext(ctx, "sh", append([]string{"-c", sshCommand + ` "$@"`, "ssh"}, append(dest, "whoami")...)...)
	sshCmd.Env = env
	sshCmd.WaitDelay = 5 * time.Second
	who, _ := sshCmd.Output()
	return strings.TrimSpace(string(who)), lsRemote
}

// settle waits for goroutines to end and fails if more remain than at start.
func settle(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left over (had %d):\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// assertGone checks that the process whose pid is in file has ended.
func assertGone(t *testing.T, file string) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("no pid file: %v", err)
	}
	pid := strings.TrimSpace(string(data))
	deadline := time.Now().Add(2 * time.Second)
	for {
		st, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil || strings.Contains(string(st), ") Z ") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("process %s still runs", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
