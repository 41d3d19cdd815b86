package sshverify

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

var repoRefs = []string{"HEAD", "refs/heads/main", "refs/tags/v1"}

// fixture: a server with one repository, a client key it accepts, and a
// known_hosts file that knows the server's (first) host key.
func fixture(t *testing.T, hostKeys ...ssh.Signer) (*testServer, ssh.Signer, string) {
	t.Helper()
	srv := startServer(t, hostKeys...)
	key := newSigner(t, "ed25519")
	srv.authorize(key.PublicKey())
	srv.addRepo("/proj/repo.git", fakeRepo{refs: repoRefs})
	kh := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, kh, hostLine(srv.host, srv.port, srv.hostSigners[0].PublicKey())+"\n")
	return srv, key, kh
}

func writeFile(t *testing.T, name, content string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func one(t *testing.T, srv *testServer, path string, opts Options) Result {
	t.Helper()
	res := Verify(context.Background(), []Target{{URL: srv.url(path)}}, opts)
	if len(res) != 1 {
		t.Fatalf("got %d results", len(res))
	}
	return res[0]
}

func wantStatus(t *testing.T, r Result, want Status) {
	t.Helper()
	if r.Status != want {
		t.Fatalf("status %q (%s), want %q", r.Status, r.Message, want)
	}
}

func TestVerifyOK(t *testing.T) {
	srv, key, kh := fixture(t)
	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh, Write: true})
	wantStatus(t, r, StatusOK)
	if r.User != "alice" || r.Refs == nil || *r.Refs != 3 || r.Write == nil || !*r.Write {
		t.Errorf("result %+v: want user alice, 3 refs, write true", r)
	}
	if r.HostKeyAdded || r.HostKey == nil || r.Elapsed <= 0 || r.Target.URL != srv.url("/proj/repo.git") {
		t.Errorf("result %+v", r)
	}

	// Without Write, receive-pack is not opened and Write stays nil.
	r = one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh})
	wantStatus(t, r, StatusOK)
	if r.Write != nil {
		t.Errorf("Write = %v without Options.Write", *r.Write)
	}
}

func TestVerifyEmptyRepoAndNoWhoami(t *testing.T) {
	srv, key, kh := fixture(t)
	srv.addRepo("/proj/empty.git", fakeRepo{})
	srv.set(func(s *testServer) { s.user = "" })
	r := one(t, srv, "/proj/empty.git", Options{Signer: key, KnownHostsFile: kh})
	wantStatus(t, r, StatusOK)
	if r.Refs == nil || *r.Refs != 0 || r.User != "" {
		t.Errorf("empty repo: refs %v user %q, want 0 and \"\"", r.Refs, r.User)
	}
}

// A server with an RSA and an ed25519 host key, of which known_hosts
// holds only the RSA one: x/crypto would prefer ed25519 and cry
// "mismatch" unless HostKeyAlgorithms comes from known_hosts.
func TestKnownRSAHostWithEd25519Too(t *testing.T) {
	rsaKey, edKey := newSigner(t, "rsa"), newSigner(t, "ed25519")
	srv, key, kh := fixture(t, rsaKey, edKey)
	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh})
	wantStatus(t, r, StatusOK)
	if r.HostKey.Type() != ssh.KeyAlgoRSA {
		t.Errorf("host key type %q, want ssh-rsa", r.HostKey.Type())
	}
	// And the other way round.
	writeFile(t, kh, hostLine(srv.host, srv.port, edKey.PublicKey())+"\n")
	r = one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh})
	wantStatus(t, r, StatusOK)
	if r.HostKey.Type() != ssh.KeyAlgoED25519 {
		t.Errorf("host key type %q, want ssh-ed25519", r.HostKey.Type())
	}
}

func TestHashedKnownHosts(t *testing.T) {
	srv, key, kh := fixture(t)
	addr := net.JoinHostPort(srv.host, fmt.Sprint(srv.port))
	line := xknownhosts.HashHostname(xknownhosts.Normalize(addr)) + " " + strings.SplitN(hostLine(srv.host, srv.port, srv.hostSigners[0].PublicKey()), " ", 2)[1]
	writeFile(t, kh, line+"\n")
	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh})
	wantStatus(t, r, StatusOK)
}

