package bbsandbox

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

const (
	alicePW    = "alice-secret"
	aliceToken = "BBDC-alice-token"
	bobPW      = "bob-secret"
	adminPW    = "admin-secret"
)

// startSandbox starts a sandbox with alice (admin of PROJ, owner of
// ~alice), bob (reader of PROJ, writer of OTHER) and admin (system admin).
func startSandbox(t *testing.T, mutate func(*Config)) *Server {
	t.Helper()
	git := testutil.RequireTool(t, "git")
	cfg := Config{
		ContextPath: "/bitbucket",
		Users: []User{
			{Name: "alice", Password: alicePW, Tokens: []string{aliceToken}},
			{Name: "bob", Password: bobPW},
			{Name: "admin", Password: adminPW, Admin: true},
		},
		Projects: []Project{
			{Key: "PROJ", Name: "Project", Repos: []string{"demo", "other"}, Admins: []string{"alice"}, Readers: []string{"bob"}},
			{Key: "OTHER", Repos: []string{"tools"}, Writers: []string{"bob"}},
			{Key: "~alice", Repos: []string{"dotfiles"}},
		},
		DataDir: t.TempDir(),
		Git:     git,
		Logf:    t.Logf,
	}
	if mutate != nil {
		mutate(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel() // bounds the start only
	s, err := Start(ctx, cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// auth is how a test request authenticates.
type auth struct{ user, secret, bearer string }

var (
	asAlice = auth{user: "alice", secret: alicePW}
	asBob   = auth{user: "bob", secret: bobPW}
	asAdmin = auth{user: "admin", secret: adminPW}
	anon    = auth{}
)

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response is not JSON (%d): %v: %s", r.status, err, r.body)
	}
	return m
}

// errorMessage returns errors[0].message and exceptionName of an envelope.
func (r response) errorOf(t *testing.T) (string, string) {
	t.Helper()
	errs, _ := r.json(t)["errors"].([]any)
	if len(errs) == 0 {
		t.Fatalf("no error envelope: %s", r.body)
	}
	e := errs[0].(map[string]any)
	msg, _ := e["message"].(string)
	exc, _ := e["exceptionName"].(string)
	return msg, exc
}

func call(t *testing.T, s *Server, client *http.Client, method, path string, a auth, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("X-Atlassian-Token", "no-check")
	req.Header.Set("User-Agent", "bbsandbox-test")
	switch {
	case a.bearer != "":
		req.Header.Set("Authorization", "Bearer "+a.bearer)
	case a.user != "":
		req.SetBasicAuth(a.user, a.secret)
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

func do(t *testing.T, s *Server, method, path string, a auth, body any) response {
	t.Helper()
	return call(t, s, nil, method, path, a, body)
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
}

// newEd25519 returns a fresh key pair as an ssh.Signer and its
// authorized_keys text with comment.
func newEd25519(t *testing.T, comment string) (ssh.Signer, string) {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.TrimSpace(string(ssh.MarshalAuthorizedKey(signer.PublicKey())))
	if comment != "" {
		text += " " + comment
	}
	return signer, text
}
