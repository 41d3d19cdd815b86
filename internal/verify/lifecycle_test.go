package verify

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

// Nothing Run starts outlives it: when the names cannot be read, the
// early work (git's ssh command, ssh -G, the TCP connection opened where
// ssh will connect, the key given) is stopped and waited for, and the
// early connection is closed.
func TestRunLeavesNothingBehind(t *testing.T) {
	realSSH := testutil.RequireTool(t, "ssh")
	git := testutil.RequireTool(t, "git")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	_, key := sshdtest.NewKey(t, dir, "id")
	conf := sshdtest.WriteSSHConfig(t, dir, key, filepath.Join(dir, "known_hosts"))
	// A slow ssh (named ssh, so that its connection is predicted): its
	// ssh -G is still running when the names fail.
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "ssh"), []byte("#!/bin/sh\nsleep 3\nexec '"+realSSH+"' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(dir, "repo")
	if out, err := exec.Command(git, "init", "-q", repo).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	env := append(sshdtest.GitEnv(dir), "GIT_SSH_COMMAND="+filepath.Join(bin, "ssh")+" -F "+conf)
	cfg := &gitconfig.Reader{Dir: repo, Env: env}
	d := Deps{Repo: &gitremote.Repo{Dir: repo, Config: cfg}, Home: dir, Env: env, Dir: repo, Getenv: getenv(env), Config: cfg,
		Unlock: func(_ context.Context, path string) (*sshkeys.Unlocked, error) {
			return sshkeys.Unlock(path, sshkeys.UnlockOptions{})
		}}
	url := "ssh://git@127.0.0.1:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port) + "/proj/repo.git"

	before := runtime.NumGoroutine()
	_, err = Run(context.Background(), d, Options{Names: []string{url, "nosuch"}, Key: key, Timeout: 10 * time.Second})
	var unknown *UnknownNameError
	if !errors.As(err, &unknown) {
		t.Fatalf("Run: %v, want UnknownNameError", err)
	}
	settle(t, before, time.Second)
	// Any connection that reached the listener is closed by now.
	deadline := time.After(time.Second)
	for {
		select {
		case c := <-accepted:
			c.SetReadDeadline(time.Now().Add(time.Second))
			if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("the early connection is still open after Run returned (%v)", err)
			}
			c.Close()
		case <-deadline:
			return
		}
	}
}

// settle waits up to wait for goroutines to end and fails if more remain
// than at start.
func settle(t *testing.T, before int, wait time.Duration) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines left over (had %d):\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(20 * time.Millisecond)
	}
}
