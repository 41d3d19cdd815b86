package verify

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

// A jump host's key is opened before anything is dialled: a person slow
// to type its passphrase does not use up the target's time (the timeout
// covers the network, not the user). git ls-remote through OpenSSH is the
// oracle that the path works.
func TestHopKeyOpensBeforeTheClockRuns(t *testing.T) {
	bastion := sshdtest.Start(t, sshdtest.Options{AllowTcpForwarding: true})
	jdir := t.TempDir()
	jumpKey, jumpFile := sshdtest.NewKey(t, jdir, "jump")
	bastion.AuthorizeJump(jumpKey.PublicKey())
	l := newLab(t,
		"Host bbj", "  HostName 127.0.0.1", "  Port PORT", "  User LOGIN", "  IdentityFile GOOD", "  ProxyJump jumphost",
		"Host jumphost", "  HostName 127.0.0.1", "  Port "+strconv.Itoa(bastion.Port), "  User "+bastion.LoginUser, "  IdentityFile "+jumpFile)
	conf, err := os.ReadFile(l.conf)
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(replaceAll(string(conf), "PORT", strconv.Itoa(l.srv.Port), "LOGIN", l.srv.LoginUser, "GOOD", l.good))
	if err := os.WriteFile(l.conf, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	kh, _ := os.ReadFile(l.knownHosts)
	if err := os.WriteFile(l.knownHosts, append(kh, bastion.KnownHostsLine()+"\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	ls := exec.Command("git", "ls-remote", "bbj:proj/repo.git")
	ls.Dir, ls.Env = l.repo, l.env
	if out, err := ls.CombinedOutput(); err != nil {
		t.Fatalf("the oracle: git ls-remote through the bastion: %v\n%s", err, out)
	}

	d := l.deps(l.repo)
	d.Unlock = func(ctx context.Context, path string) (*sshkeys.Unlocked, error) {
		if path == jumpFile {
			select { // a person typing the passphrase, slowly
			case <-time.After(3 * time.Second):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		return sshkeys.Unlock(path, sshkeys.UnlockOptions{})
	}
	res, err := Run(context.Background(), d, Options{Names: []string{"bbj:proj/repo.git"}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if r := res[0]; r.Status != StatusOK || r.Via != ViaDirect || r.User != "alice" {
		t.Errorf("through the bastion, a slow passphrase: %+v", r)
	}
}

// A jump host's identity file is found where the key checked is: HomePath,
// else Path.
func TestHopSignersPathFallback(t *testing.T) {
	dir := t.TempDir()
	_, file := sshdtest.NewKey(t, dir, "jump")
	r := &run{d: &Deps{}, keys: keyring{unlock: func(_ context.Context, path string) (*sshkeys.Unlocked, error) {
		return sshkeys.Unlock(path, sshkeys.UnlockOptions{})
	}}}
	hop := &openssh.Settings{IdentityFiles: []openssh.File{{Path: file}}, IdentityAgent: "none"}
	signers, err := r.hopSigners(context.Background(), hop)
	if err != nil || len(signers) != 1 {
		t.Errorf("hopSigners = %d signers, %v; want the key at Path", len(signers), err)
	}
}

func replaceAll(s string, oldNew ...string) string {
	for i := 0; i+1 < len(oldNew); i += 2 {
		s = strings.ReplaceAll(s, oldNew[i], oldNew[i+1])
	}
	return s
}