func TestMalformedKnownHostsLines(t *testing.T) {
	srv, key, kh := fixture(t)
	good := hostLine(srv.host, srv.port, srv.hostSigners[0].PublicKey())
	content := "garbage\n" +
		"[broken ssh-ed25519 AAAA\n" +
		"host ssh-rsa not-base64!!\n" +
		"@bogus host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDH\n" +
		"|1|bad|hash ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIDH\n" +
		strings.Repeat("x", 70<<10) + "\n" + // longer than bufio.Scanner's limit
		good + "\r\n" +
		"# comment\n"
	writeFile(t, kh, content)
	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh})
	wantStatus(t, r, StatusOK)
	if readFile(t, kh) != content {
		t.Error("known_hosts was modified")
	}

	// A user file with nothing but bad lines (which x/crypto rejects as a
	// whole) must not hide the good entry in a system file.
	writeFile(t, kh, "garbage\nmore garbage here\n")
	system := filepath.Join(t.TempDir(), "ssh_known_hosts")
	writeFile(t, system, good+"\n")
	r = one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh,
		ExtraKnownHosts: []string{system, filepath.Join(t.TempDir(), "missing")}})
	wantStatus(t, r, StatusOK)
}

func TestUnknownHostAccepted(t *testing.T) {
	srv, key, kh := fixture(t)
	srv.addRepo("/proj/other.git", fakeRepo{refs: []string{"refs/heads/main"}})
	before := "otherhost ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1hZGUgdXAga2V5IGZvciB0ZXN0aW5nIG9ubHkhISE=" // no final newline
	writeFile(t, kh, before)
	var calls atomic.Int32
	opts := Options{Signer: key, KnownHostsFile: kh, MaxSessionsPerConn: 1,
		HostKeyPolicy: &HostKeyPolicy{Confirm: func(_ context.Context, u UnknownHost) (bool, error) {
			calls.Add(1)
			if u.Host.Host != srv.host || u.Host.Port != srv.port || !bytes.Equal(u.Key.Marshal(), srv.hostSigners[0].PublicKey().Marshal()) {
				t.Errorf("Confirm(%+v, %s)", u.Host, ssh.FingerprintSHA256(u.Key))
			}
			return true, nil
		}}}
	// Three targets over several connections (one session each): one
	// question, one line.
	targets := []Target{{URL: srv.url("/proj/repo.git")}, {URL: srv.url("/proj/other.git")}, {Host: srv.host, Port: srv.port, Path: "/proj/repo.git"}}
	res := Verify(context.Background(), targets, opts)
	for _, r := range res {
		wantStatus(t, r, StatusOK)
		if !r.HostKeyAdded {
			t.Errorf("HostKeyAdded false for %+v", r.Target)
		}
	}
	if calls.Load() != 1 {
		t.Errorf("Confirm called %d times, want 1", calls.Load())
	}
	want := before + "\n" + hostLine(srv.host, srv.port, srv.hostSigners[0].PublicKey()) + "\n"
	if got := readFile(t, kh); got != want {
		t.Errorf("known_hosts = %q, want %q", got, want)
	}

	// Next run: known, nothing asked, nothing written.
	res = Verify(context.Background(), targets[:1], opts)
	wantStatus(t, res[0], StatusOK)
	if calls.Load() != 1 || res[0].HostKeyAdded || readFile(t, kh) != want {
		t.Errorf("second run asked again or wrote: calls %d added %v", calls.Load(), res[0].HostKeyAdded)
	}
}

func TestUnknownHostCreatesFile(t *testing.T) {
	srv, key, _ := fixture(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh, HostKeyPolicy: &HostKeyPolicy{AcceptNew: true}})
	wantStatus(t, r, StatusOK)
	st, err := os.Stat(kh)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm() != 0o644 {
		t.Errorf("new known_hosts mode %v", st.Mode().Perm())
	}
	if got := readFile(t, kh); got != hostLine(srv.host, srv.port, srv.hostSigners[0].PublicKey())+"\n" {
		t.Errorf("known_hosts = %q", got)
	}
	if !strings.HasPrefix(readFile(t, kh), fmt.Sprintf("[127.0.0.1]:%d ssh-ed25519 ", srv.port)) {
		t.Errorf("known_hosts entry not in [host]:port form: %q", readFile(t, kh))
	}
}

