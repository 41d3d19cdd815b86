package register_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/register"
)

const (
	aliceToken = "alice-token-SECRET"
	bobToken   = "bob-token-SECRET"
)

// startSandbox: alice administers PROJ (repos demo, other), bob reads it.
// REST only: no git is needed.
func startSandbox(t *testing.T) *bbsandbox.Server {
	t.Helper()
	s := bbsandbox.StartTest(t, bbsandbox.Config{
		RESTOnly: true,
		Users: []bbsandbox.User{
			{Name: "alice", Password: "alice-pw", Tokens: []string{aliceToken}},
			{Name: "bob", Password: "bob-pw", Tokens: []string{bobToken}},
		},
		Projects: []bbsandbox.Project{{Key: "PROJ", Repos: []string{"demo", "other"}, Admins: []string{"alice"}, Readers: []string{"bob"}}},
		DataDir:  t.TempDir(),
		Logf:     t.Logf,
	})
	return s
}

// session is a session with s as the user of token (BITBUCKET_TOKEN). It
// reads no git config (there is none to read), so no git is needed.
func session(t *testing.T, s *bbsandbox.Server, token string) *bbsession.Session {
	t.Helper()
	home := t.TempDir()
	env := []string{"HOME=" + home, "BITBUCKET_TOKEN=" + token}
	ss := bbsession.New(bbsession.Config{Env: env, Dir: home, UserAgent: "git-bbkey/test", Timeout: 5 * time.Second})
	sess, err := ss.For(context.Background(), s.URL())
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

func newKey(t *testing.T, comment string) register.Key {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return register.Key{Public: sp, Comment: comment}
}

// userKeyID is the id under which the sandbox holds key for user (0: none).
func userKeyID(s *bbsandbox.Server, user string, key register.Key) int {
	for _, k := range s.UserKeys(user) {
		if k.Fingerprint == key.Fingerprint() {
			return k.ID
		}
	}
	return 0
}

// grant is the permission key has on target ("PROJ" or "PROJ/slug").
func grant(s *bbsandbox.Server, key register.Key, target string) string {
	for _, k := range s.AccessKeys() {
		if k.Fingerprint != key.Fingerprint() {
			continue
		}
		for _, g := range k.Grants {
			if t := strings.TrimSuffix(g.Project+"/"+g.Repo, "/"); strings.EqualFold(t, target) {
				return g.Permission
			}
		}
	}
	return ""
}

func TestAddUserKey(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	alice := session(t, s, aliceToken)
	key := newKey(t, "alice@example.com")

	r := register.AddUserKey(ctx, alice, key, register.UserKeyOptions{Label: "laptop", ExpiryDays: 30})
	if r.Status != register.Added || r.Err != nil || r.ID == 0 || r.ID != userKeyID(s, "alice", key) || r.Kind != register.UserKey || r.Fingerprint != key.Fingerprint() {
		t.Fatalf("first add: %+v", r)
	}
	if k := s.UserKeys("alice")[0]; k.Label != "laptop" || k.ExpiryDays != 30 {
		t.Errorf("stored %+v: label and expiry did not reach the server", k)
	}
	// Again, with another comment: already there, nothing sent.
	posts := len(s.Requests())
	again := register.AddUserKey(ctx, alice, register.Key{Public: key.Public, Comment: "other"}, register.UserKeyOptions{})
	if again.Status != register.AlreadyPresent || again.ID != r.ID {
		t.Errorf("second add: %+v", again)
	}
	if n := len(s.Requests()) - posts; n != 1 {
		t.Errorf("second add made %d requests, want 1 listing", n)
	}
	// bob cannot take alice's key: a 409, explained.
	var ce *register.ConflictError
	if r := register.AddUserKey(ctx, session(t, s, bobToken), key, register.UserKeyOptions{}); r.Status != register.Failed || !errors.As(r.Err, &ce) || ce.Kind != register.UserKey {
		t.Errorf("bob adding alice's key: %+v", r)
	}
}

// A registration counts only when the answer, or a listing, shows the key.
func TestAddUserKeyIsConfirmed(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	alice := session(t, s, aliceToken)

	// The server stores the key but answers {}: the listing confirms it.
	s.SetFaults(bbsandbox.Faults{EmptyAnswers: true})
	key := newKey(t, "a")
	if r := register.AddUserKey(ctx, alice, key, register.UserKeyOptions{}); r.Status != register.Added || r.ID == 0 || r.ID != userKeyID(s, "alice", key) {
		t.Errorf("{} answer, key stored: %+v", r)
	}
	// The server answers {} (201) and stores nothing: not "registered (id 0)".
	s.SetFaults(bbsandbox.Faults{EmptyAnswers: true, LoseWrites: true})
	key = newKey(t, "b")
	r := register.AddUserKey(ctx, alice, key, register.UserKeyOptions{})
	var ue *register.UnconfirmedError
	if r.Status != register.Failed || !errors.As(r.Err, &ue) || ue.Fingerprint != key.Fingerprint() || userKeyID(s, "alice", key) != 0 {
		t.Errorf("{} answer, nothing stored: %+v", r)
	}
	// It answers with the key but stores nothing: the answer is enough.
	s.SetFaults(bbsandbox.Faults{LoseWrites: true})
	if r := register.AddUserKey(ctx, alice, newKey(t, "c"), register.UserKeyOptions{}); r.Status != register.Added || r.ID == 0 {
		t.Errorf("answer with the key: %+v", r)
	}
}

func TestVersionGatesStopBeforeSending(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	alice := session(t, s, aliceToken)
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPub, _ := ssh.NewPublicKey(&priv.PublicKey)
	s.SetVersion("7.9.0")
	r := register.AddUserKey(ctx, alice, register.Key{Public: ecPub}, register.UserKeyOptions{})
	var ue *bbsession.UnsupportedError
	if !errors.As(r.Err, &ue) || ue.Feature != bbsession.FeatureECDSAKeys {
		t.Errorf("ECDSA on 7.9: %+v", r)
	}
	rs := register.AddAccessKeys(ctx, alice, newKey(t, "ci"), []bitbucket.Scope{{Project: "PROJ", Slug: "demo"}}, register.AccessKeyOptions{ExpiryDays: 5})
	if !errors.As(rs[0].Err, &ue) || ue.Feature != bbsession.FeatureKeyExpiry {
		t.Errorf("expiry on 7.9: %+v", rs[0])
	}
	for _, req := range s.Requests() {
		if req.Method == "POST" {
			t.Errorf("a key was sent to an old server: %s", req.Path)
		}
	}
}

func TestRemoveFindAndRegistered(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	alice := session(t, s, aliceToken)
	a, b, local := newKey(t, "a"), newKey(t, "b"), newKey(t, "local only")
	for _, k := range []register.Key{a, b} {
		if r := register.AddUserKey(ctx, alice, k, register.UserKeyOptions{Label: k.Comment}); r.Err != nil {
			t.Fatal(r.Err)
		}
	}
	reg, others, err := register.Registered(ctx, alice, []string{a.Fingerprint(), local.Fingerprint()})
	if err != nil || !reg[a.Fingerprint()] || reg[local.Fingerprint()] || len(others) != 1 || register.Fingerprint(others[0]) != b.Fingerprint() {
		t.Fatalf("Registered = %v, %+v, %v", reg, others, err)
	}
	for _, sel := range []register.Selector{{ID: userKeyID(s, "alice", a)}, {Fingerprint: a.Fingerprint()}, {Key: a.Public}} {
		found, err := register.FindUserKeys(ctx, alice, sel)
		if err != nil || len(found) != 1 || found[0].ID != userKeyID(s, "alice", a) {
			t.Errorf("FindUserKeys(%s) = %+v, %v", sel, found, err)
		}
	}
	if found, err := register.FindUserKeys(ctx, alice, register.Selector{Key: local.Public}); err != nil || len(found) != 0 {
		t.Errorf("a key that is not registered: %+v, %v", found, err)
	}
	found, _ := register.FindUserKeys(ctx, alice, register.Selector{Key: b.Public})
	r := register.RemoveUserKey(ctx, alice, found[0])
	if r.Status != register.Removed || r.Fingerprint != b.Fingerprint() || r.Label != "b" || userKeyID(s, "alice", b) != 0 {
		t.Errorf("RemoveUserKey = %+v", r)
	}
	// A server where tokens may not change an account's keys: the refusal
	// says so, and the key stays.
	s.SetTokensCanManageUserKeys(false)
	found, _ = register.FindUserKeys(ctx, alice, register.Selector{Key: a.Public})
	var de *bbsession.DeniedError
	if r := register.RemoveUserKey(ctx, alice, found[0]); r.Status != register.Failed || !errors.As(r.Err, &de) ||
		de.Cause != bbsession.DeniedTokenMayNotManage || userKeyID(s, "alice", a) == 0 {
		t.Errorf("removing with a token that may not: %+v", r)
	}
}
