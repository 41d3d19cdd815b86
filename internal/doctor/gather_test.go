package doctor

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/gitremote"
	"github.com/git-bbkey/git-bbkey/internal/openssh"
	"github.com/git-bbkey/git-bbkey/internal/safefile"
	"github.com/git-bbkey/git-bbkey/internal/sshagent"
	"github.com/git-bbkey/git-bbkey/internal/sshkeys"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// fakeWorld answers as the programs, the repository and the server
// would, and records what it was asked. No process, no network.
type fakeWorld struct {
	settings map[string]*openssh.Settings // by host
	remotes  []gitremote.Remote
	server   *fakeServer
	agent    []ssh.PublicKey
	asked    []string
}

func (w *fakeWorld) SSHCommand(context.Context) (openssh.Command, error) {
	return openssh.Command{Text: "ssh", Variant: openssh.VariantSSH, Words: []string{"ssh"}}, nil
}
func (w *fakeWorld) LookPath(name string) (string, error) { return "/usr/bin/" + name, nil }
func (w *fakeWorld) SSHVersion(context.Context, string) (string, error) {
	return "OpenSSH_9.2p1 Debian-2+deb12u3, OpenSSL 3.0.15 3 Sep 2024\n", nil
}
func (w *fakeWorld) SSHSettings(_ context.Context, t openssh.Target) (*openssh.Settings, error) {
	w.asked = append(w.asked, "ssh -G "+t.String())
	if s := w.settings[t.Host]; s != nil {
		return s, nil
	}
	return nil, &openssh.SSHError{Argv: []string{"ssh", "-G", t.Host}, ExitCode: 255, Stderr: "no settings"}
}
func (w *fakeWorld) Agent(context.Context) (string, []ssh.PublicKey, error) {
	if w.agent == nil {
		return "", nil, &sshagent.DialError{NoAgent: true, Err: sshagent.ErrNoAgent}
	}
	return "/tmp/agent.sock", w.agent, nil
}
func (w *fakeWorld) Remotes(context.Context) ([]gitremote.Remote, error) {
	if w.remotes == nil {
		return nil, fmt.Errorf("open: %w", gitremote.ErrNotRepository)
	}
	return w.remotes, nil
}
func (w *fakeWorld) Server(context.Context) (Server, error) {
	if w.server == nil {
		return nil, nil
	}
	return w.server, nil
}

type fakeServer struct {
	settingsErr error
	hostKey     ssh.PublicKey
	registered  map[string]bool
	repos       map[string]bool // "proj/slug"
	asked       []string
}

func (s *fakeServer) Base() string { return "https://bb.example.com" }
func (s *fakeServer) Settings(context.Context) (*bitbucket.Settings, error) {
	s.asked = append(s.asked, "settings")
	if s.settingsErr != nil {
		return nil, s.settingsErr
	}
	return &bitbucket.Settings{Enabled: true, Port: 7999, Fingerprint: ssh.FingerprintSHA256(s.hostKey)}, nil
}
func (s *fakeServer) SettingsWithCredentials() bool { return true }
func (s *fakeServer) SSHAddress(context.Context) (bbsession.SSHAddress, error) {
	return bbsession.SSHAddress{Host: "bb.example.com", Port: 7999, User: "git"}, nil
}
func (s *fakeServer) PublishedHostKey(_ context.Context, host string) (bbsession.HostKey, error) {
	s.asked = append(s.asked, "host key "+host)
	return bbsession.HostKey{Fingerprint: ssh.FingerprintSHA256(s.hostKey), Trusted: host == "bb.example.com"}, nil
}
func (s *fakeServer) Authenticate(context.Context) error { return nil }
func (s *fakeServer) Registered(_ context.Context, fps []string) (map[string]bool, error) {
	s.asked = append(s.asked, fmt.Sprintf("registered %d", len(fps)))
	return s.registered, nil
}
func (s *fakeServer) AccessKeys(_ context.Context, scope bitbucket.Scope) ([]bitbucket.AccessKey, error) {
	s.asked = append(s.asked, "access keys "+scope.String())
	return nil, nil
}
func (s *fakeServer) Repository(_ context.Context, project, slug string) (bool, error) {
	s.asked = append(s.asked, "repository "+project+"/"+slug)
	if !s.repos[project+"/"+slug] {
		return true, &bitbucket.Error{StatusCode: 404, Kind: bitbucket.KindNotFound}
	}
	return true, nil
}

const windows = runtime.GOOS == "windows"

