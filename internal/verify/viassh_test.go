package verify

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/sshverify"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

// viaLab is a lab whose git's ssh is a wrapper (so targets go through
// the user's ssh), with hosts whose known-hosts file starts empty:
// "fresh" is the lab's sshd, "mitm" a relay on loopback that sends its
// first connections to the lab's sshd and the later ones to an impostor
// (another sshd, with a host key of its own, that lets the same key in).
type viaLab struct {
	*lab
	fresh, mitmHosts string
	impostor         *sshdtest.Server
	honest           atomic.Int32 // connections the relay sends to the real server
	relayed          atomic.Int32
	ready            chan struct{} // the servers are set
}

func newViaLab(t *testing.T) *viaLab {
	t.Helper()
	v := &viaLab{ready: make(chan struct{})}
	v.honest.Store(1 << 30)
	relay := v.startRelay(t)
	v.lab = newLab(t,
		"Host fresh", "  HostName 127.0.0.1", "  Port PORT", "  UserKnownHostsFile FRESH",
		"Host mitm", "  HostName 127.0.0.1", "  Port "+strconv.Itoa(relay), "  UserKnownHostsFile MITM")
	v.fresh, v.mitmHosts = filepath.Join(v.dir, "fresh_hosts"), filepath.Join(v.dir, "mitm_hosts")
	conf, err := os.ReadFile(v.conf)
	if err != nil {
		t.Fatal(err)
	}
	conf = []byte(strings.NewReplacer("PORT", strconv.Itoa(v.srv.Port), "FRESH", v.fresh, "MITM", v.mitmHosts).Replace(string(conf)))
	if err := os.WriteFile(v.conf, conf, 0o600); err != nil {
		t.Fatal(err)
	}
	wrapper := filepath.Join(v.dir, "myssh")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec ssh -F '"+v.conf+"' \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	v.env = append(v.env, "GIT_SSH_COMMAND="+wrapper)
	v.impostor = sshdtest.Start(t, sshdtest.Options{})
	v.impostor.Authorize(v.goodKey.PublicKey(), "alice")
	v.impostor.NewRepo("/proj/repo.git", []string{"main"}, nil)
	close(v.ready)
	return v
}

