package sshverify

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"golang.org/x/crypto/ssh"
)

// Host keys where ssh keeps them: looked up and pinned under HostKeyAlias,
// in the first user file only.
func TestPinUnderAliasInFirstUserFile(t *testing.T) {
	srv, key, _ := fixture(t)
	dir := t.TempDir()
	first, second, global := filepath.Join(dir, "first"), filepath.Join(dir, "second"), filepath.Join(dir, "global")
	writeFile(t, second, "# other file\n")
	// The address's own entry does not count under an alias.
	writeFile(t, global, hostLine(srv.host, srv.port, srv.hostSigners[0].PublicKey())+"\n")
	settings := &HostSettings{KnownHosts: KnownHostsSpec{UserFiles: []string{first, second}, GlobalFiles: []string{global}, Alias: "BBAlias"}}
	opts := Options{Signer: key, KnownHostsFile: filepath.Join(dir, "unused"), HostKeyPolicy: &HostKeyPolicy{AcceptNew: true}}
	target := Target{URL: srv.url("/proj/repo.git"), Settings: settings}
	r := Verify(context.Background(), []Target{target}, opts)[0]
	wantStatus(t, r, StatusOK)
	if len(r.Pins) != 1 {
		t.Fatalf("pins %+v", r.Pins)
	}
	p := r.Pins[0]
	if p.Name != "bbalias" || p.File != first || !p.Appended || !p.Recorded || p.Line != 1 || p.Decision.Reason != ReasonAcceptNew || !r.HostKeyAdded {
		t.Errorf("pin %+v", p)
	}
	if got, want := readFile(t, first), "bbalias "+srv.hostSigners[0].PublicKey().Type()+" "+blob(srv.hostSigners[0].PublicKey())+"\n"; got != want {
		t.Errorf("first file %q, want %q", got, want)
	}
	if readFile(t, second) != "# other file\n" {
		t.Error("the second user file was written")
	}
	if _, err := os.Stat(opts.KnownHostsFile); err == nil {
		t.Error("Options.KnownHostsFile was written though the target names its own files")
	}
	// Next time: known under the alias, nothing asked or written.
	opts.HostKeyPolicy = nil
	r = Verify(context.Background(), []Target{target}, opts)[0]
	wantStatus(t, r, StatusOK)
	if r.HostCheck == nil || r.HostCheck.Status != HostKeyKnown || r.HostCheck.Name != "bbalias" || r.HostCheck.Entry.File != first || len(r.Pins) != 0 {
		t.Errorf("second run: check %+v pins %+v", r.HostCheck, r.Pins)
	}
}

// A target's own dial hook and user; targets sharing *HostSettings share
// a connection, others do not.
func TestHostSettingsDialAndUser(t *testing.T) {
	srv, key, kh := fixture(t)
	var dialed atomic.Int32
	settings := &HostSettings{Dial: func(ctx context.Context) (net.Conn, error) {
		dialed.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, "tcp", srv.ln.Addr().String())
	}}
	// Host names nothing resolvable: only the hook can reach the server.
	targets := []Target{
		{Host: "bitbucket.invalid", Port: srv.port, Path: "/proj/repo.git", User: "bbuser", Settings: settings},
		{Host: "bitbucket.invalid", Port: srv.port, Path: "/proj/repo.git", User: "bbuser", Settings: settings},
	}
	writeFile(t, kh, hostLine("bitbucket.invalid", srv.port, srv.hostSigners[0].PublicKey())+"\n")
	res := Verify(context.Background(), targets, Options{Signer: key, KnownHostsFile: kh, User: "ignored"})
	for _, r := range res {
		wantStatus(t, r, StatusOK)
	}
	if dialed.Load() != 1 || srv.accepts.Load() != 1 {
		t.Errorf("dial hook used %d times, server saw %d connections; want 1 and 1", dialed.Load(), srv.accepts.Load())
	}
	srv.mu.Lock()
	for _, u := range srv.users {
		if u != "bbuser" {
			t.Errorf("server saw user %q, want the target's bbuser", u)
		}
	}
	srv.mu.Unlock()

	// Another *HostSettings with the same hook: its own connection.
	other := &HostSettings{Dial: settings.Dial}
	targets[1].Settings = other
	before := srv.accepts.Load()
	res = Verify(context.Background(), targets, Options{Signer: key, KnownHostsFile: kh})
	for _, r := range res {
		wantStatus(t, r, StatusOK)
	}
	if srv.accepts.Load()-before != 2 {
		t.Errorf("%d connections for two targets with different settings", srv.accepts.Load()-before)
	}
}