func TestUnknownHostRejected(t *testing.T) {
	srv, key, kh := fixture(t)
	content := "# my hosts\n"
	writeFile(t, kh, content)

	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh})
	wantStatus(t, r, StatusHostUnknown)
	if r.HostKey == nil || !strings.Contains(r.Message, ssh.FingerprintSHA256(srv.hostSigners[0].PublicKey())) {
		t.Errorf("host-unknown result without the key: %+v", r)
	}

	r = one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh,
		HostKeyPolicy: &HostKeyPolicy{Confirm: func(context.Context, UnknownHost) (bool, error) { return false, nil }}})
	wantStatus(t, r, StatusHostUnknown)
	if !strings.Contains(r.Message, "not accepted on the terminal") || len(r.Pins) != 1 || r.Pins[0].Decision.Reason != ReasonDeclined {
		t.Errorf("message %q, pins %+v: want the decline", r.Message, r.Pins)
	}

	r = one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh,
		HostKeyPolicy: &HostKeyPolicy{AcceptNew: true, Published: func(context.Context, string, int) (Published, error) {
			return Published{Server: "https://bb.example.com", Fingerprint: "SHA256:other", Trusted: true}, nil
		}}})
	wantStatus(t, r, StatusHostMismatch)
	if !strings.Contains(r.Message, "https://bb.example.com publishes SHA256:other") || r.Pins[0].Decision.Reason != ReasonPublishedMismatch {
		t.Errorf("message %q, pins %+v", r.Message, r.Pins)
	}

	if got := readFile(t, kh); got != content {
		t.Errorf("known_hosts changed to %q", got)
	}
}

func TestHostKeyChanged(t *testing.T) {
	srv, key, kh := fixture(t)
	impostor := newSigner(t, "ed25519")
	content := "# keep me\n" + hostLine(srv.host, srv.port, impostor.PublicKey()) + "\n"
	writeFile(t, kh, content)
	asked := false
	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh,
		HostKeyPolicy: &HostKeyPolicy{Confirm: func(context.Context, UnknownHost) (bool, error) {
			asked = true
			return true, nil
		}}})
	wantStatus(t, r, StatusHostMismatch)
	for _, want := range []string{"changed", "intercepting", "ssh-keyscan", ssh.FingerprintSHA256(impostor.PublicKey()), kh + ":2"} {
		if !strings.Contains(r.Message, want) {
			t.Errorf("message %q does not mention %q", r.Message, want)
		}
	}
	if asked {
		t.Error("the policy was asked about a changed key")
	}
	if got := readFile(t, kh); got != content {
		t.Errorf("known_hosts changed to %q", got)
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	srv, key, kh := fixture(t)
	srv.set(func(s *testServer) { s.silent = true })
	start := time.Now()
	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh, Timeout: 300 * time.Millisecond})
	wantStatus(t, r, StatusTimeout)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v for a 300ms timeout", d)
	}
	if r.Elapsed < 300*time.Millisecond {
		t.Errorf("Elapsed %v shorter than the timeout", r.Elapsed)
	}
}

func TestSilentCommandTimesOut(t *testing.T) {
	srv, key, kh := fixture(t)
	srv.set(func(s *testServer) { s.silentCmd = true })
	start := time.Now()
	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh, Timeout: 300 * time.Millisecond})
	wantStatus(t, r, StatusTimeout)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v for a 300ms timeout", d)
	}
}

// The time a person takes to answer about a host key is not the server's.
func TestTimeoutPausedWhileAsking(t *testing.T) {
	srv, key, _ := fixture(t)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	r := one(t, srv, "/proj/repo.git", Options{Signer: key, KnownHostsFile: kh, Timeout: 300 * time.Millisecond,
		HostKeyPolicy: &HostKeyPolicy{Confirm: func(context.Context, UnknownHost) (bool, error) {
			time.Sleep(600 * time.Millisecond)
			return true, nil
		}}})
	wantStatus(t, r, StatusOK)
}

