package openssh

import (
	"context"
	"errors"
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
