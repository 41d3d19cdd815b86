//go:build unix

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
	"github.com/git-bbkey/git-bbkey/internal/testutil/unixuser"
)

// sshLab is a Bitbucket stand-in (a real sshd serving real git) behind
// two bastions, and a unix account whose ~/.ssh holds a key the stand-in
// knows as alice (work_key), one it does not (id_ed25519), and
// known_hosts for the three servers. git and git-bbkey both run as that
// account, so OpenSSH reads the same ~/.ssh as git-bbkey.
type sshLab struct {
	target, b1, b2 *sshdtest.Server
	u              *unixuser.User
	bin            string
	repo           string
}

func newSSHLab(t *testing.T) *sshLab {
	t.Helper()
	testutil.RequireTool(t, "ssh")
	testutil.RequireTool(t, "git")
	u := unixuser.New(t)
	l := &sshLab{u: u}
	l.target = sshdtest.Start(t, sshdtest.Options{})
	l.b1 = sshdtest.Start(t, sshdtest.Options{AllowTcpForwarding: true})
	l.b2 = sshdtest.Start(t, sshdtest.Options{AllowTcpForwarding: true})
	sshDir := u.Mkdir(".ssh")
	work, _ := sshdtest.NewKey(t, sshDir, "work_key")
	sshdtest.NewKey(t, sshDir, "id_ed25519")
	u.Give(sshDir)
	l.target.Authorize(work.PublicKey(), "alice")
	l.b1.AuthorizeJump(work.PublicKey())
	l.b2.AuthorizeJump(work.PublicKey())
	l.target.NewRepo("/proj/repo.git", []string{"main", "dev"}, []string{"v1"})
	hostLine := func(name string, s *sshdtest.Server) string {
		return "[" + name + "]:" + strconv.Itoa(s.Port) + " " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(s.HostKey)))
	}
	u.WriteFile(".ssh/known_hosts", hostLine("127.0.0.1", l.target)+"\n"+hostLine("127.0.0.1", l.b1)+"\n"+
		hostLine("127.0.0.1", l.b2)+"\n"+hostLine("localhost", l.target)+"\n", 0o644)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	l.bin = u.Executable(exe, "git-bbkey")
	l.repo = u.Mkdir("repo")
	l.run(t, nil, "git", "init", "-q")
	return l
}

// config writes ~/.ssh/config: blocks, then batch mode for every host
// (git must not wait for a terminal here).
func (l *sshLab) config(t *testing.T, blocks ...string) {
	t.Helper()
	all := append(append([]string(nil), blocks...), "Host *", "  BatchMode yes", "  ConnectTimeout 10")
	l.u.WriteFile(".ssh/config", strings.Join(all, "\n")+"\n", 0o600)
}