func TestWrongKeyRejected(t *testing.T) {
	srv, _, kh := fixture(t)
	stranger := newSigner(t, "ed25519")
	r := one(t, srv, "/proj/repo.git", Options{Signer: stranger, KnownHostsFile: kh})
	wantStatus(t, r, StatusKeyRejected)
	if !strings.Contains(r.Message, "permission denied (publickey)") || !strings.Contains(r.Message, ssh.FingerprintSHA256(stranger.PublicKey())) {
		t.Errorf("message %q", r.Message)
	}
}

func TestRepoNotFound(t *testing.T) {
	srv, key, kh := fixture(t)
	r := one(t, srv, "/proj/missing.git", Options{Signer: key, KnownHostsFile: kh})
	wantStatus(t, r, StatusRepoNotFound)
	if !strings.Contains(r.Message, "Repository not found") || r.Refs != nil {
		t.Errorf("result %+v", r)
	}
}

func TestNoWriteAccess(t *testing.T) {
	srv, key, kh := fixture(t)
	srv.addRepo("/proj/ro.git", fakeRepo{refs: repoRefs, readOnly: true})
	r := one(t, srv, "/proj/ro.git", Options{Signer: key, KnownHostsFile: kh, Write: true})
	wantStatus(t, r, StatusNoWriteAccess)
	if r.Write == nil || *r.Write || r.Refs == nil || *r.Refs != 3 || !strings.Contains(r.Message, "permission to push") {
		t.Errorf("result %+v", r)
	}
}

func manyTargets(srv *testServer, n int) []Target {
	targets := make([]Target, n)
	for i := range targets {
		path := fmt.Sprintf("/proj/repo%d.git", i)
		srv.addRepo(path, fakeRepo{refs: []string{"refs/heads/main"}})
		targets[i] = Target{Remote: fmt.Sprint("r", i), URL: srv.url(path)}
	}
	return targets
}

func TestTargetsShareConnections(t *testing.T) {
	srv, key, kh := fixture(t)
	targets := manyTargets(srv, 20)
	res := Verify(context.Background(), targets, Options{Signer: key, KnownHostsFile: kh, Write: true})
	for i, r := range res {
		wantStatus(t, r, StatusOK)
		if r.Target.Remote != targets[i].Remote {
			t.Fatalf("result %d is for %q, want %q: order not kept", i, r.Target.Remote, targets[i].Remote)
		}
	}
	if n := srv.accepts.Load(); n != 1 {
		t.Errorf("20 targets used %d connections, want 1 (10 sessions at a time, the rest wait)", n)
	}
	srv.mu.Lock()
	maxActive := srv.maxActive
	srv.mu.Unlock()
	if maxActive < 2 {
		t.Errorf("sessions never ran concurrently on a connection (max %d)", maxActive)
	}

	before := srv.accepts.Load()
	res = Verify(context.Background(), targets, Options{Signer: key, KnownHostsFile: kh, MaxSessionsPerConn: 20})
	for _, r := range res {
		wantStatus(t, r, StatusOK)
	}
	if n := srv.accepts.Load() - before; n != 1 {
		t.Errorf("20 targets with 20 sessions per connection used %d connections, want 1", n)
	}

	// 30 targets and whoami at 5 sessions a time are 7 rounds: a second
	// connection for rounds 4 to 6, a third for the last.
	before = srv.accepts.Load()
	res = Verify(context.Background(), manyTargets(srv, 30), Options{Signer: key, KnownHostsFile: kh, MaxSessionsPerConn: 5})
	for _, r := range res {
		wantStatus(t, r, StatusOK)
	}
	if n := srv.accepts.Load() - before; n != 3 {
		t.Errorf("30 targets with 5 sessions per connection used %d connections, want 3", n)
	}
}

// OpenSSH frees a closed session's slot a moment later, so a channel
// opened right behind a close is refused although we are within the
// limit. That is no reason for another connection: after a round trip
// the slot is free again.
func TestLaggingSlotsKeepOneConnection(t *testing.T) {
	srv, key, kh := fixture(t)
	srv.set(func(s *testServer) { s.maxSessions, s.lagging = 3, true })
	targets := manyTargets(srv, 6)
	res := Verify(context.Background(), targets, Options{Signer: key, KnownHostsFile: kh, MaxSessionsPerConn: 3})
	for _, r := range res {
		wantStatus(t, r, StatusOK)
	}
	if srv.refusals.Load() == 0 {
		t.Fatal("no channel was refused: the test did not exercise lagging slots")
	}
	if n := srv.accepts.Load(); n != 1 {
		t.Errorf("used %d connections, want 1", n)
	}
}

