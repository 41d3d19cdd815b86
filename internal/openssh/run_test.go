package openssh

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

// TestRunner runs Bitbucket's commands through the user's ssh against a
// real sshd, with exactly the chosen key.
func TestRunner(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	dir := t.TempDir()
	alice, aliceFile := sshdtest.NewKey(t, dir, "alice")
	bob, bobFile := sshdtest.NewKey(t, dir, "bob")
	stranger, strangerFile := sshdtest.NewKey(t, dir, "stranger")
	srv.Authorize(alice.PublicKey(), "alice")
	srv.Authorize(bob.PublicKey(), "bob")
	srv.NewRepo("/proj/repo.git", []string{"main"}, []string{"v1"})
	srv.NewRepo("/proj/ro.git", []string{"main"}, nil)
	srv.SetReadOnly("/proj/ro.git")
	kh := filepath.Join(dir, "known_hosts")
	if err := os.WriteFile(kh, []byte(srv.KnownHostsLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	pidFile := filepath.Join(dir, "proxy.pid")
	// bob's key is the config's identity: ssh adds it after -i.
	cfg := sshdtest.WriteSSHConfig(t, dir, bobFile, kh,
		"Host bb", "  HostName "+srv.Host, "  Port "+strconv.Itoa(srv.Port), "  User "+srv.LoginUser,
		"Host unknown", "  HostName "+srv.Host, "  Port "+strconv.Itoa(srv.Port), "  UserKnownHostsFile /dev/null",
		"Host hang", "  ProxyCommand sh -c 'echo $$ > "+pidFile+"; exec sleep 30'")
	r := &Runner{Command: Command{Text: "ssh -F " + cfg, Shell: true, Variant: VariantSSH, ProtocolVersion: 2,
		Words: []string{"ssh", "-F", cfg}}, Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}}
	fp := func(s ssh.Signer) string { return ssh.FingerprintSHA256(s.PublicKey()) }
	ctx := context.Background()
	bb := Target{Host: "bb"}

	res, err := r.Run(ctx, RunRequest{Target: bb, KeyFile: aliceFile, Remote: "whoami"})
	if err != nil || res.ExitCode != 0 || string(res.Stdout) != "alice\n" || !res.Authenticated ||
		res.AcceptedKey != fp(alice) || res.HostKey != ssh.FingerprintSHA256(srv.HostKey) || !res.IdentityEnforced {
		t.Fatalf("whoami with alice: %v %+v\nstderr: %s", err, res, res.Stderr)
	}
	if strings.Contains(string(res.Stderr), "debug1:") {
		t.Errorf("debug lines left in stderr:\n%s", res.Stderr)
	}

	// The advertisement ends with a flush; the runner answers with one
	// and closes stdin, so upload-pack ends at once.
	start := time.Now()
	res, err = r.Run(ctx, RunRequest{Target: bb, KeyFile: aliceFile, Remote: RemoteCommand("git-upload-pack", "/proj/repo.git"), Advertisement: true})
	if err != nil || res.ExitCode != 0 || !strings.Contains(string(res.Stdout), "refs/heads/main") || !strings.HasSuffix(string(res.Stdout), "0000") {
		t.Fatalf("upload-pack: %v %+v\nstderr: %s", err, res, res.Stderr)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("upload-pack took %s", d)
	}
	res, err = r.Run(ctx, RunRequest{Target: bb, KeyFile: aliceFile, Remote: RemoteCommand("git-receive-pack", "/proj/repo.git"), Advertisement: true, ReceivePack: true})
	if err != nil || res.ExitCode != 0 || !strings.Contains(string(res.Stdout), "report-status") {
		t.Fatalf("receive-pack: %v %+v\nstderr: %s", err, res, res.Stderr)
	}
	res, err = r.Run(ctx, RunRequest{Target: bb, KeyFile: aliceFile, Remote: RemoteCommand("git-receive-pack", "/proj/ro.git"), Advertisement: true, ReceivePack: true})
	if err != nil || res.ExitCode == 0 || !strings.Contains(string(res.Stdout), "ERR You are not permitted") {
		t.Fatalf("read-only receive-pack: %v %+v", err, res)
	}

	// A key the server refuses: ssh goes on to the config's identity (it
	// cannot be told to forget it), and the result shows that it did.
	res, err = r.Run(ctx, RunRequest{Target: bb, KeyFile: strangerFile, Remote: "whoami"})
	if err != nil || res.AcceptedKey != fp(bob) || !reflect.DeepEqual(res.Offered, []string{fp(stranger), fp(bob)}) {
		t.Errorf("stranger's key: %v %+v", err, res)
	}

	// An unknown host key in batch mode: no connection, and the result
	// names the key the server showed.
	res, err = r.Run(ctx, RunRequest{Target: Target{Host: "unknown"}, KeyFile: aliceFile, Remote: "whoami"})
	if err != nil || res.ExitCode != 255 || res.Authenticated || res.HostKey != ssh.FingerprintSHA256(srv.HostKey) {
		t.Errorf("unknown host: %v %+v", err, res)
	}

	// The deadline ends ssh and the ProxyCommand it started.
	tctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = r.Run(tctx, RunRequest{Target: Target{Host: "hang"}, KeyFile: aliceFile, Remote: "whoami"})
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 4*time.Second {
		t.Errorf("hanging proxy: %v after %s", err, time.Since(start))
	}
	assertGone(t, pidFile)
}

func TestAdvertisementEnd(t *testing.T) {
	for _, tc := range []struct {
		chunks []string
		ended  bool
	}{
		{[]string{"0009abcd\n", "0000"}, true},
		{[]string{"0009ab", "cd\n00", "00"}, true},
		{[]string{"000dERR nope\n"}, true},
		{[]string{"0009abcd\n"}, false},
		{[]string{"zzzz"}, true},
		{[]string{"0002"}, true},
	} {
		ended := false
		a := &advertisementEnd{done: func() { ended = true }}
		for _, c := range tc.chunks {
			a.Write([]byte(c))
		}
		if ended != tc.ended {
			t.Errorf("%q: ended %v", tc.chunks, ended)
		}
	}
}

// TestRunnerFailure: how ssh failed, from its own words, for each way it
// fails before the command runs; against a real sshd.
func TestRunnerFailure(t *testing.T) {
	srv := sshdtest.Start(t, sshdtest.Options{})
	dir := t.TempDir()
	alice, aliceFile := sshdtest.NewKey(t, dir, "alice")
	_, strangerFile := sshdtest.NewKey(t, dir, "stranger")
	other, _ := sshdtest.NewKey(t, dir, "other")
	srv.Authorize(alice.PublicKey(), "alice")
	kh := filepath.Join(dir, "known_hosts")
	changed := filepath.Join(dir, "changed_hosts")
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			defer c.Close() // accepted, never answered
		}
	}()
	if err := os.WriteFile(kh, []byte(srv.KnownHostsLine()+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	line := "[" + srv.Host + "]:" + strconv.Itoa(srv.Port) + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.PublicKey())))
	if err := os.WriteFile(changed, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	hp := func(name string, extra ...string) []string {
		return append([]string{"Host " + name, "  HostName " + srv.Host, "  Port " + strconv.Itoa(srv.Port), "  User " + srv.LoginUser}, extra...)
	}
	var blocks []string
	for _, b := range [][]string{
		hp("bb"),
		hp("unknown", "  UserKnownHostsFile /dev/null"),
		hp("changed", "  UserKnownHostsFile "+changed),
		{"Host closed", "  HostName 127.0.0.1", "  Port 1"},
		{"Host hole", "  HostName 127.0.0.1", "  Port " + strconv.Itoa(hole.Addr().(*net.TCPAddr).Port), "  ConnectTimeout 1"},
	} {
		blocks = append(blocks, b...)
	}
	cfg := sshdtest.WriteSSHConfig(t, dir, strangerFile, kh, blocks...)
	r := &Runner{Command: Command{Text: "ssh -F " + cfg, Shell: true, Variant: VariantSSH, Words: []string{"ssh", "-F", cfg}},
		Env: []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}}
	for _, c := range []struct {
		host, key string
		want      Failure
	}{
		{"bb", aliceFile, FailNone},
		{"bb", strangerFile, FailAuth},
		{"unknown", aliceFile, FailHostKeyUnknown},
		{"changed", aliceFile, FailHostKeyChanged},
		{"closed", aliceFile, FailUnreachable},
		{"hole", aliceFile, FailTimeout},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		res, err := r.Run(ctx, RunRequest{Target: Target{Host: c.host}, KeyFile: c.key, Remote: "whoami"})
		cancel()
		if err != nil {
			t.Errorf("%s: %v", c.host, err)
			continue
		}
		if got := res.Failure(); got != c.want {
			t.Errorf("%s with %s: failure %d, want %d (exit %d)\nstderr: %s", c.host, filepath.Base(c.key), got, c.want, res.ExitCode, res.Stderr)
		}
		if c.want != FailNone && res.Reason() == "" {
			t.Errorf("%s: no reason in %q", c.host, res.Stderr)
		}
	}
	// The accept-new option makes ssh record an unknown key itself.
	fresh := filepath.Join(dir, "fresh_hosts")
	r.Options = []string{"-o", "StrictHostKeyChecking=accept-new", "-o", "UserKnownHostsFile=" + fresh}
	res, err := r.Run(context.Background(), RunRequest{Target: Target{Host: "unknown"}, KeyFile: aliceFile, Remote: "whoami"})
	if err != nil || res.Failure() != FailNone || string(res.Stdout) != "alice\n" {
		t.Errorf("accept-new: %v %+v\nstderr: %s", err, res, res.Stderr)
	}
}