func (l *sshLab) run(t *testing.T, env []string, name string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := l.u.Command(ctx, l.repo, l.u.Env(l.bin, env...), name, args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err = cmd.Run()
	return out.String(), errOut.String(), err
}

// hostBlock is a Host block reaching server as the account sshd logs in
// as, with the given identity file and more.
func hostBlock(name string, s *sshdtest.Server, identity string, more ...string) []string {
	b := []string{"Host " + name, "  HostName 127.0.0.1", "  Port " + strconv.Itoa(s.Port), "  User " + s.LoginUser}
	if identity != "" {
		b = append(b, "  IdentityFile "+identity)
	}
	return append(b, more...)
}

type verifyOut struct {
	Remote      *string  `json:"remote"`
	URL         string   `json:"url"`
	Host        string   `json:"host"`
	Port        int      `json:"port"`
	Status      string   `json:"status"`
	User        *string  `json:"user"`
	Refs        *int     `json:"refs"`
	Key         string   `json:"key"`
	Fingerprint string   `json:"fingerprint"`
	Message     string   `json:"message"`
	Via         string   `json:"via"`
	GitKey      *string  `json:"gitKey"`
	Notes       []string `json:"notes"`
}

// verify runs git bbkey verify --json as the account and returns its one
// result.
func (l *sshLab) verify(t *testing.T, env []string, args ...string) verifyOut {
	t.Helper()
	out, errOut, err := l.run(t, env, "git", append([]string{"bbkey", "verify", "--json", "--timeout", "20s"}, args...)...)
	var doc struct{ Results []verifyOut }
	if jerr := json.Unmarshal([]byte(out), &doc); jerr != nil || len(doc.Results) != 1 {
		t.Fatalf("git bbkey verify %v: %v / %v\nstdout: %s\nstderr: %s", args, err, jerr, out, errOut)
	}
	r := doc.Results[0]
	if (err == nil) != (r.Status == "ok") {
		t.Errorf("git bbkey verify %v: exit %v with status %s", args, err, r.Status)
	}
	return r
}

// lsRemote is the oracle: real git through real OpenSSH, as the account.
func (l *sshLab) lsRemote(t *testing.T, env []string, url string) (ok bool, out string) {
	t.Helper()
	stdout, stderr, err := l.run(t, env, "git", "ls-remote", url)
	if err == nil && !strings.Contains(stdout, "refs/heads/main") {
		t.Fatalf("git ls-remote %s: no refs\n%s", url, stdout)
	}
	return err == nil, stdout + stderr
}

// TestVerifyAgreesWithGit: for set-ups a real user has (an alias in
// ~/.ssh/config, a Port for the scp-like form, IdentityFile,
// core.sshCommand, GIT_SSH_COMMAND, jump hosts, a proxy command, a
// wrapper that only ssh itself can run), verify says ok exactly when
// git ls-remote through OpenSSH succeeds, and otherwise names why.
func TestVerifyAgreesWithGit(t *testing.T) {
	l := newSSHLab(t)
	tgt, b1, b2 := l.target, l.b1, l.b2
	var blocks []string
	for _, b := range [][]string{
		hostBlock("bb", tgt, "~/.ssh/work_key"),
		hostBlock("badkey", tgt, "~/.ssh/id_ed25519", "  IdentitiesOnly yes"),
		{"Host localhost", "  Port " + strconv.Itoa(tgt.Port), "  User " + tgt.LoginUser, "  IdentityFile ~/.ssh/work_key"},
		hostBlock("hop1", b1, "~/.ssh/work_key"),
		hostBlock("hop2", b2, "~/.ssh/work_key"),
		hostBlock("hop2via1", b2, "~/.ssh/work_key", "  ProxyJump hop1"),
		hostBlock("hopbad", b1, "~/.ssh/work_key", "  UserKnownHostsFile ~/.ssh/wrong_hosts"),
		hostBlock("jump1", tgt, "~/.ssh/work_key", "  ProxyJump hop1"),
		hostBlock("jump2", tgt, "~/.ssh/work_key", "  ProxyJump hop1,hop2"),
		hostBlock("jumpalias", tgt, "~/.ssh/work_key", "  ProxyJump hop2via1"),
		hostBlock("jumpbad", tgt, "~/.ssh/work_key", "  ProxyJump hopbad"),
		hostBlock("pcmd", tgt, "~/.ssh/work_key", "  ProxyCommand ssh -W %h:%p hop1"),
		{"Host closed", "  HostName 127.0.0.1", "  Port 1", "  IdentityFile ~/.ssh/work_key"},
		{"Match host viassh exec true", "  HostName 127.0.0.1", "  Port " + strconv.Itoa(tgt.Port), "  User " + tgt.LoginUser, "  IdentityFile ~/.ssh/work_key"},
		{"Match host viasshbad exec true", "  HostName 127.0.0.1", "  Port " + strconv.Itoa(tgt.Port), "  User " + tgt.LoginUser, "  IdentityFile ~/.ssh/id_ed25519"},
	} {
		blocks = append(blocks, b...)
	}
	l.config(t, blocks...)
	wrongKey, _ := sshdtest.NewKey(t, t.TempDir(), "other")
	l.u.WriteFile(".ssh/wrong_hosts", "[127.0.0.1]:"+strconv.Itoa(b1.Port)+" "+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(wrongKey.PublicKey())))+"\n", 0o644)
	l.u.WriteFile("bin/myssh", "#!/bin/sh\nexec ssh \"$@\"\n", 0o755)
	direct := "ssh://" + tgt.LoginUser + "@127.0.0.1:" + strconv.Itoa(tgt.Port) + "/proj/repo.git"
	workKey, idKey := l.u.Path(".ssh/work_key"), l.u.Path(".ssh/id_ed25519")

	for _, c := range []struct {
		name    string
		url     string
		env     []string // GIT_SSH_COMMAND, …
		config  []string // git config in the repository
		status  string
		via     string
		key     string
		message string
	}{
		{name: "alias with HostName, Port, User, IdentityFile", url: "bb:proj/repo.git", status: "ok", via: "direct", key: workKey},
		{name: "alias whose key is not registered", url: "badkey:proj/repo.git", status: "key-rejected", via: "direct", key: idKey},
		{name: "scp-like form, Port from a Host block", url: "localhost:proj/repo.git", status: "ok", via: "direct", key: workKey},
		{name: "core.sshCommand names the key", url: direct, config: []string{"core.sshCommand", "ssh -i ~/.ssh/work_key"}, status: "ok", via: "direct", key: workKey},
		{name: "core.sshCommand names an unregistered key", url: direct, config: []string{"core.sshCommand", "ssh -i ~/.ssh/id_ed25519 -o IdentitiesOnly=yes"}, status: "key-rejected", via: "direct", key: idKey},
		{name: "GIT_SSH_COMMAND names the key", url: direct, env: []string{"GIT_SSH_COMMAND=ssh -i ~/.ssh/work_key"}, status: "ok", via: "direct", key: workKey},
		{name: "GIT_SSH_COMMAND over core.sshCommand", url: direct, env: []string{"GIT_SSH_COMMAND=ssh -i ~/.ssh/work_key"},
			config: []string{"core.sshCommand", "ssh -i ~/.ssh/id_ed25519 -o IdentitiesOnly=yes"}, status: "ok", via: "direct", key: workKey},
		{name: "ProxyJump through a bastion", url: "jump1:proj/repo.git", status: "ok", via: "direct", key: workKey},
		{name: "ProxyJump chain", url: "jump2:proj/repo.git", status: "ok", via: "direct", key: workKey},
		{name: "ProxyJump to a host with its own ProxyJump", url: "jumpalias:proj/repo.git", status: "ok", via: "direct", key: workKey},
		{name: "a bastion whose host key changed", url: "jumpbad:proj/repo.git", status: "host-mismatch", via: "direct", message: "has changed"},
		{name: "ProxyCommand", url: "pcmd:proj/repo.git", status: "ok", via: "direct", key: workKey},
		{name: "nothing listens", url: "closed:proj/repo.git", status: "unreachable", via: "direct"},
		{name: "Match exec: through the user's ssh", url: "viassh:proj/repo.git", status: "ok", via: "ssh", key: workKey},
		{name: "Match exec, unregistered key: through the user's ssh", url: "viasshbad:proj/repo.git", status: "key-rejected", via: "ssh", key: idKey},
		{name: "a wrapper as GIT_SSH_COMMAND: through it", url: "bb:proj/repo.git", env: []string{"GIT_SSH_COMMAND=" + l.u.Path("bin/myssh")}, status: "ok", via: "ssh", key: workKey},
		{name: "a wrapper as GIT_SSH", url: "bb:proj/repo.git", env: []string{"GIT_SSH=" + l.u.Path("bin/myssh")}, status: "ok", via: "ssh", key: workKey},
		{name: "a missing repository", url: "bb:proj/nope.git", status: "repo-not-found", via: "direct", message: "Repository not found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if len(c.config) == 2 {
				l.run(t, nil, "git", "config", c.config[0], c.config[1])
				defer l.run(t, nil, "git", "config", "--unset", c.config[0])
			}
			gitOK, gitOut := l.lsRemote(t, c.env, c.url)
			r := l.verify(t, c.env, c.url)
			if (r.Status == "ok") != gitOK {
				t.Errorf("verify says %s (%s), git ls-remote ok=%v:\n%s", r.Status, r.Message, gitOK, gitOut)
			}
			if r.Status != c.status || r.Via != c.via || c.key != "" && r.Key != c.key || !strings.Contains(r.Message, c.message) {
				t.Errorf("status %s via %s key %s message %q; want %s via %s key %s message with %q",
					r.Status, r.Via, r.Key, r.Message, c.status, c.via, c.key, c.message)
			}
			if r.Status == "ok" && (r.User == nil || *r.User != "alice" || r.Refs == nil || *r.Refs != 4) {
				t.Errorf("ok without alice's 4 refs: %+v", r)
			}
			if len(r.Notes) > 0 || r.GitKey != nil {
				t.Errorf("notes %q, gitKey %v: the account's home is $HOME and the key is git's", r.Notes, r.GitKey)
			}
		})
	}
}

