package sshdial

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/openssh"
)

// reachesWhatGitReaches: for each way ~/.ssh/config and git's ssh
// command can route a remote, OpenSSH (ssh and git ls-remote) is the
// oracle: what openssh resolves and sshdial dials reaches the same
// server (its host key) with the same identity (Bitbucket's whoami).
// TestDial runs everything against one lab: three sshd are not cheap.
func TestDial(t *testing.T) {
	l := newLab(t)
	t.Run("reaches what git reaches", func(t *testing.T) { reachesWhatGitReaches(t, l) })
	t.Run("failures", func(t *testing.T) { failures(t, l) })
	t.Run("channel deadline", func(t *testing.T) { channelDeadline(t, l) })
}

func reachesWhatGitReaches(t *testing.T, l *lab) {
	user := l.target.LoginUser
	sshF := "ssh -F " + l.config
	coreSSH := sshF + " -i " + l.keyFile + " -p " + port(l.target)
	viaEnv := func(c string) []string { return []string{"GIT_SSH_COMMAND=" + c} }
	for _, tc := range []struct {
		name   string
		url    string
		ssh    string   // git's ssh command, for the oracle's own ssh run
		dest   []string // its destination arguments
		target openssh.Target
		env    []string
	}{
		{"alias", "bb:proj/repo.git", sshF, []string{"bb"}, openssh.Target{Host: "bb"}, viaEnv(sshF)},
		{"pattern", "ssh://x.example/proj/repo.git", sshF, []string{"x.example"}, openssh.Target{Host: "x.example"}, viaEnv(sshF)},
		{"match originalhost", "matched:proj/repo.git", sshF, []string{"matched"}, openssh.Target{Host: "matched"}, viaEnv(sshF)},
		{"scp-like with the port from a Host block", user + "@realhost:proj/repo.git", sshF, []string{user + "@realhost"},
			openssh.Target{Host: "realhost", User: user}, viaEnv(sshF)},
		{"include", user + "@inc:/proj/repo.git", sshF, []string{user + "@inc"}, openssh.Target{Host: "inc", User: user}, viaEnv(sshF)},
		{"core.sshCommand -i -p", user + "@127.0.0.1:proj/repo.git", coreSSH, []string{user + "@127.0.0.1"},
			openssh.Target{Host: "127.0.0.1", User: user},
			[]string{"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=core.sshCommand", "GIT_CONFIG_VALUE_0=" + coreSSH}},
		{"host key alias", "aliased:proj/repo.git", sshF, []string{"aliased"}, openssh.Target{Host: "aliased"}, viaEnv(sshF)},
		{"ProxyJump one hop", "jump1:proj/repo.git", sshF, []string{"jump1"}, openssh.Target{Host: "jump1"}, viaEnv(sshF)},
		{"ProxyJump two hops", "jump2:proj/repo.git", sshF, []string{"jump2"}, openssh.Target{Host: "jump2"}, viaEnv(sshF)},
		{"ProxyJump through aliases with their own jumps", "jumpalias:proj/repo.git", sshF, []string{"jumpalias"},
			openssh.Target{Host: "jumpalias"}, viaEnv(sshF)},
		{"ProxyJump on the command line", "ssh://" + user + "@127.0.0.1:" + port(l.target) + "/proj/repo.git",
			sshF + " -J " + user + "@127.0.0.1:" + port(l.b2), []string{"-p", port(l.target), user + "@127.0.0.1"},
			openssh.Target{Host: "127.0.0.1", User: user, Port: l.target.Port}, viaEnv(sshF + " -J " + user + "@127.0.0.1:" + port(l.b2))},
		{"ProxyCommand ssh -W", "pcmd:proj/repo.git", sshF, []string{"pcmd"}, openssh.Target{Host: "pcmd"}, viaEnv(sshF)},
		{"ProxyCommand without nc", "pcmd-bash:proj/repo.git", sshF, []string{"pcmd-bash"}, openssh.Target{Host: "pcmd-bash"}, viaEnv(sshF)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append(append([]string(nil), l.env...), tc.env...)
			wantUser, lsErr := l.oracle(t, env, tc.ssh, tc.dest, tc.url)
			if lsErr != nil || wantUser != "alice" {
				t.Fatalf("oracle: git ls-remote %v, ssh whoami %q", lsErr, wantUser)
			}

			before := runtime.NumGoroutine()
			r := l.resolver(t, env)
			if r.Command.Text != tc.ssh {
				t.Fatalf("git's ssh command: %q, want %q", r.Command.Text, tc.ssh)
			}
			s, err := r.Settings(context.Background(), tc.target)
			if err != nil {
				t.Fatal(err)
			}
			if limits := s.Limits(""); len(limits) > 0 {
				t.Fatalf("limits %v: in-process should match OpenSSH here", limits)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			conn, err := dialer(r).Dial(ctx, s)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			got, hostKey, err := whoami(ctx, s, conn)
			conn.Close()
			if err != nil || got != wantUser {
				t.Fatalf("whoami over sshdial: %q, %v; OpenSSH says %q", got, err, wantUser)
			}
			if !bytes.Equal(hostKey.Marshal(), l.target.HostKey.Marshal()) {
				t.Errorf("reached a server with host key %s, not the target", ssh.FingerprintSHA256(hostKey))
			}
			settle(t, before)
		})
	}
}

