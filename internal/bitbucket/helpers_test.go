package bitbucket_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

// Secrets of the sandbox users; tests check that none is ever shown.
const (
	alicePW    = "alice-pw-SECRET-456"
	aliceToken = "alice-tok-SECRET-123"
	bobPW      = "bob-pw-SECRET-789"
)

// startSandbox starts the Bitbucket stand-in, REST only (no git needed):
// alice administers PROJ, bob reads it; ~alice is alice's personal project.
func startSandbox(t *testing.T, mutate ...func(*bbsandbox.Config)) *bbsandbox.Server {
	t.Helper()
	cfg := bbsandbox.Config{
		RESTOnly: true,
		Users: []bbsandbox.User{
			{Name: "alice", Password: alicePW, Tokens: []string{aliceToken}},
			{Name: "bob", Password: bobPW},
		},
		Projects: []bbsandbox.Project{
			{Key: "PROJ", Name: "Project", Repos: []string{"demo", "other"}, Admins: []string{"alice"}, Readers: []string{"bob"}},
			{Key: "~alice", Repos: []string{"dots.and-dash"}},
		},
		PageLimit: 25,
		DataDir:   t.TempDir(),
		Logf:      t.Logf,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	return bbsandbox.StartTest(t, cfg)
}

// recordSleep replaces the retry sleep and remembers the waits.
type recordSleep struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (s *recordSleep) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.waits = append(s.waits, d)
	return nil
}

func (s *recordSleep) got() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

func newClient(t *testing.T, base string, auth bitbucket.Auth, mod ...func(*bitbucket.Options)) *bitbucket.Client {
	t.Helper()
	opts := bitbucket.Options{BaseURL: base, Auth: auth, UserAgent: "git-bbkey/test", Timeout: 5 * time.Second,
		Sleep: (&recordSleep{}).sleep}
	for _, m := range mod {
		m(&opts)
	}
	c, err := bitbucket.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func alice() bitbucket.Auth { return bitbucket.Basic("alice", alicePW) }

// newKey is a fresh ed25519 public key line.
func newKey(t *testing.T, comment string) string {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))) + " " + comment
}

func wantKind(t *testing.T, err error, kind bitbucket.ErrorKind, contains ...string) *bitbucket.Error {
	t.Helper()
	var e *bitbucket.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *Error of kind %d, got %v", kind, err)
	}
	if e.Kind != kind {
		t.Fatalf("kind = %d, want %d (%v)", e.Kind, kind, err)
	}
	msg := err.Error()
	for _, s := range contains {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q does not contain %q", msg, s)
		}
	}
	checkWording(t, err)
	return e
}

// checkWording: errors start lowercase and have no final period.
func checkWording(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if msg == "" || msg != strings.ToLower(msg[:1])+msg[1:] || strings.HasSuffix(msg, ".") {
		t.Errorf("error %q: want lowercase start and no final period", msg)
	}
}

// requests counts the sandbox requests with method whose path ends with suffix.
func requests(s *bbsandbox.Server, method, suffix string) []bbsandbox.RequestRecord {
	var out []bbsandbox.RequestRecord
	for _, r := range s.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}
