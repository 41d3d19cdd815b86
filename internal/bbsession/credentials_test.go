package bbsession

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

// credentialStore configures git's own credential-store helper (with a
// file of its own), preceded by a helper that only logs each action git
// runs: "get" for a fill, "store" for an approve, "erase" for a reject.
type credentialStore struct {
	t         *testing.T
	file, log string
}

func newCredentialStore(t *testing.T, w *world) *credentialStore {
	t.Helper()
	cs := &credentialStore{t: t, file: filepath.Join(w.home, "store"), log: filepath.Join(w.home, "helper.log")}
	logger := filepath.Join(w.home, "log-helper.sh")
	if err := os.WriteFile(logger, []byte("#!/bin/sh\necho \"$1\" >> '"+cs.log+"'\ncat > /dev/null\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	w.config("credential.helper", logger)
	w.config("credential.helper", "store --file="+cs.file)
	return cs
}

// seed stores a credential for the sandbox as `git credential approve`
// would have.
func (cs *credentialStore) seed(s *bbsandbox.Server, user, password string) {
	cs.t.Helper()
	u := strings.Replace(s.URL(), "://", "://"+user+":"+password+"@", 1)
	if err := os.WriteFile(cs.file, []byte(u+"\n"), 0o600); err != nil {
		cs.t.Fatal(err)
	}
}

func (cs *credentialStore) actions() string {
	b, _ := os.ReadFile(cs.log)
	return strings.Join(strings.Fields(string(b)), " ")
}

func (cs *credentialStore) stored() string {
	b, _ := os.ReadFile(cs.file)
	return string(b)
}

func TestCredentialsAskedOnceAndApprovedOnce(t *testing.T) {
	s := startSandbox(t)
	w := newWorld(t)
	cs := newCredentialStore(t, w)
	cs.seed(s, "alice", alicePW)
	sess := w.session(s.URL())
	ctx := context.Background()
	for range 3 {
		c, err := sess.Client(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.ListUserKeys(ctx, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, authed, err := sess.Reader(ctx); !authed || err != nil {
		t.Errorf("Reader with credentials: %v, %v", authed, err)
	}
	if got := cs.actions(); got != "get store" {
		t.Errorf("git credential ran %q, want one fill and one approve", got)
	}
	if sess.ViaToken() {
		t.Error("ViaToken for a password from git credential")
	}
}

func TestCredentialRejectedOnlyWhenTheServerRefusesIt(t *testing.T) {
	ctx := context.Background()
	list := func(sess *Session, scope bitbucket.Scope) error {
		c, err := sess.Client(ctx)
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.ListAccessKeys(ctx, scope)
		return err
	}
	demo := bitbucket.Scope{Project: "PROJ", Slug: "demo"}

	t.Run("wrong password", func(t *testing.T) {
		s := startSandbox(t)
		w := newWorld(t)
		cs := newCredentialStore(t, w)
		cs.seed(s, "alice", "wrong-SECRET")
		if err := list(w.session(s.URL()), demo); !bitbucket.IsKind(err, bitbucket.KindUnauthorized) {
			t.Fatalf("err = %v", err)
		}
		if got := cs.actions(); got != "get erase" || strings.Contains(cs.stored(), "alice") {
			t.Errorf("git credential ran %q; store holds %q", got, cs.stored())
		}
	})
	t.Run("a 401 for a missing permission keeps a good password", func(t *testing.T) {
		s := startSandbox(t)
		w := newWorld(t)
		cs := newCredentialStore(t, w)
		cs.seed(s, "bob", bobPW) // bob reads PROJ but does not administer it
		err := list(w.session(s.URL()), demo)
		var e *bitbucket.Error
		if !errors.As(err, &e) || e.StatusCode != 401 || e.BadPassword() {
			t.Fatalf("err = %v, want a permission 401", err)
		}
		if got := cs.actions(); got != "get store" || !strings.Contains(cs.stored(), "bob") {
			t.Errorf("git credential ran %q; store holds %q", got, cs.stored())
		}
	})
	t.Run("any 401 rejects, without Bitbucket's exception name too", func(t *testing.T) {
		s := startSandbox(t)
		s.SetFaults(bbsandbox.Faults{BareUnauthorized: true}) // a gateway's 401 with WWW-Authenticate
		w := newWorld(t)
		cs := newCredentialStore(t, w)
		cs.seed(s, "alice", alicePW)
		if err := list(w.session(s.URL()), demo); err == nil {
			t.Fatal("no error")
		}
		if got := cs.actions(); got != "get erase" || strings.Contains(cs.stored(), "alice") {
			t.Errorf("git credential ran %q; store holds %q", got, cs.stored())
		}
	})
	t.Run("a server error settles nothing", func(t *testing.T) {
		s := startSandbox(t)
		w := newWorld(t)
		cs := newCredentialStore(t, w)
		cs.seed(s, "alice", alicePW)
		s.FailNext(10, 500, "", "", "")
		if err := list(w.session(s.URL()), demo); !bitbucket.IsKind(err, bitbucket.KindServer) {
			t.Fatalf("err = %v", err)
		}
		if got := cs.actions(); got != "get" {
			t.Errorf("git credential ran %q, want only the fill", got)
		}
	})
}

func TestTokenNoCredentialsAndInsecureURLs(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	w := newWorld(t)
	cs := newCredentialStore(t, w)

	// No credential anywhere and no terminal: a typed error, asked once.
	sess := w.session(s.URL())
	for range 2 {
		err := sess.Authenticate(ctx)
		var nc *NoCredentialsError
		if !errors.As(err, &nc) || !errors.Is(err, ErrNoCredentials) || nc.Base != s.URL() {
			t.Fatalf("no credentials: %v", err)
		}
	}
	if _, authed, err := sess.Reader(ctx); authed || err != nil {
		t.Errorf("Reader without credentials: authenticated %v, %v", authed, err)
	}
	if got := cs.actions(); got != "get" {
		t.Errorf("git credential ran %q, want one fill", got)
	}

	// BITBUCKET_TOKEN: a Bearer token, git credential never asked.
	w.setenv("BITBUCKET_TOKEN", aliceToken)
	sess = w.session(s.URL())
	c, err := sess.Client(ctx)
	if err != nil || !sess.ViaToken() {
		t.Fatalf("with a token: %v (via token %v)", err, sess.ViaToken())
	}
	if u, err := c.CurrentUser(ctx); err != nil || u != "alice" {
		t.Errorf("CurrentUser = %q, %v", u, err)
	}
	if got := cs.actions(); got != "get" {
		t.Errorf("git credential ran %q after the token", got)
	}

	// Plain http to a host that is not loopback: nothing is asked or sent.
	w.unsetenv("BITBUCKET_TOKEN")
	sess = w.session("http://10.255.255.1:7990/bb")
	err = sess.Authenticate(ctx)
	var ie *InsecureError
	if !errors.As(err, &ie) || !errors.Is(err, bitbucket.ErrInsecureURL) {
		t.Errorf("insecure: %v", err)
	}
	if got := cs.actions(); got != "get" {
		t.Errorf("git credential ran %q for an insecure URL", got)
	}
	if sess.TrustedChannel() {
		t.Error("plain http elsewhere is trusted")
	}
}