// A server that allows fewer sessions than we assume refuses channels;
// they are retried on other connections, and every target is ok.
func TestChannelRefusalRetried(t *testing.T) {
	srv, key, kh := fixture(t)
	srv.set(func(s *testServer) { s.maxSessions = 2 })
	targets := manyTargets(srv, 12)
	res := Verify(context.Background(), targets, Options{Signer: key, KnownHostsFile: kh, Write: true})
	for _, r := range res {
		wantStatus(t, r, StatusOK)
	}
	if srv.refusals.Load() == 0 {
		t.Error("the server never refused a channel: the test proves nothing")
	}
	if n := srv.accepts.Load(); n < 2 {
		t.Errorf("only %d connection(s): refusals were not moved to another connection", n)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.maxActive > 2 {
		t.Errorf("server saw %d concurrent sessions with a limit of 2", srv.maxActive)
	}
}

func TestUnreachableAndBadURL(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	key := newSigner(t, "ed25519")
	kh := filepath.Join(t.TempDir(), "known_hosts")
	targets := []Target{
		{URL: fmt.Sprintf("ssh://git@127.0.0.1:%d/proj/repo.git", port)},
		{URL: "https://bitbucket.example.com/scm/proj/repo.git"},
		{URL: "/local/path"},
		{Remote: "empty"},
	}
	res := Verify(context.Background(), targets, Options{Signer: key, KnownHostsFile: kh, Timeout: 5 * time.Second})
	wantStatus(t, res[0], StatusUnreachable)
	for _, r := range res[1:] {
		wantStatus(t, r, StatusBadURL)
	}
	if !strings.Contains(res[1].Message, "SSH clone URL") {
		t.Errorf("https message %q", res[1].Message)
	}

	res = Verify(context.Background(), targets[:1], Options{KnownHostsFile: kh})
	wantStatus(t, res[0], StatusKeyError)
}

func TestDialOptionAndUser(t *testing.T) {
	srv, key, kh := fixture(t)
	var dialed atomic.Int32
	opts := Options{Signer: key, KnownHostsFile: kh, User: "bbuser",
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dialed.Add(1)
			var d net.Dialer
			return d.DialContext(ctx, network, addr)
		}}
	r := one(t, srv, "/proj/repo.git", opts)
	wantStatus(t, r, StatusOK)
	if dialed.Load() != 1 {
		t.Errorf("custom Dial used %d times", dialed.Load())
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, u := range srv.users {
		if u != "bbuser" {
			t.Errorf("server saw user %q, want bbuser", u)
		}
	}
	if len(srv.users) == 0 {
		t.Error("no authentication seen")
	}
}

func TestCancelledContext(t *testing.T) {
	srv, key, kh := fixture(t)
	srv.set(func(s *testServer) { s.silent = true })
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	res := Verify(ctx, []Target{{URL: srv.url("/proj/repo.git")}}, Options{Signer: key, KnownHostsFile: kh, Timeout: time.Minute})
	wantStatus(t, res[0], StatusTimeout)
	if !strings.Contains(res[0].Message, "interrupted") {
		t.Errorf("message %q", res[0].Message)
	}
}

func TestKnownHostLine(t *testing.T) {
	k := newSigner(t, "ed25519").PublicKey()
	blob := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k)))
	for _, c := range []struct {
		host string
		port int
		want string
	}{
		{"bitbucket.example.com", 22, "bitbucket.example.com " + blob},
		{"bitbucket.example.com", 7999, "[bitbucket.example.com]:7999 " + blob},
		{"::1", 22, "::1 " + blob},
		{"::1", 7999, "[::1]:7999 " + blob},
	} {
		if got := hostLine(c.host, c.port, k); got != c.want {
			t.Errorf("hostLine(%q, %d) = %q, want %q", c.host, c.port, got, c.want)
		}
	}
}