// TestVerifyPinsWhereSSHLooks: with HostKeyAlias and UserKnownHostsFile
// in ~/.ssh/config, an unknown host fails for git and verify alike, and
// the key verify pins (under the alias, in that file) is the one the next
// git ls-remote trusts; a bastion's unknown key is pinned in its own file.
func TestVerifyPinsWhereSSHLooks(t *testing.T) {
	l := newSSHLab(t)
	var blocks []string
	for _, b := range [][]string{
		hostBlock("aliased", l.target, "~/.ssh/work_key", "  HostKeyAlias bbalias", "  UserKnownHostsFile ~/.ssh/bb_hosts"),
		hostBlock("newhop", l.b2, "~/.ssh/work_key", "  UserKnownHostsFile ~/.ssh/hop_hosts"),
		hostBlock("behindnew", l.target, "~/.ssh/work_key", "  ProxyJump newhop"),
	} {
		blocks = append(blocks, b...)
	}
	l.config(t, blocks...)
	const url = "aliased:proj/repo.git"
	if ok, out := l.lsRemote(t, nil, url); ok {
		t.Fatalf("git trusted an unknown host key:\n%s", out)
	}
	if r := l.verify(t, nil, url); r.Status != "host-unknown" || !strings.Contains(r.Message, "bb_hosts") {
		t.Fatalf("unknown host key: %+v", r)
	}
	if r := l.verify(t, nil, url, "--accept-new-host-key"); r.Status != "ok" {
		t.Fatalf("--accept-new-host-key: %+v", r)
	}
	data, err := os.ReadFile(l.u.Path(".ssh/bb_hosts"))
	want := "bbalias " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(l.target.HostKey))) + "\n"
	if err != nil || string(data) != want {
		t.Fatalf("~/.ssh/bb_hosts = %q (%v), want %q", data, err, want)
	}
	if ok, out := l.lsRemote(t, nil, url); !ok {
		t.Fatalf("git does not trust what verify pinned:\n%s", out)
	}

	// The bastion's key: unknown to both; pinned by verify in the
	// bastion's own file, which git then trusts.
	if ok, _ := l.lsRemote(t, nil, "behindnew:proj/repo.git"); ok {
		t.Fatal("git went through a bastion with an unknown key")
	}
	if r := l.verify(t, nil, "behindnew:proj/repo.git"); r.Status != "host-unknown" {
		t.Fatalf("unknown bastion: %+v", r)
	}
	if r := l.verify(t, nil, "behindnew:proj/repo.git", "--accept-new-host-key"); r.Status != "ok" {
		t.Fatalf("unknown bastion, --accept-new-host-key: %+v", r)
	}
	if data, _ := os.ReadFile(l.u.Path(".ssh/hop_hosts")); !strings.HasPrefix(string(data), "[127.0.0.1]:"+strconv.Itoa(l.b2.Port)+" ") {
		t.Errorf("~/.ssh/hop_hosts = %q", data)
	}
	if ok, out := l.lsRemote(t, nil, "behindnew:proj/repo.git"); !ok {
		t.Fatalf("git does not trust the bastion key verify pinned:\n%s", out)
	}
}

