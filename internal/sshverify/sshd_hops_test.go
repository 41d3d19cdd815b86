package sshverify

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

// jumpThrough is a DialJump hook through one bastion, as internal/verify
// builds it with sshdial: the bastion's key checked by hops, key signs in.
func jumpThrough(bastion *sshdtest.Server, key ssh.Signer, spec KnownHostsSpec, target *sshdtest.Server) func(context.Context, *HopKeys) (net.Conn, error) {
	return func(ctx context.Context, hops *HopKeys) (net.Conn, error) {
		cb, algos, err := hops.Callback(ctx, bastion.Host, bastion.Port, spec, nil)
		if err != nil {
			return nil, err
		}
		addr := net.JoinHostPort(bastion.Host, strconv.Itoa(bastion.Port))
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		cc, chans, reqs, err := ssh.NewClientConn(c, addr, &ssh.ClientConfig{User: bastion.LoginUser,
			Auth: []ssh.AuthMethod{ssh.PublicKeys(key)}, HostKeyCallback: cb, HostKeyAlgorithms: algos})
		if err != nil {
			c.Close()
			return nil, err
		}
		return ssh.NewClient(cc, chans, reqs).DialContext(ctx, "tcp", net.JoinHostPort(target.Host, strconv.Itoa(target.Port)))
	}
}

// A jump host's key is checked like the target's: an unknown one is
// decided by the policy and pinned in the jump host's own file (and shows
// in the target's pins); a changed one fails the whole path as
// host-mismatch about the jump host, with nothing written. And each target
// offers its own key (HostSettings.Signer).
func TestJumpHostKeysAndOwnSigner(t *testing.T) {
	target := sshdtest.Start(t, sshdtest.Options{})
	bastion := sshdtest.Start(t, sshdtest.Options{AllowTcpForwarding: true})
	dir := t.TempDir()
	good, _ := sshdtest.NewKey(t, dir, "id_good")
	other, _ := sshdtest.NewKey(t, dir, "id_other")
	target.Authorize(good.PublicKey(), "alice")
	bastion.AuthorizeJump(good.PublicKey())
	target.NewRepo("/proj/repo.git", []string{"main"}, nil)
	kh := filepath.Join(dir, "known_hosts")
	writeFile(t, kh, target.KnownHostsLine()+"\n")
	hopFile := filepath.Join(dir, "hop_known_hosts")
	hopSpec := KnownHostsSpec{UserFiles: []string{hopFile}, GlobalFiles: []string{}}

	jumped := &HostSettings{DialJump: jumpThrough(bastion, good, hopSpec, target)}
	opts := Options{KnownHostsFile: kh, User: target.LoginUser, Timeout: 20 * time.Second,
		HostKeyPolicy: &HostKeyPolicy{AcceptNew: true}}
	r := Verify(context.Background(), []Target{{URL: target.URL("/proj/repo.git"), Settings: &HostSettings{DialJump: jumped.DialJump, Signer: good}}}, opts)[0]
	wantStatus(t, r, StatusOK)
	hopLine := "[127.0.0.1]:" + strconv.Itoa(bastion.Port) + " "
	if got := readFile(t, hopFile); !strings.HasPrefix(got, hopLine) || strings.Count(got, "\n") != 1 {
		t.Errorf("the bastion's key was not pinned once in its own file: %q", got)
	}
	if len(r.Pins) != 1 || r.Pins[0].File != hopFile || !r.Pins[0].Appended || r.Pins[0].Host.Port != bastion.Port {
		t.Errorf("pins %+v", r.Pins)
	}
	if readFile(t, kh) != target.KnownHostsLine()+"\n" {
		t.Error("the target's known_hosts changed")
	}

	// The bastion's key changed: host-mismatch about the bastion, for
	// every target behind it, and its file stays as it was.
	writeFile(t, hopFile, hopLine+strings.TrimSpace(string(ssh.MarshalAuthorizedKey(other.PublicKey())))+"\n")
	before := readFile(t, hopFile)
	res := Verify(context.Background(), []Target{
		{URL: target.URL("/proj/repo.git"), Settings: &HostSettings{DialJump: jumped.DialJump, Signer: good}},
	}, opts)
	wantStatus(t, res[0], StatusHostMismatch)
	if res[0].Hop == nil || res[0].Hop.Host.Port != bastion.Port || res[0].Hop.Check == nil || res[0].Hop.Check.Status != HostKeyChanged {
		t.Errorf("hop %+v", res[0].Hop)
	}
	if !strings.Contains(res[0].Message, "has changed") {
		t.Errorf("message %q", res[0].Message)
	}
	if readFile(t, hopFile) != before {
		t.Error("the bastion's file was rewritten")
	}

	// Own signers: the same server, one target with the authorised key,
	// one with another; no Options.Signer at all.
	res = Verify(context.Background(), []Target{
		{URL: target.URL("/proj/repo.git"), Settings: &HostSettings{Signer: good}},
		{URL: target.URL("/proj/repo.git"), Settings: &HostSettings{Signer: other}},
		{URL: target.URL("/proj/repo.git")},
	}, opts)
	wantStatus(t, res[0], StatusOK)
	wantStatus(t, res[1], StatusKeyRejected)
	if !strings.Contains(res[1].Message, ssh.FingerprintSHA256(other.PublicKey())) {
		t.Errorf("key-rejected names another key: %q", res[1].Message)
	}
	wantStatus(t, res[2], StatusKeyError)
}