// startRelay listens on loopback and relays each connection to the lab's
// sshd (the first honest ones) or to the impostor.
func (v *viaLab) startRelay(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-v.ready:
		case <-t.Context().Done():
			return
		}
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			n := v.relayed.Add(1)
			to := v.impostor
			if n <= v.honest.Load() {
				to = v.srv
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				s, err := net.Dial("tcp", net.JoinHostPort(to.Host, strconv.Itoa(to.Port)))
				if err != nil {
					return
				}
				defer s.Close()
				go func() { io.Copy(s, c); s.(*net.TCPConn).CloseWrite() }()
				io.Copy(c, s)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func readString(t *testing.T, f string) string {
	t.Helper()
	data, err := os.ReadFile(f)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return string(data)
}

// An unknown host met through ssh is decided as in-process (here
// --accept-new-host-key) and pinned by verify where ssh looks, once; ssh
// itself writes nothing there. Someone in the middle of the connection
// after the first is never pinned: the key the second connection meets
// is not the one first seen (host-mismatch, nothing written), and one met
// after the pin is refused by ssh as a changed key.
func TestViaSSHPinsOnlyTheKeyFirstSeen(t *testing.T) {
	v := newViaLab(t)
	d := v.deps(v.repo)
	opts := Options{Names: []string{"fresh:proj/repo.git"}, Key: v.good, AcceptNewHostKey: true}
	r := runAll(t, d, opts)[0]
	if r.Status != StatusOK || r.Via != ViaSSH || !r.HostKeyAdded || len(r.Pins) != 1 || r.Pins[0].File != v.fresh ||
		r.Pins[0].Decision.Reason != sshverify.ReasonAcceptNew || r.User != "alice" {
		t.Errorf("accepted via ssh: %+v", r)
	}
	if got := readString(t, v.fresh); got != v.srv.KnownHostsLine()+"\n" {
		t.Errorf("%s = %q, want the server's line once", v.fresh, got)
	}

	// The second connection goes to the impostor.
	v.honest.Store(1)
	r = runAll(t, d, Options{Names: []string{"mitm:proj/repo.git"}, Key: v.good, AcceptNewHostKey: true})[0]
	if r.Status != StatusHostMismatch || r.HostKeyAdded {
		t.Errorf("a key switched after the first connection: %+v", r)
	}
	if got := readString(t, v.mitmHosts); got != "" {
		t.Errorf("%s = %q: a key was pinned", v.mitmHosts, got)
	}
	if v.relayed.Load() < 2 {
		t.Fatalf("the relay saw %d connections", v.relayed.Load())
	}

	// The impostor answers once the real key is pinned: ssh refuses it.
	v.relayed.Store(0)
	v.honest.Store(2)
	r = runAll(t, d, Options{Names: []string{"mitm:proj/repo.git"}, Key: v.good, AcceptNewHostKey: true})[0]
	if r.Status != StatusHostMismatch {
		t.Errorf("an impostor after the pin: %+v", r)
	}
	if got := readString(t, v.mitmHosts); strings.Count(got, "\n") != 1 || !strings.Contains(got, strings.Fields(v.srv.KnownHostsLine())[2]) {
		t.Errorf("%s = %q, want the real server's key, once", v.mitmHosts, got)
	}
}

// Through ssh as in-process, a person on a terminal decides about an
// unknown host (Deps.Confirm, shown the key), with the target's time
// standing still meanwhile; no is host-unknown, nothing written.
func TestViaSSHAsksAPerson(t *testing.T) {
	v := newViaLab(t)
	d := v.deps(v.repo)
	var asked []sshverify.UnknownHost
	answer := false
	d.Confirm = func(ctx context.Context, u sshverify.UnknownHost) (bool, error) {
		asked = append(asked, u)
		select { // a person reading the fingerprint, slowly
		case <-time.After(3 * time.Second):
		case <-ctx.Done():
			return false, ctx.Err()
		}
		return answer, nil
	}
	opts := Options{Names: []string{"fresh:proj/repo.git", "fresh:proj/repo.git"}, Key: v.good, Timeout: 2 * time.Second}
	res, err := Run(context.Background(), d, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != StatusHostUnknown || r.Via != ViaSSH {
			t.Errorf("declined: %+v", r)
		}
	}
	if len(asked) != 1 || asked[0].Key == nil || !sameKey(asked[0].Key, v.srv.HostKey) || asked[0].Host.Port != v.srv.Port {
		t.Errorf("asked %+v, want once about the server's key", asked)
	}
	if got := readString(t, v.fresh); got != "" {
		t.Errorf("declined, yet %s = %q", v.fresh, got)
	}
	answer, asked = true, nil
	if res, err = Run(context.Background(), d, opts); err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != StatusOK || len(r.Pins) != 1 || r.Pins[0].Decision.Reason != sshverify.ReasonConfirmed {
			t.Errorf("confirmed: %+v", r)
		}
	}
	if len(asked) != 1 {
		t.Errorf("asked %d times", len(asked))
	}
	if got := readString(t, v.fresh); got != v.srv.KnownHostsLine()+"\n" {
		t.Errorf("%s = %q", v.fresh, got)
	}
}

func sameKey(a, b interface{ Marshal() []byte }) bool {
	return string(a.Marshal()) == string(b.Marshal())
}

// The temporary known-hosts file and the user's reach ssh as they are
// named, whatever they hold: ssh -G, given the option verify passes, is
// the oracle.
func TestSSHOptionWord(t *testing.T) {
	ssh := testutil.RequireTool(t, "ssh")
	paths := []string{"/tmp/plain/known_hosts", "/tmp/with space/known_hosts", "/tmp/100%d/h", `/tmp/q"uote'/h`, `/tmp/back\slash/h`}
	words := make([]string, len(paths))
	for i, p := range paths {
		words[i] = sshOptionWord(p)
	}
	out, err := exec.Command(ssh, "-F", "/dev/null", "-G", "-o", "UserKnownHostsFile="+strings.Join(words, " "), "example.com").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if v, ok := strings.CutPrefix(line, "userknownhostsfile "); ok {
			if want := strings.Join(paths, " "); v != want {
				t.Errorf("ssh read %q, want %q", v, want)
			}
			return
		}
	}
	t.Fatalf("no userknownhostsfile in ssh -G's output:\n%s", out)
}