// TestVerifyKeyChoice: --key and bbkey.keyFile still choose; the result
// names the key git's ssh would offer instead. Through a wrapper that adds
// keys of its own, a chosen key the server did not take is not proven.
// And where $HOME is not the account's home, the result says so.
func TestVerifyKeyChoice(t *testing.T) {
	l := newSSHLab(t)
	l.config(t, hostBlock("bb", l.target, "~/.ssh/work_key")...)
	idKey, workKey := l.u.Path(".ssh/id_ed25519"), l.u.Path(".ssh/work_key")
	if ok, out := l.lsRemote(t, nil, "bb:proj/repo.git"); !ok {
		t.Fatalf("git ls-remote:\n%s", out)
	}
	r := l.verify(t, nil, "bb:proj/repo.git", "--key", idKey)
	if r.Status != "key-rejected" || r.Key != idKey || r.GitKey == nil || *r.GitKey != workKey || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "git may use a key other") {
		t.Errorf("--key id_ed25519: %+v", r)
	}
	l.run(t, nil, "git", "config", "bbkey.keyFile", "~/.ssh/id_ed25519")
	if r := l.verify(t, nil, "bb:proj/repo.git"); r.Key != idKey || r.GitKey == nil || *r.GitKey != workKey {
		t.Errorf("bbkey.keyFile: %+v", r)
	}
	l.run(t, nil, "git", "config", "--unset", "bbkey.keyFile")

	// A wrapper that adds work_key: the server takes that one, so the
	// chosen id_ed25519 is not proven, though git itself gets through.
	l.u.WriteFile("bin/withkey", "#!/bin/sh\nexec ssh -i \"$HOME/.ssh/work_key\" \"$@\"\n", 0o755)
	env := []string{"GIT_SSH_COMMAND=" + l.u.Path("bin/withkey")}
	if ok, out := l.lsRemote(t, env, "bb:proj/repo.git"); !ok {
		t.Fatalf("git ls-remote through the wrapper:\n%s", out)
	}
	if r := l.verify(t, env, "bb:proj/repo.git", "--key", idKey); r.Status != "key-rejected" || r.Via != "ssh" || !strings.Contains(r.Message, "not proven") {
		t.Errorf("wrapper adding a key: %+v", r)
	}

	// $HOME elsewhere (sudo without -H): $HOME's keys and known_hosts
	// are checked, and the result says where OpenSSH looks.
	other := l.u.Mkdir("otherhome")
	l.u.Give(other)
	r = l.verify(t, []string{"HOME=" + other}, "ssh://"+l.target.LoginUser+"@127.0.0.1:"+strconv.Itoa(l.target.Port)+"/proj/repo.git", "--key", workKey)
	found := false
	for _, n := range r.Notes {
		found = found || strings.Contains(n, "OpenSSH takes ~ from your account ("+l.u.Home+"), not $HOME ("+other+")")
	}
	if !found || r.Status != "host-unknown" {
		t.Errorf("HOME elsewhere: %+v", r)
	}
}