// A remote whose pushes go elsewhere (pushurl) is checked for writing
// there, and for reading where it fetches from.
func TestPushElsewhere(t *testing.T) {
	srv, key, kh := fixture(t)
	srv.addRepo("/proj/ro.git", fakeRepo{refs: repoRefs, readOnly: true})
	srv.addRepo("/me/fork.git", fakeRepo{refs: repoRefs})
	other := startServer(t)
	other.authorize(key.PublicKey())
	other.addRepo("/team/repo.git", fakeRepo{refs: repoRefs})
	writeFile(t, kh, readFile(t, kh)+hostLine(other.host, other.port, other.hostSigners[0].PublicKey())+"\n")
	opts := Options{Signer: key, KnownHostsFile: kh, Write: true}

	// Read-only where it fetches, writable where it pushes: ok.
	r := Verify(context.Background(), []Target{{URL: srv.url("/proj/ro.git"), Push: &Target{URL: srv.url("/me/fork.git")}}}, opts)[0]
	wantStatus(t, r, StatusOK)
	if r.Write == nil || !*r.Write || !strings.Contains(r.Message, "write access to /me/fork.git") {
		t.Errorf("write %v, message %q", r.Write, r.Message)
	}
	// The other way round: no-write-access, naming the push URL.
	r = Verify(context.Background(), []Target{{URL: srv.url("/me/fork.git"), Push: &Target{URL: srv.url("/proj/ro.git")}}}, opts)[0]
	wantStatus(t, r, StatusNoWriteAccess)
	if !strings.Contains(r.Message, "not write /proj/ro.git") || !strings.Contains(r.Message, "(the push URL)") {
		t.Errorf("message %q", r.Message)
	}
	// Pushes to another server: its own connection, host key and verdict.
	r = Verify(context.Background(), []Target{{URL: srv.url("/proj/ro.git"), Push: &Target{URL: other.url("/team/repo.git")}}}, opts)[0]
	wantStatus(t, r, StatusOK)
	if other.accepts.Load() != 1 {
		t.Errorf("the push server saw %d connections, want 1", other.accepts.Load())
	}
	r = Verify(context.Background(), []Target{{URL: srv.url("/proj/repo.git"), Push: &Target{URL: other.url("/team/none.git")}}}, opts)[0]
	wantStatus(t, r, StatusNoWriteAccess)
	writeFile(t, kh, hostLine(srv.host, srv.port, srv.hostSigners[0].PublicKey())+"\n")
	r = Verify(context.Background(), []Target{{URL: srv.url("/proj/repo.git"), Push: &Target{URL: other.url("/team/repo.git")}}}, opts)[0]
	wantStatus(t, r, StatusHostUnknown)
	if !strings.HasPrefix(r.Message, "the push URL "+other.url("/team/repo.git")+": ") {
		t.Errorf("message %q", r.Message)
	}
	// Without --write the push URL is not contacted.
	before := other.accepts.Load()
	r = Verify(context.Background(), []Target{{URL: srv.url("/proj/repo.git"), Push: &Target{URL: other.url("/team/repo.git")}}}, Options{Signer: key, KnownHostsFile: kh})[0]
	wantStatus(t, r, StatusOK)
	if other.accepts.Load() != before {
		t.Error("the push server was contacted without --write")
	}
}

// Targets that fetch from one server and push to the other, both ways,
// with one session per connection: no target holds one server's slot
// while it waits for the other's.
func TestPushCrossedNoDeadlock(t *testing.T) {
	a, key, kh := fixture(t)
	b := startServer(t)
	b.authorize(key.PublicKey())
	b.addRepo("/proj/repo.git", fakeRepo{refs: repoRefs})
	writeFile(t, kh, readFile(t, kh)+hostLine(b.host, b.port, b.hostSigners[0].PublicKey())+"\n")
	var targets []Target
	for i := 0; i < 4; i++ {
		targets = append(targets,
			Target{URL: a.url("/proj/repo.git"), Push: &Target{URL: b.url("/proj/repo.git")}},
			Target{URL: b.url("/proj/repo.git"), Push: &Target{URL: a.url("/proj/repo.git")}})
	}
	res := Verify(context.Background(), targets, Options{Signer: key, KnownHostsFile: kh, Write: true, MaxSessionsPerConn: 1, Timeout: 10 * time.Second})
	for _, r := range res {
		wantStatus(t, r, StatusOK)
	}
}
