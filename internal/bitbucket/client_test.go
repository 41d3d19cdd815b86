package bitbucket_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

func TestUserKeysOverManyPages(t *testing.T) {
	s := startSandbox(t, func(c *bbsandbox.Config) { c.PageLimit = 2 })
	ctx := context.Background()
	c := newClient(t, s.URL()+"/", bitbucket.BearerToken(aliceToken))

	var texts []string
	for i := range 7 {
		text := newKey(t, fmt.Sprintf("c%d@example.com", i))
		texts = append(texts, text)
		k, err := c.AddUserKey(ctx, bitbucket.NewKey{Text: text, Label: fmt.Sprintf("label %d", i), ExpiryDays: 30})
		if err != nil {
			t.Fatal(err)
		}
		if k.ID == 0 || k.Text != text || k.ExpiryDays == nil || *k.ExpiryDays != 30 {
			t.Fatalf("added key = %+v", k)
		}
	}
	keys, err := c.ListUserKeys(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 7 {
		t.Fatalf("got %d keys over the pages, want 7", len(keys))
	}
	for i, k := range keys {
		if k.Text != texts[i] || k.Label != fmt.Sprintf("label %d", i) {
			t.Errorf("key %d = %q %q, want %q", i, k.Text, k.Label, texts[i])
		}
	}
	if pages := len(requests(s, "GET", "/ssh/1.0/keys")); pages != 4 {
		t.Errorf("listing took %d requests, want 4 pages of 2", pages)
	}

	// An admin-only listing of another user: bob is no admin (401), and an
	// unknown user is a 404.
	_, err = newClient(t, s.URL(), bitbucket.Basic("bob", bobPW)).ListUserKeys(ctx, "alice")
	wantKind(t, err, bitbucket.KindUnauthorized, "lacks permission")
	if _, err := c.ListUserKeys(ctx, "alice"); err != nil {
		t.Errorf("listing one's own keys by name: %v", err)
	}

	if err := c.DeleteUserKey(ctx, keys[2].ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUserKey(ctx, keys[2].ID); err != nil {
		t.Fatalf("deleting a key that is gone: %v", err)
	}
	if n := len(s.UserKeys("alice")); n != 6 {
		t.Errorf("%d keys after the delete, want 6", n)
	}
}

func TestEveryRequestCarriesTheHeaders(t *testing.T) {
	s := startSandbox(t)
	c := newClient(t, s.URL(), bitbucket.BearerToken(aliceToken))
	ctx := context.Background()
	k, err := c.AddUserKey(ctx, bitbucket.NewKey{Text: newKey(t, "a@example.com")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListUserKeys(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUserKey(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	reqs := s.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		for h, want := range map[string]string{
			"Accept": "application/json", "X-Atlassian-Token": "no-check",
			"User-Agent": "git-bbkey/test", "Authorization": "Bearer", // the sandbox keeps the scheme only
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s %s: %s = %q, want %q", r.Method, r.Path, h, got, want)
			}
		}
		if r.Method != "GET" && r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type = %q", r.Method, r.Header.Get("Content-Type"))
		}
		if r.User != "alice" {
			t.Errorf("%s %s: authenticated as %q", r.Method, r.Path, r.User)
		}
	}
}

func TestAddAccepts200And201(t *testing.T) {
	for _, old := range []bool{false, true} {
		s := startSandbox(t)
		s.SetFaults(bbsandbox.Faults{OldServer: old})
		c := newClient(t, s.URL(), alice())
		k, err := c.AddUserKey(context.Background(), bitbucket.NewKey{Text: newKey(t, "a@example.com"), Label: "mine"})
		if err != nil {
			t.Fatalf("old server %v: %v", old, err)
		}
		if k.ID == 0 || k.Label != "mine" || k.ExpiryDays != nil {
			t.Errorf("old server %v: key = %+v", old, k)
		}
		scope := bitbucket.Scope{Project: "PROJ", Slug: "demo"}
		ak, err := c.AddAccessKey(context.Background(), scope, bitbucket.NewKey{Text: newKey(t, "ci")}, bitbucket.RepoRead)
		if err != nil || ak.Key.ID == 0 || ak.Repository == nil || ak.Repository.Slug != "demo" {
			t.Errorf("old server %v: access key = %+v, %v", old, ak, err)
		}
		wantStatus := 201
		if old {
			wantStatus = 200
		}
		for _, r := range requests(s, "POST", "/ssh") {
			if r.Status != wantStatus {
				t.Errorf("old server %v: %s answered %d", old, r.Path, r.Status)
			}
		}
	}
}

func TestAccessKeys(t *testing.T) {
	s := startSandbox(t, func(c *bbsandbox.Config) { c.PageLimit = 1 })
	c := newClient(t, s.URL(), alice())
	ctx := context.Background()
	repo := bitbucket.Scope{Project: "PROJ", Slug: "demo"}
	proj := bitbucket.Scope{Project: "PROJ"}
	keyA, keyB := newKey(t, "a"), newKey(t, "b")

	ak, err := c.AddAccessKey(ctx, repo, bitbucket.NewKey{Text: keyA, Label: "ci", ExpiryDays: 7}, bitbucket.RepoRead)
	if err != nil {
		t.Fatal(err)
	}
	if ak.Permission != bitbucket.RepoRead || ak.Repository.Project.Key != "PROJ" || ak.Key.ExpiryDays == nil || *ak.Key.ExpiryDays != 7 {
		t.Errorf("added = %+v", ak)
	}
	if got := s.AccessKeys()[0].ExpiryDays; got != 7 {
		t.Errorf("the sandbox stored expiry %d, want 7 (expiryDays in the key object)", got)
	}
	again, err := c.AddAccessKey(ctx, repo, bitbucket.NewKey{Text: keyA}, bitbucket.RepoWrite)
	if err != nil || again.Permission != bitbucket.RepoWrite || again.Key.ID != ak.Key.ID {
		t.Errorf("re-adding with write = %+v, %v", again, err)
	}
	for _, sc := range []bitbucket.Scope{{Project: "PROJ", Slug: "other"}, proj, repo} {
		if _, err := c.AddAccessKey(ctx, sc, bitbucket.NewKey{Text: keyB}, sc.Permission(false)); err != nil {
			t.Fatal(err)
		}
	}
	list, err := c.ListAccessKeys(ctx, repo)
	if err != nil || len(list) != 2 {
		t.Fatalf("ListAccessKeys(repo) = %+v, %v", list, err)
	}
	set, err := c.SetAccessKeyPermission(ctx, repo, ak.Key.ID, bitbucket.RepoRead)
	if err != nil || set.Permission != bitbucket.RepoRead || set.Key.ID != ak.Key.ID {
		t.Fatalf("SetAccessKeyPermission = %+v, %v", set, err)
	}
	pk, err := c.ListAccessKeys(ctx, proj)
	if err != nil || len(pk) != 1 || pk[0].Project == nil || pk[0].Project.Key != "PROJ" {
		t.Fatalf("ListAccessKeys(project) = %+v, %v", pk, err)
	}

	// A user key cannot also be an access key.
	_, err = c.AddUserKey(ctx, bitbucket.NewKey{Text: keyB})
	wantKind(t, err, bitbucket.KindConflict, "already used to access a repository or project")

	// Permissions and scopes are checked before anything is sent.
	n := len(s.Requests())
	for name, call := range map[string]func() error{
		"PROJECT_READ on a repo": func() error {
			_, err := c.AddAccessKey(ctx, repo, bitbucket.NewKey{Text: keyA}, bitbucket.ProjectRead)
			return err
		},
		"REPO_WRITE on a project": func() error { _, err := c.SetAccessKeyPermission(ctx, proj, 1, bitbucket.RepoWrite); return err },
		"no permission":           func() error { _, err := c.AddAccessKey(ctx, repo, bitbucket.NewKey{Text: keyA}, ""); return err },
		"no project":              func() error { _, err := c.ListAccessKeys(ctx, bitbucket.Scope{Slug: "x"}); return err },
		"slug ..":                 func() error { _, err := c.ListAccessKeys(ctx, bitbucket.Scope{Project: "P", Slug: ".."}); return err },
	} {
		if err := call(); !errors.Is(err, bitbucket.ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want ErrInvalidArgument", name, err)
		}
	}
	if len(s.Requests()) != n {
		t.Error("an invalid call reached the server")
	}

	// Access keys switched off: a 403 that says so by its exception name.
	s.SetAccessKeysEnabled(false)
	_, err = c.ListAccessKeys(ctx, repo)
	if e := wantKind(t, err, bitbucket.KindForbidden, "403"); !e.FeatureDisabled() {
		t.Errorf("FeatureDisabled() = false for %v", err)
	}
}

func TestContextPathAndLatest(t *testing.T) {
	s := startSandbox(t, func(c *bbsandbox.Config) { c.ContextPath = "/bitbucket" })
	ctx := context.Background()
	c := newClient(t, s.URL()+"/", bitbucket.BearerToken(aliceToken), func(o *bitbucket.Options) { o.APIVersion = "latest" })
	if _, err := c.AddUserKey(ctx, bitbucket.NewKey{Text: newKey(t, "a")}); err != nil {
		t.Fatal(err)
	}
	if keys, err := c.ListUserKeys(ctx, ""); err != nil || len(keys) != 1 {
		t.Fatalf("ListUserKeys = %v, %v", keys, err)
	}
	if got := requests(s, "GET", "/bitbucket/rest/ssh/latest/keys"); len(got) != 1 {
		t.Errorf("requests to .../latest/keys: %d", len(got))
	}
	repo, err := c.Repository(ctx, "~alice", "dots.and-dash")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := repo.CloneLinks["ssh"], s.CloneURL("~alice", "dots.and-dash"); got != want {
		t.Errorf("ssh clone link = %q, want %q", got, want)
	}
	if got := repo.CloneLinks["http"]; !strings.HasSuffix(got, "/bitbucket/scm/~alice/dots.and-dash.git") {
		t.Errorf("http clone link = %q", got)
	}
	if repo.Slug != "dots.and-dash" {
		t.Errorf("repo = %+v", repo)
	}

	// Without the context path the server answers an HTML 404.
	_, err = newClient(t, strings.TrimSuffix(s.URL(), "/bitbucket"), alice()).ListUserKeys(ctx, "")
	wantKind(t, err, bitbucket.KindNotJSON, "404", "text/html")

	// A project key or slug can never add path levels.
	if _, err := c.Repository(ctx, "PROJ", ".."); !errors.Is(err, bitbucket.ErrInvalidArgument) {
		t.Errorf("Repository(PROJ, ..) = %v", err)
	}
	c.Repository(ctx, "PROJ", "a/b") //nolint:errcheck // only the path the request went to matters
	reqs := s.Requests()
	if got := reqs[len(reqs)-1].RawPath; !strings.HasSuffix(got, "/repos/a%2Fb") {
		t.Errorf("slug a/b was sent as %q", got)
	}
}

func TestSettingsVersionAndCurrentUser(t *testing.T) {
	s := startSandbox(t, func(c *bbsandbox.Config) { c.AdvertisedSSHPort = 7999 })
	ctx := context.Background()
	c := newClient(t, s.URL(), alice())
	s.SetSettingsFingerprintFormat(true, true)
	set, err := c.SSHSettings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !set.Enabled || !set.AccessKeysEnabled || set.Port != s.SSHPort() || set.BaseURL != "ssh://git@127.0.0.1:7999" {
		t.Errorf("settings = %+v", set)
	}
	if want := bitbucket.NormalizeFingerprint(strings.TrimPrefix(hostKeyFP(s), "SHA256:")); set.Fingerprint != want {
		t.Errorf("fingerprint %q, want %q", set.Fingerprint, want)
	}
	// Settings need credentials on this server; the version does not.
	_, err = newClient(t, s.URL(), nil).SSHSettings(ctx)
	wantKind(t, err, bitbucket.KindUnauthorized)
	s.SetVersion("8.19.1")
	if p, err := newClient(t, s.URL(), nil).ApplicationProperties(ctx); err != nil || p.Version != "8.19.1" {
		t.Errorf("ApplicationProperties = %+v, %v", p, err)
	}

	if u, err := c.CurrentUser(ctx); err != nil || u != "alice" {
		t.Errorf("CurrentUser = %q, %v", u, err)
	}
	if u, err := newClient(t, s.URL(), nil).CurrentUser(ctx); u != "" || err != nil {
		t.Errorf("anonymous CurrentUser = %q, %v", u, err)
	}
}

func TestOnAuthHearsAcceptedAndRejected(t *testing.T) {
	s := startSandbox(t)
	ctx := context.Background()
	var heard []string
	hook := func(o *bitbucket.Options) {
		o.OnAuth = func(_ context.Context, ok bool, e *bitbucket.Error) {
			heard = append(heard, fmt.Sprint(ok, e != nil && e.StatusCode == http.StatusUnauthorized))
		}
	}
	newClient(t, s.URL(), alice(), hook).ListUserKeys(ctx, "")                           //nolint:errcheck
	newClient(t, s.URL(), bitbucket.Basic("alice", "wrong"), hook).ListUserKeys(ctx, "") //nolint:errcheck
	newClient(t, s.URL(), nil, hook).ListUserKeys(ctx, "")                               //nolint:errcheck // no credentials: nothing to hear
	s.FailNext(1, 500, "", "", "")
	newClient(t, s.URL(), alice(), hook).ListUserKeys(ctx, "") //nolint:errcheck // a 500 says nothing about them
	if got := strings.Join(heard, " "); got != "true false false true" {
		t.Errorf("heard %q, want accepted then rejected", got)
	}
}

func TestInsecureURLs(t *testing.T) {
	for _, tc := range []struct {
		url   string
		auth  bitbucket.Auth
		wantE error
	}{
		{"http://bitbucket.example.com", bitbucket.BearerToken("t"), bitbucket.ErrInsecureURL},
		{"http://10.0.0.1:7990/bb", bitbucket.Basic("u", "p"), bitbucket.ErrInsecureURL},
		{"http://127.0.0.1:7990", bitbucket.BearerToken("t"), nil},
		{"http://127.1.2.3:7990", bitbucket.BearerToken("t"), nil},
		{"http://[::1]:7990/", bitbucket.BearerToken("t"), nil},
		{"http://LOCALHOST:7990", bitbucket.BearerToken("t"), nil},
		{"http://bitbucket.example.com", nil, nil}, // anonymous: settings only
		{"https://bitbucket.example.com/ctx/", bitbucket.BearerToken("t"), nil},
	} {
		_, err := bitbucket.New(bitbucket.Options{BaseURL: tc.url, Auth: tc.auth})
		if !errors.Is(err, tc.wantE) || (tc.wantE == nil && err != nil) {
			t.Errorf("New(%q) = %v, want %v", tc.url, err, tc.wantE)
		}
	}
	for _, bad := range []string{"", "ftp://host", "https://", "https://u:pw-SECRET@host", "https://host/?token=SECRET", "relative:SECRET", "https://host/#SECRET"} {
		_, err := bitbucket.New(bitbucket.Options{BaseURL: bad})
		if !errors.Is(err, bitbucket.ErrBadBaseURL) {
			t.Errorf("New(%q) = %v, want ErrBadBaseURL", bad, err)
		} else if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("New(%q) error shows the password: %v", bad, err)
		}
	}
}

func TestRedirects(t *testing.T) {
	s, other := startSandbox(t), startSandbox(t)
	ctx := context.Background()
	s.SetRedirect("/moved", other.URL())
	for _, hc := range []*http.Client{nil, {}} { // our default client, and a caller's
		_, err := newClient(t, s.URL()+"/moved", bitbucket.BearerToken(aliceToken), func(o *bitbucket.Options) { o.HTTPClient = hc }).ListUserKeys(ctx, "")
		if !errors.Is(err, bitbucket.ErrRedirectRefused) {
			t.Errorf("cross-host redirect with credentials: err = %v", err)
		} else if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("error shows the token: %v", err)
		}
		if n := len(other.Requests()); n != 0 {
			t.Fatalf("the other host was contacted %d times", n)
		}
	}
	// Anonymous calls may follow (no Authorization arrives), and a
	// same-host redirect keeps working with credentials.
	other.SetAnonymousSettings(true)
	if _, err := newClient(t, s.URL()+"/moved", nil).SSHSettings(ctx); err != nil {
		t.Errorf("anonymous redirect: %v", err)
	}
	if r := other.Requests(); len(r) != 1 || r[0].Header.Get("Authorization") != "" {
		t.Errorf("the other host got %+v", r)
	}
	s.SetRedirect("/same", s.URL())
	if _, err := newClient(t, s.URL()+"/same", alice()).ListUserKeys(ctx, ""); err != nil {
		t.Errorf("same-host redirect: %v", err)
	}
}

// No error, String or GoString may ever show the token or the password.
func TestSecretsNeverShown(t *testing.T) {
	s := startSandbox(t)
	s.SetFaults(bbsandbox.Faults{EscapesInErrors: true})
	ctx := context.Background()
	var shown []string
	for _, auth := range []bitbucket.Auth{bitbucket.BearerToken(aliceToken), alice(), bitbucket.BearerToken(aliceToken + "x"), bitbucket.Basic("alice", alicePW+"x")} {
		c := newClient(t, s.URL(), auth)
		_, e1 := c.ListUserKeys(ctx, "nobody")
		_, e2 := c.AddUserKey(ctx, bitbucket.NewKey{Text: "junk"})
		_, e3 := c.Repository(ctx, "P", "x")
		_, e4 := c.Repository(ctx, "P", "..")
		shown = append(shown, fmt.Sprint(auth), fmt.Sprintf("%+v %#v %v %+v %#v", auth, auth, c, c, c))
		for _, err := range []error{e1, e2, e3, e4} {
			if err != nil {
				shown = append(shown, err.Error(), fmt.Sprintf("%+v %#v", err, err))
			}
		}
	}
	_, err := newClient(t, "http://127.0.0.1:1", bitbucket.BearerToken(aliceToken)).ListUserKeys(ctx, "")
	var re *bitbucket.RequestError
	if !errors.As(err, &re) {
		t.Errorf("nothing listening: %v, want a *RequestError", err)
	}
	shown = append(shown, err.Error())
	for _, s := range shown {
		if strings.Contains(s, "SECRET") {
			t.Errorf("secret shown: %s", s)
		}
	}
}