// TestVerifyAllSkipsOtherHosts: with --all, a remote on a host that is not
// this Bitbucket is skipped (exit 0); named, it is checked as given. A
// <transport>:: remote is bad-url by name and never run.
func TestVerifyAllSkipsOtherHosts(t *testing.T) {
	l := newSSHLab(t)
	l.config(t, hostBlock("bb", l.target, "~/.ssh/work_key")...)
	// A Bitbucket whose SSH address is elsewhere: only its REST side
	// counts here (its settings name the SSH host).
	bb := bbsandbox.StartTest(t, bbsandbox.Config{Users: []bbsandbox.User{{Name: "alice", Password: "pw-alice-1"}}})
	l.run(t, nil, "git", "config", "bbkey.url", bb.URL())
	l.run(t, nil, "git", "remote", "add", "origin", "bb:proj/repo.git")
	l.run(t, nil, "git", "remote", "add", "hub", "git@github.invalid:octo/demo.git")
	out, errOut, err := l.run(t, nil, "git", "bbkey", "verify", "--all", "--json")
	var doc struct{ Results []verifyOut }
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Results) != 2 {
		t.Fatalf("verify --all: %v\n%s\n%s", err, out, errOut)
	}
	if doc.Results[0].Status != "skipped" || !strings.Contains(doc.Results[0].Message, "github.invalid is not the Bitbucket at "+bb.URL()+" (its SSH address could not be read") ||
		doc.Results[1].Status != "ok" {
		t.Errorf("results %+v", doc.Results)
	}
	// Its settings readable: the host it advertises for SSH is this
	// Bitbucket too, other hosts are not.
	bb.SetAnonymousSettings(true)
	bb.SetSettingsBaseURL("ssh://git@localhost:7999")
	l.run(t, nil, "git", "remote", "add", "viassh", "ssh://"+l.target.LoginUser+"@localhost:"+strconv.Itoa(l.target.Port)+"/proj/repo.git")
	out, errOut, err = l.run(t, nil, "git", "bbkey", "verify", "--all", "--json", "--key", l.u.Path(".ssh/work_key"))
	doc.Results = nil
	if err != nil || json.Unmarshal([]byte(out), &doc) != nil || len(doc.Results) != 3 {
		t.Fatalf("verify --all: %v\n%s\n%s", err, out, errOut)
	}
	if doc.Results[0].Status != "skipped" || !strings.HasSuffix(doc.Results[0].Message, "(nor its SSH address)") ||
		doc.Results[1].Status != "ok" || doc.Results[2].Status != "ok" || doc.Results[2].Host != "localhost" {
		t.Errorf("results %+v", doc.Results)
	}
	if r := l.verify(t, nil, "hub"); r.Status != "unreachable" {
		t.Errorf("hub named: %+v", r)
	}

	marker := l.u.Path("pwned")
	l.run(t, nil, "git", "remote", "add", "evil", "ext::sh -c touch% "+marker)
	out, _, err = l.run(t, []string{"GIT_ALLOW_PROTOCOL=ext"}, "git", "bbkey", "verify", "evil", "--json")
	if err == nil || !strings.Contains(out, `"status": "bad-url"`) || !strings.Contains(out, `ext::`) {
		t.Errorf("ext:: remote: %v\n%s", err, out)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Fatal("the ext:: command ran")
	}
}