// onlyPortable leaves out, on Windows, the checks of private key ACLs:
// Wine does not store a file's DACL (safefile's tests say so and check
// the ACL on Windows itself).
func onlyPortable(checks []Check) []Check {
	if !windows {
		return checks
	}
	var out []Check
	for _, c := range checks {
		if c.Name != "key-mode" {
			out = append(out, c)
		}
	}
	return out
}

// writeKey writes a new unencrypted ed25519 pair at path.
func writeKey(t *testing.T, path string) ssh.PublicKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := sshkeys.MarshalPrivateKey(priv, "t@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := ssh.NewPublicKey(priv.Public())
	// As git-bbkey writes keys: on Windows with the owner-only ACL that
	// OpenSSH demands.
	if _, err := safefile.MkdirPrivate(filepath.Dir(path)); err != nil {
		t.Fatal(err)
	}
	if err := safefile.WriteNew(path, pem, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".pub", sshkeys.MarshalPublicKey(pub, "t@example.com"), 0o644); err != nil {
		t.Fatal(err)
	}
	return pub
}

// Gather asks each program and the server once for what matters: the
// settings of each remote's host, the key ssh offers (also outside
// ~/.ssh), its registration and the repositories of the remotes on the
// server, never those elsewhere.
func TestGatherAsksWhatMatters(t *testing.T) {
	dir := t.TempDir()
	h := filepath.Join(dir, "home")
	writeKey(t, filepath.Join(h, ".ssh", "id_ed25519"))
	work := filepath.Join(dir, "keys", "work_key")
	workPub := writeKey(t, work)
	hostKey := newKey(t)
	kh := filepath.Join(dir, "known_hosts")
	line := "[bb.example.com]:7999 " + strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostKey))) // as ssh writes it
	if err := os.WriteFile(kh, []byte(line+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bb := &openssh.Settings{Hostname: "bb.example.com", Port: 7999, User: "git", Variant: openssh.VariantSSH,
		IdentityFiles: []openssh.File{file(work)}, UserKnownHostsFiles: []openssh.File{file(kh)}, AccountHome: h, Home: h}
	hub := &openssh.Settings{Hostname: "github.com", Port: 22, User: "git", Variant: openssh.VariantSSH, AccountHome: h, Home: h}
	srv := &fakeServer{hostKey: hostKey, registered: map[string]bool{}, repos: map[string]bool{"proj/demo": true}}
	w := &fakeWorld{settings: map[string]*openssh.Settings{"bb.example.com": bb, "github.com": hub}, server: srv,
		remotes: []gitremote.Remote{
			{Name: "origin", URLs: []string{"ssh://git@bb.example.com:7999/proj/demo.git"}},
			{Name: "web", URLs: []string{"https://bb.example.com/scm/proj/gone.git"}},
			{Name: "hub", URLs: []string{"git@github.com:octo/demo.git"}},
		}}
	var steps []string
	f := Gather(context.Background(), Options{World: w, Home: h, Windows: windows, Key: KeyChoice{Path: filepath.Join(h, ".ssh", "id_ed25519")},
		Progress: func(s string) { steps = append(steps, s) }})

	if want := []string{"ssh -G git@bb.example.com:7999", "ssh -G git@github.com"}; !slices.Equal(w.asked, want) {
		t.Errorf("asked ssh %q, want %q", w.asked, want)
	}
	if want := []string{"settings", "host key bb.example.com", "repository proj/demo", "repository proj/gone", "registered 1",
		"access keys proj/demo", "access keys proj/gone", "access keys proj"}; !slices.Equal(srv.asked, want) {
		t.Errorf("asked the server %q, want %q", srv.asked, want)
	}
	if len(steps) == 0 || !slices.Contains(steps, "waiting for Bitbucket") {
		t.Errorf("progress: %q", steps)
	}
	k := f.keyAt(work)
	if k == nil || !k.Named || k.Fingerprint != sshkeys.Fingerprint(workPub) {
		t.Fatalf("the offered key outside ~/.ssh: %+v", k)
	}
	reach := map[string]Reach{}
	for _, r := range f.Remotes {
		reach[r.Name] = r.Reach
	}
	if reach["origin"] != ReachYes || reach["web"] != ReachYes || reach["hub"] != ReachNo {
		t.Errorf("reach: %v", reach)
	}
	if e := f.Remotes[0].Endpoint; len(e.KnownHosts.Usable()) != 1 || !e.Published.Trusted {
		t.Errorf("known hosts of origin: %+v, published %+v", e.KnownHosts, e.Published)
	}
	checks := onlyPortable(Checks(f))
	var got []string
	for _, c := range checks {
		if c.Status == Fail {
			got = append(got, c.Name+"/"+fmt.Sprint(c.Kind))
		}
	}
	if want := []string{"key-registered/" + fmt.Sprint(KeyNotRegistered), "repo/" + fmt.Sprint(RepoMissing)}; !slices.Equal(got, want) {
		t.Errorf("failed checks %q, want %q:%s", got, want, dump(checks))
	}
}

// Outside a repository and without a server, nothing is asked of ssh or
// of a server, and the checks that need them say so.
func TestGatherWithoutRepositoryOrServer(t *testing.T) {
	h := t.TempDir()
	writeKey(t, filepath.Join(h, ".ssh", "id_ed25519"))
	w := &fakeWorld{}
	f := Gather(context.Background(), Options{World: w, Home: h, Windows: windows, Key: KeyChoice{Path: filepath.Join(h, ".ssh", "id_ed25519")}})
	if len(w.asked) != 0 || f.Address != nil || f.Agent.Running {
		t.Errorf("asked %q, address %+v, agent %+v", w.asked, f.Address, f.Agent)
	}
	checks := onlyPortable(Checks(f))
	for name, st := range map[string]Status{"server": Skip, "known-hosts": Skip, "remote": Skip, "agent": Skip} {
		if got := find(checks, name); len(got) != 1 || got[0].Status != st {
			t.Errorf("%s: %+v", name, got)
		}
	}
	if !(Report{Checks: checks}).OK() {
		t.Errorf("failed:%s", dump(checks))
	}
}

// The facts about key files come from the files: OpenSSH's refusals
// (mode, CRLF), with ssh-keygen as the oracle.
func TestGatherKeyFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("file modes: the Windows ACL is safefile's test")
	}
	h := t.TempDir()
	dir := filepath.Join(h, ".ssh")
	loose, crlf := filepath.Join(dir, "id_ed25519"), filepath.Join(dir, "id_crlf")
	writeKey(t, loose)
	writeKey(t, crlf)
	if err := os.Chmod(loose, 0o644); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(crlf)
	if err := os.WriteFile(crlf, []byte(strings.ReplaceAll(string(b), "\n", "\r\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	f := Gather(context.Background(), Options{World: &fakeWorld{}, Home: h})
	if k := f.keyAt(loose); k == nil || k.Unprotected == nil || k.Unprotected.Mode != 0o644 || k.NotLoadable != nil {
		t.Errorf("0644 key: %+v", k)
	}
	if k := f.keyAt(crlf); k == nil || k.NotLoadable == nil || k.NotLoadable.Reason != sshkeys.LoadLineEndings || k.Unprotected != nil {
		t.Errorf("CRLF key: %+v", k)
	}
	testutil.RequireTool(t, "ssh-keygen")
	for _, p := range []string{loose, crlf} {
		if out, err := exec.Command("ssh-keygen", "-y", "-f", p).CombinedOutput(); err == nil {
			t.Errorf("ssh-keygen loads %s, which doctor says OpenSSH refuses: %s", p, out)
		}
	}
}

// A server that does not answer is asked once: the checks that need it
// say the server failed, instead of each waiting in turn.
func TestGatherStopsAtAnUnreachableServer(t *testing.T) {
	h := t.TempDir()
	writeKey(t, filepath.Join(h, ".ssh", "id_ed25519"))
	srv := &fakeServer{settingsErr: &bitbucket.RequestError{Base: "https://bb.example.com", Err: context.DeadlineExceeded}}
	w := &fakeWorld{server: srv, settings: map[string]*openssh.Settings{"bb.example.com": {Hostname: "bb.example.com", Port: 7999, Variant: openssh.VariantSSH}},
		remotes: []gitremote.Remote{{Name: "origin", URLs: []string{"ssh://git@bb.example.com:7999/proj/demo.git"}}}}
	f := Gather(context.Background(), Options{World: w, Home: h, Windows: windows, Key: KeyChoice{Path: filepath.Join(h, ".ssh", "id_ed25519")}})
	if !slices.Equal(srv.asked, []string{"settings"}) {
		t.Errorf("asked the server %q", srv.asked)
	}
	checks := Checks(f)
	if c := find(checks, "server"); len(c) != 1 || c[0].Kind != ServerUnreachable || c[0].Cause == nil {
		t.Errorf("server: %+v", c)
	}
	if c := find(checks, "key-registered"); len(c) != 0 {
		t.Errorf("registration judged without the server: %+v", c)
	}
}