// failures: every way a path can fail says where, ends what it
// started, and leaves no goroutine behind.
func failures(t *testing.T, l *lab) {
	env := append(append([]string(nil), l.env...), "GIT_SSH_COMMAND=ssh -F "+l.config)
	r := l.resolver(t, env)
	settings := func(host string) *openssh.Settings {
		s, err := r.Settings(context.Background(), openssh.Target{Host: host})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := runtime.NumGoroutine()

	// A ProxyCommand that never speaks: the caller's deadline ends the
	// handshake, Close ends the process.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	conn, err := dialer(r).Dial(ctx, settings("silent"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, _, err := whoami(ctx, settings("silent"), conn); err == nil {
		t.Error("a silent proxy answered")
	}
	cancel()
	conn.Close()
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the deadline took %s", d)
	}
	assertGone(t, filepath.Join(l.pidDir, "silent"))

	// A ProxyCommand that fails: its exit status and last words.
	conn, err = dialer(r).Dial(context.Background(), settings("failing"))
	if err != nil {
		t.Fatal(err)
	}
	_, _, herr := whoami(context.Background(), settings("failing"), conn)
	var pe *ProxyCommandError
	if !errors.As(ProxyError(conn), &pe) || pe.ExitCode != 3 || pe.Stderr != "proxy says no\n" || herr == nil {
		t.Errorf("failing proxy: %v / %v", ProxyError(conn), herr)
	}
	conn.Close()

	// A jump host that does not forward.
	var he *HopError
	var oce *ssh.OpenChannelError
	_, err = dialer(r).Dial(context.Background(), settings("noforward"))
	if !errors.As(err, &he) || he.Stage != StageForward || !errors.As(err, &oce) || oce.Reason != ssh.Prohibited {
		t.Errorf("no forwarding: %v", err)
	}

	// A jump host whose key the callback refuses.
	refuse := errors.New("refused by policy")
	d := dialer(r)
	d.HostKeyCallback = func(hop *openssh.Settings) (ssh.HostKeyCallback, []string, error) {
		return func(string, net.Addr, ssh.PublicKey) error { return refuse }, nil, nil
	}
	if _, err := d.Dial(context.Background(), settings("jump2")); !errors.As(err, &he) || he.Stage != StageHandshake ||
		he.Addr != "127.0.0.1:"+port(l.b1) || !errors.Is(err, refuse) {
		t.Errorf("refused hop key: %v", err)
	}

	// A jump host that accepts TCP and says nothing: the deadline covers
	// the whole path.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	mute := *settings("bb")
	mute.ProxyJump = l.target.LoginUser + "@127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ctx, cancel = context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start = time.Now()
	if _, err := dialer(r).Dial(ctx, &mute); !errors.As(err, &he) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("mute jump host: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the deadline took %s", d)
	}
	ln.Close()
	settle(t, before)
}

// channelDeadline: a read deadline on a connection forwarded by a real
// jump host ends a waiting Read with os.ErrDeadlineExceeded, as net.Conn
// promises (conn_test.go has the rest of the contract).
func channelDeadline(t *testing.T, l *lab) {
	env := append(append([]string(nil), l.env...), "GIT_SSH_COMMAND=ssh -F "+l.config)
	r := l.resolver(t, env)
	s, err := r.Settings(context.Background(), openssh.Target{Host: "jump1"})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dialer(r).Dial(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	buf := make([]byte, 256)
	if _, err := conn.Read(buf); err != nil { // sshd's banner
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	if _, err := conn.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read after the deadline: %v", err)
	}
}
