package register_test

import (
	"context"
	"errors"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bbsession"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
	"github.com/git-bbkey/git-bbkey/internal/register"
)

var (
	demo  = bitbucket.Scope{Project: "PROJ", Slug: "demo"}
	other = bitbucket.Scope{Project: "PROJ", Slug: "other"}
	proj  = bitbucket.Scope{Project: "PROJ"}
)

func TestAddAccessKeys(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	alice := session(t, s, aliceToken)
	ci := newKey(t, "ci@example.com")

	rs := register.AddAccessKeys(ctx, alice, ci, []bitbucket.Scope{demo, proj, other}, register.AccessKeyOptions{ExpiryDays: 9})
	for i, want := range []struct {
		scope bitbucket.Scope
		kind  register.Kind
		perm  bitbucket.Permission
	}{{demo, register.RepoKey, bitbucket.RepoRead}, {proj, register.ProjectKey, bitbucket.ProjectRead}, {other, register.RepoKey, bitbucket.RepoRead}} {
		r := rs[i]
		if r.Status != register.Added || r.Scope != want.scope || r.Kind != want.kind || r.Permission != want.perm || r.ID == 0 || r.Err != nil {
			t.Errorf("result %d: %+v", i, r)
		}
		if got := grant(s, ci, want.scope.String()); got != string(want.perm) {
			t.Errorf("%s: the sandbox has %q", want.scope, got)
		}
	}
	if got := s.AccessKeys()[0].ExpiryDays; got != 9 {
		t.Errorf("expiry %d: --expiry-days did not reach the server for an access key", got)
	}

	// Write on demo, explicitly: updated.
	rs = register.AddAccessKeys(ctx, alice, ci, []bitbucket.Scope{demo}, register.AccessKeyOptions{Access: register.AccessWrite})
	if r := rs[0]; r.Status != register.Updated || r.Previous != bitbucket.RepoRead || r.Permission != bitbucket.RepoWrite || grant(s, ci, "PROJ/demo") != "REPO_WRITE" {
		t.Errorf("explicit write: %+v", r)
	}
	// Again without a permission: the write grant is left as it is
	// (issue 12: it used to be lowered to read).
	rs = register.AddAccessKeys(ctx, alice, ci, []bitbucket.Scope{demo}, register.AccessKeyOptions{})
	if r := rs[0]; r.Status != register.AlreadyPresent || r.Permission != bitbucket.RepoWrite || grant(s, ci, "PROJ/demo") != "REPO_WRITE" {
		t.Errorf("no permission asked: %+v, sandbox %s", r, grant(s, ci, "PROJ/demo"))
	}
	// Explicit read on it: updated back, and the same explicitly: present.
	rs = register.AddAccessKeys(ctx, alice, ci, []bitbucket.Scope{demo, other}, register.AccessKeyOptions{Access: register.AccessRead})
	if rs[0].Status != register.Updated || rs[1].Status != register.AlreadyPresent || grant(s, ci, "PROJ/demo") != "REPO_READ" {
		t.Errorf("explicit read: %+v", rs)
	}
}

func TestAccessKeyFailuresAreExplainedPerScope(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	alice, bob := session(t, s, aliceToken), session(t, s, bobToken)
	user := newKey(t, "alice")
	if r := register.AddUserKey(ctx, alice, user, register.UserKeyOptions{}); r.Err != nil {
		t.Fatal(r.Err)
	}
	// A user key cannot also be an access key.
	rs := register.AddAccessKeys(ctx, alice, user, []bitbucket.Scope{demo}, register.AccessKeyOptions{})
	var ce *register.ConflictError
	var se *register.ScopeError
	if !errors.As(rs[0].Err, &ce) || ce.Kind != register.RepoKey || !errors.As(rs[0].Err, &se) || se.Scope != demo {
		t.Errorf("user key as access key: %+v", rs[0])
	}
	// bob reads PROJ but is no admin; another scope of the same call
	// fails on its own.
	rs = register.AddAccessKeys(ctx, bob, newKey(t, "ci"), []bitbucket.Scope{demo, {Project: "NOPE"}}, register.AccessKeyOptions{})
	var de *bbsession.DeniedError
	if !errors.As(rs[0].Err, &de) || de.Cause != bbsession.DeniedNotAdmin {
		t.Errorf("bob: %+v", rs[0])
	}
	if !bitbucket.IsKind(rs[1].Err, bitbucket.KindNotFound) {
		t.Errorf("no such project: %+v", rs[1])
	}
	// Access keys switched off on the server.
	s.SetAccessKeysEnabled(false)
	rs = register.AddAccessKeys(ctx, alice, newKey(t, "ci"), []bitbucket.Scope{demo}, register.AccessKeyOptions{})
	if !errors.As(rs[0].Err, &de) || de.Cause != bbsession.DeniedAccessKeysOff {
		t.Errorf("access keys off: %+v", rs[0])
	}
}

func TestAccessKeysAreConfirmed(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	alice := session(t, s, aliceToken)
	s.SetFaults(bbsandbox.Faults{EmptyAnswers: true})
	ci := newKey(t, "ci")
	rs := register.AddAccessKeys(ctx, alice, ci, []bitbucket.Scope{demo}, register.AccessKeyOptions{})
	if r := rs[0]; r.Status != register.Added || r.ID == 0 {
		t.Errorf("{} answer, key stored: %+v", r)
	}
	rs = register.AddAccessKeys(ctx, alice, ci, []bitbucket.Scope{demo}, register.AccessKeyOptions{Access: register.AccessWrite})
	if r := rs[0]; r.Status != register.Updated || grant(s, ci, "PROJ/demo") != "REPO_WRITE" {
		t.Errorf("{} answer to the permission change: %+v", r)
	}
	s.SetFaults(bbsandbox.Faults{EmptyAnswers: true, LoseWrites: true})
	var ue *register.UnconfirmedError
	lost := newKey(t, "lost")
	rs = register.AddAccessKeys(ctx, alice, lost, []bitbucket.Scope{proj}, register.AccessKeyOptions{})
	if !errors.As(rs[0].Err, &ue) || ue.Permission != bitbucket.ProjectRead || grant(s, lost, "PROJ") != "" {
		t.Errorf("{} answer, nothing stored: %+v", rs[0])
	}
	rs = register.AddAccessKeys(ctx, alice, ci, []bitbucket.Scope{demo}, register.AccessKeyOptions{Access: register.AccessRead})
	if !errors.As(rs[0].Err, &ue) || grant(s, ci, "PROJ/demo") != "REPO_WRITE" {
		t.Errorf("{} answer to a permission change that was lost: %+v", rs[0])
	}
}
