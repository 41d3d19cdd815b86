package setup_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/setup"
	"github.com/git-bbkey/git-bbkey/internal/sshverify"
)

// --fix-remote switches an https remote to the SSH clone URL, verifies
// over it and remembers the server; real git reads the result back.
func TestFixRemoteSwitchesAndRemembersServer(t *testing.T) {
	w := newWorld(t)
	w.newRepo(w.bb.HTTPCloneURL("PROJ", "demo"))
	w.options.FixRemote = true
	r, err := w.run(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := w.bb.CloneURL("PROJ", "demo")
	if got := w.git("-C", w.repo, "remote", "get-url", "origin"); got != want {
		t.Fatalf("origin is %s, want %s", got, want)
	}
	if got := w.git("-C", w.repo, "config", "--local", "bbkey.url"); got != w.bb.URL() || !r.RememberedServer {
		t.Fatalf("bbkey.url = %q, remembered %v", got, r.RememberedServer)
	}
	if tg := w.verify.targets[0]; tg.HostOnly || tg.URL != want || tg.Remote != "origin" || tg.Path != "/proj/demo.git" {
		t.Fatalf("verified %+v", tg)
	}
}

// Issue 11 item 5: a remote switched by --fix-remote is switched back
// when the key does not verify, and so when the check is interrupted.
func TestFixRemoteRolledBackWhenVerifyFails(t *testing.T) {
	for _, interrupted := range []bool{false, true} {
		w := newWorld(t)
		https := w.bb.HTTPCloneURL("PROJ", "demo")
		w.newRepo(https)
		w.options.FixRemote = true
		if interrupted {
			w.verify.err = context.Canceled
		} else {
			w.verify.out = &setup.Outcome{Status: sshverify.StatusKeyRejected}
		}
		r, err := w.run(nil)
		var verr *setup.VerifyError
		if interrupted && !errors.Is(err, context.Canceled) || !interrupted && !errors.As(err, &verr) {
			t.Fatalf("interrupted %v: err = %v", interrupted, err)
		}
		if got := w.git("-C", w.repo, "remote", "get-url", "origin"); got != https {
			t.Fatalf("interrupted %v: origin stays %s, want it back at %s", interrupted, got, https)
		}
		if !r.Remote.Switched || !r.Remote.RolledBack || r.RememberedServer {
			t.Fatalf("interrupted %v: remote %+v, remembered %v", interrupted, r.Remote, r.RememberedServer)
		}
		if out := w.gitMaybe("-C", w.repo, "config", "--local", "--get", "bbkey.url"); out != "" {
			t.Fatalf("bbkey.url was written: %q", out)
		}
	}
}

// Issue 11 item 5: an ext:: clone link (a command) is never written into
// the remote, nor dialled.
func TestExtCloneLinkIsNeverWritten(t *testing.T) {
	w := newWorld(t)
	https := w.bb.HTTPCloneURL("PROJ", "demo")
	w.newRepo(https)
	w.bb.SetFaults(bbsandbox.Faults{ExtCloneLink: true})
	w.options.FixRemote = true
	_, err := w.run(nil)
	var link *bbsession.CloneLinkError
	var unsafe *setup.UnsafeURLError
	if !errors.As(err, &link) && !errors.As(err, &unsafe) {
		t.Fatalf("err = %v, want the link refused", err)
	}
	if got := w.git("-C", w.repo, "remote", "get-url", "origin"); got != https {
		t.Fatalf("origin is now %q", got)
	}
	if len(w.verify.targets) != 0 {
		t.Fatalf("dialled %+v", w.verify.targets)
	}
}

func TestSSHCloneURLOnlyTakesPlainSSH(t *testing.T) {
	for link, ok := range map[string]bool{
		"ssh://git@bitbucket.example.com:7999/proj/repo.git": true,
		"ssh://git@[::1]:7999/proj/repo.git":                 true,
		bbsandbox.HostileCloneLink:                           false,
		"ext::ssh -oProxyCommand=touch% x host":              false,
		"git@host:proj/repo.git":                             false,
		"https://host/scm/proj/repo.git":                     false,
		"ssh://-oProxyCommand=x/proj/repo.git":               false,
		"ssh://git@host:7999/proj/repo.git\n[core]":          false,
		"ssh://git@host:7999/proj/re po.git":                 false,
		"fd::17":                                             false,
	} {
		if _, err := setup.SSHCloneURL(link); (err == nil) != ok {
			t.Errorf("SSHCloneURL(%q) = %v", link, err)
		}
	}
}

// "Smaller, same standard": a remote named like an option never reaches
// git as one. Real git switches the remote "-evil"; a recording git shows
// the "--" before every operand.
func TestRemoteNamedLikeAnOption(t *testing.T) {
	w := newWorld(t)
	https := w.bb.HTTPCloneURL("PROJ", "demo")
	w.newRepo("https://elsewhere.example.com/other.git")
	w.git("-C", w.repo, "remote", "add", "--", "-evil", https)
	w.options.Remote, w.options.RemoteGiven, w.options.FixRemote = "-evil", true, true
	if _, err := w.run(nil); err != nil {
		t.Fatal(err)
	}
	if got := w.git("-C", w.repo, "remote", "get-url", "--", "-evil"); got != w.bb.CloneURL("PROJ", "demo") {
		t.Fatalf("-evil is %s", got)
	}

	dir := t.TempDir()
	script := filepath.Join(dir, "git")
	os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" >> \""+dir+"/args\"\n"), 0o755)
	g := setup.Git{Path: script, Dir: dir}
	if err := g.SetRemoteURL(context.Background(), "-evil", "ssh://h/p.git"); err != nil {
		t.Fatal(err)
	}
	if err := g.SetConfig(context.Background(), "-c", "x"); err != nil {
		t.Fatal(err)
	}
	args, _ := os.ReadFile(filepath.Join(dir, "args"))
	want := "remote\nset-url\n--\n-evil\nssh://h/p.git\nconfig\n--local\n--\n-c\nx\n"
	if string(args) != want {
		t.Fatalf("git was run with\n%s\nwant\n%s", args, want)
	}
}

// A git that fails is a typed error that never shows a password of the
// URL it was given.
func TestGitErrorHidesPasswords(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("a shell script cannot stand in for git on Windows")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "git")
	os.WriteFile(script, []byte("#!/bin/sh\necho \"fatal: cannot use $5\" >&2\nexit 3\n"), 0o755)
	err := setup.Git{Path: script, Dir: dir}.SetRemoteURL(context.Background(), "origin", "https://alice:s3cret@host/scm/p/r.git")
	var gerr *setup.GitError
	if !errors.As(err, &gerr) || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "fatal: cannot use") {
		t.Fatalf("err = %v", err)
	}
}