// An accepted key that cannot be written says where, typed.
func TestAcceptedKeyNotRecorded(t *testing.T) {
	srv, key, _ := fixture(t)
	dir := t.TempDir()
	kh := filepath.Join(dir, "known_hosts")
	if err := os.Mkdir(filepath.Join(dir, ".known_hosts.lock"), 0o700); err != nil {
		t.Fatal(err)
	}
	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh, HostKeyPolicy: &HostKeyPolicy{AcceptNew: true}})
	wantStatus(t, r, StatusHostUnknown)
	var rec *RecordError
	if len(r.Pins) != 1 || !errors.As(r.Pins[0].Err, &rec) || rec.File != kh || r.Pins[0].Recorded || r.HostKeyAdded {
		t.Fatalf("pins %+v", r.Pins)
	}
	if !strings.Contains(r.Message, "was accepted but not recorded") {
		t.Errorf("message %q", r.Message)
	}
	if _, err := os.Stat(kh); err == nil {
		t.Error("known_hosts was created")
	}

	// No user file at all: typed too.
	r = Verify(context.Background(), []Target{{URL: srv.url("/proj/repo.git"), Settings: &HostSettings{KnownHosts: KnownHostsSpec{UserFiles: []string{}}}}},
		Options{Signer: key, KnownHostsFile: kh, HostKeyPolicy: &HostKeyPolicy{AcceptNew: true}})[0]
	wantStatus(t, r, StatusHostUnknown)
	if len(r.Pins) != 1 || !errors.As(r.Pins[0].Err, &rec) || rec.File != "" {
		t.Fatalf("pins %+v", r.Pins)
	}
}

// Another program writes another key for the host while we decide: the
// file is re-read under the lock, and nothing is appended.
func TestKnownHostsChangedWhileDeciding(t *testing.T) {
	srv, key, _ := fixture(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	impostor := newSigner(t, "ed25519").PublicKey()
	other := hostLine(srv.host, srv.port, impostor) + "\n"
	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh,
		HostKeyPolicy: &HostKeyPolicy{Confirm: func(context.Context, UnknownHost) (bool, error) {
			writeFile(t, kh, other)
			return true, nil
		}}})
	wantStatus(t, r, StatusHostMismatch)
	if !strings.Contains(r.Message, "meanwhile") || !strings.Contains(r.Message, ssh.FingerprintSHA256(impostor)) {
		t.Errorf("message %q", r.Message)
	}
	if readFile(t, kh) != other {
		t.Errorf("known_hosts = %q", readFile(t, kh))
	}

	// The same key written meanwhile: recorded, not appended again.
	same := hostLine(srv.host, srv.port, srv.hostSigners[0].PublicKey()) + "\n"
	kh2 := filepath.Join(t.TempDir(), "known_hosts")
	r = one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh2,
		HostKeyPolicy: &HostKeyPolicy{Confirm: func(context.Context, UnknownHost) (bool, error) {
			writeFile(t, kh2, "# mine\n"+same)
			return true, nil
		}}})
	wantStatus(t, r, StatusOK)
	if len(r.Pins) != 1 || !r.Pins[0].Recorded || r.Pins[0].Appended || r.Pins[0].Line != 2 || r.HostKeyAdded {
		t.Errorf("pins %+v", r.Pins)
	}
	if readFile(t, kh2) != "# mine\n"+same {
		t.Errorf("known_hosts = %q", readFile(t, kh2))
	}
}
