package bitbucket

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const (
	keyA = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIaaaa alice@example.com"
	keyB = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIbbbb b@example.com"
)

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

func newTestClient(t *testing.T, base string, auth Auth, mod ...func(*Options)) *Client {
	t.Helper()
	opts := Options{BaseURL: base, Auth: auth, UserAgent: "git-bbkey/test", Timeout: 5 * time.Second,
		Sleep: (&recordSleep{}).sleep}
	for _, m := range mod {
		m(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func wantKind(t *testing.T, err error, kind ErrorKind, contains ...string) *Error {
	t.Helper()
	var e *Error
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
	if msg != strings.ToLower(msg[:1])+msg[1:] || strings.HasSuffix(msg, ".") {
		t.Errorf("error %q: want lowercase start and no final period", msg)
	}
	return e
}

func TestUserKeysOverManyPages(t *testing.T) {
	f := newFake(t)
	f.pageSize = 2
	srv := f.start()
	ctx := context.Background()
	c := newTestClient(t, srv.URL+"/", BearerToken(f.token))

	var texts []string
	for i := range 7 {
		text := fmt.Sprintf("ssh-ed25519 AAAAkey%d c%d@example.com", i, i)
		texts = append(texts, text)
		k, err := c.AddUserKey(ctx, text, fmt.Sprintf("label %d", i), 30)
		if err != nil {
			t.Fatal(err)
		}
		if k.ID == 0 || k.Text != text || *k.ExpiryDays != 30 {
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
		if k.Text != texts[i] {
			t.Errorf("key %d = %q, want %q", i, k.Text, texts[i])
		}
	}
	pages := 0
	for _, r := range f.requests {
		if r.Method == "GET" && strings.HasSuffix(r.URL.Path, "/keys") {
			pages++
		}
	}
	if pages != 4 {
		t.Errorf("listing took %d requests, want 4 pages of 2", pages)
	}

	if _, err := c.ListUserKeys(ctx, "alice"); err != nil {
		t.Errorf("listing another user's keys by name: %v", err)
	}
	_, err = c.ListUserKeys(ctx, "nobody")
	wantKind(t, err, KindNotFound, "User nobody does not exist")

	got, err := c.GetUserKey(ctx, keys[2].ID)
	if err != nil || got.Text != texts[2] {
		t.Fatalf("GetUserKey = %+v, %v", got, err)
	}
	if err := c.DeleteUserKey(ctx, keys[2].ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUserKey(ctx, keys[2].ID); err != nil {
		t.Fatalf("deleting a key that is gone: %v", err)
	}
	_, err = c.GetUserKey(ctx, keys[2].ID)
	wantKind(t, err, KindNotFound, "not found", "No SSH key with ID")
}

func TestEveryRequestCarriesTheHeaders(t *testing.T) {
	f := newFake(t)
	srv := f.start()
	c := newTestClient(t, srv.URL, BearerToken(f.token))
	ctx := context.Background()
	if _, err := c.AddUserKey(ctx, keyA, "", 0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.ListUserKeys(ctx, ""); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteUserKey(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, r := range f.requests {
		for h, want := range map[string]string{
			"Accept": "application/json", "X-Atlassian-Token": "no-check",
			"User-Agent": "git-bbkey/test", "Authorization": "Bearer " + f.token,
		} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("%s %s: %s = %q, want %q", r.Method, r.URL.Path, h, got, want)
			}
		}
		if r.Method != "GET" && r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type = %q", r.Method, r.Header.Get("Content-Type"))
		}
	}
}

// The fake's XSRF rule must bite, or the header tests prove nothing.
func TestFakeEnforcesXSRF(t *testing.T) {
	f := newFake(t)
	srv := f.start()
	req, _ := http.NewRequest("POST", srv.URL+"/rest/ssh/1.0/keys", strings.NewReader(`{"text":"x"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("POST without X-Atlassian-Token: %d, want 403", resp.StatusCode)
	}

	// And the client maps that answer to KindXSRF.
	xsrf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain;charset=UTF-8")
		w.WriteHeader(403)
		fmt.Fprint(w, "XSRF check failed")
	}))
	defer xsrf.Close()
	_, err = newTestClient(t, xsrf.URL, BearerToken("t")).AddUserKey(context.Background(), keyA, "", 0)
	wantKind(t, err, KindXSRF, "XSRF check failed", "403")
}

func TestAddAccepts200And201(t *testing.T) {
	for _, old := range []bool{false, true} {
		f := newFake(t)
		f.oldServer = old
		c := newTestClient(t, f.start().URL, Basic(f.user, f.pass))
		k, err := c.AddUserKey(context.Background(), keyA, "mine", 0)
		if err != nil {
			t.Fatalf("oldServer=%v: %v", old, err)
		}
		if k.ID != 1 || k.Label != "mine" || k.ExpiryDays != nil {
			t.Errorf("oldServer=%v: key = %+v", old, k)
		}
		ak, err := c.AddRepoAccessKey(context.Background(), "PROJ", "repo", keyB, "ci", RepoRead)
		if err != nil || ak.Key.ID == 0 || ak.Repository == nil || ak.Repository.Slug != "repo" {
			t.Errorf("oldServer=%v: access key = %+v, %v", old, ak, err)
		}
	}
}

func TestDatesAsNumbersAndStrings(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"isLastPage":true,"values":[
			{"id":1,"createdDate":1630041546434,"lastAuthenticated":"1630041546434","warning":"RSA keys below 3072 bits are deprecated"},
			{"id":2,"createdDate":"2021-08-27T05:19:06.434Z","lastAuthenticated":null,"warning":{"message":"expires soon"}},
			{"id":3,"createdDate":"2021-08-27T05:19:06.434+0000","lastAuthenticated":"yesterday-ish"},
			{"id":4,"createdDate":1.630041546434E12}]}`)
	}))
	defer srv.Close()
	keys, err := newTestClient(t, srv.URL, BearerToken("t")).ListUserKeys(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	want := time.UnixMilli(1630041546434).UTC()
	for _, k := range keys {
		if !k.CreatedDate.Equal(want) {
			t.Errorf("key %d: createdDate = %v, want %v", k.ID, k.CreatedDate, want)
		}
	}
	if !keys[0].LastAuthenticated.Equal(want) {
		t.Errorf("lastAuthenticated as a string of millis = %v", keys[0].LastAuthenticated)
	}
	if keys[1].LastAuthenticated != nil {
		t.Errorf("null lastAuthenticated = %v, want nil", keys[1].LastAuthenticated)
	}
	if !keys[2].LastAuthenticated.IsZero() {
		t.Errorf("unknown date format = %v, want zero time", keys[2].LastAuthenticated)
	}
	if keys[0].Warning != "RSA keys below 3072 bits are deprecated" || keys[1].Warning != "expires soon" {
		t.Errorf("warnings = %q, %q", keys[0].Warning, keys[1].Warning)
	}
}

func TestPagingStopsOnRepeatedNextPageStart(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		// A broken server: every page says "next is 2".
		fmt.Fprint(w, `{"size":1,"limit":1,"start":0,"isLastPage":false,"nextPageStart":2,"values":[{"id":1}]}`)
	}))
	defer srv.Close()
	_, err := newTestClient(t, srv.URL, BearerToken("t")).ListUserKeys(context.Background(), "")
	if err == nil || !strings.Contains(err.Error(), "nextPageStart 2 again") {
		t.Fatalf("err = %v, want a paging loop error", err)
	}
	if hits.Load() != 2 {
		t.Errorf("server was asked %d times, want 2", hits.Load())
	}

	noNext := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"isLastPage":false,"values":[]}`)
	}))
	defer noNext.Close()
	_, err = newTestClient(t, noNext.URL, BearerToken("t")).ListProjectAccessKeys(context.Background(), "P")
	if err == nil || !strings.Contains(err.Error(), "no nextPageStart") {
		t.Fatalf("err = %v, want missing nextPageStart error", err)
	}
}

func TestErrorKinds(t *testing.T) {
	const policy = "Your SSH key does not meet the key type or key length requirements set by your admin."
	f := newFake(t)
	srv := f.start()
	ctx := context.Background()

	_, err := newTestClient(t, srv.URL, Basic(f.user, "wrong")).ListUserKeys(ctx, "")
	e := wantKind(t, err, KindUnauthorized, "rejected the credentials", "Authentication failed")
	if !e.BadPassword() {
		t.Error("BadPassword() = false for IncorrectPasswordAuthenticationException")
	}

	_, err = newTestClient(t, srv.URL, nil).ListUserKeys(ctx, "")
	e = wantKind(t, err, KindUnauthorized, "credentials were rejected or the user lacks permission", "not permitted")
	if e.BadPassword() {
		t.Error("BadPassword() = true for a permission 401")
	}

	c := newTestClient(t, srv.URL, BearerToken(f.token))
	if _, err := c.AddUserKey(ctx, keyA, "", 0); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddUserKey(ctx, keyA, "again", 0)
	wantKind(t, err, KindConflict, "already registered", "409")

	_, err = c.AddUserKey(ctx, "not a key", "", 0)
	wantKind(t, err, KindInvalidKey, "The SSH key is invalid", "400")

	f.policy = policy
	_, err = c.AddUserKey(ctx, keyB, "", 0)
	wantKind(t, err, KindInvalidKey, strings.TrimSuffix(policy, "."))
}

func TestNotJSONAnswers(t *testing.T) {
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=iso-8859-1")
		w.WriteHeader(int(status.Load()))
		fmt.Fprint(w, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>")
	}))
	defer srv.Close()
	c := newTestClient(t, srv.URL, BearerToken("t"))
	ctx := context.Background()

	status.Store(502)
	_, err := c.ListUserKeys(ctx, "")
	wantKind(t, err, KindNotJSON, "502 Bad Gateway", "text/html", "instead of bitbucket's JSON")

	// A single-sign-on login page served with 200.
	status.Store(200)
	_, err = c.SSHSettings(ctx)
	wantKind(t, err, KindNotJSON, "200 OK", "text/html")

	// A proxy's 404 page means the delete went nowhere: not "already gone".
	status.Store(404)
	err = c.DeleteUserKey(ctx, 3)
	wantKind(t, err, KindNotJSON, "404")
}

func TestRetryAfterThenSuccess(t *testing.T) {
	var hits atomic.Int32
	date := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch hits.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "2")
			writeErr(w, 429, "Too many requests", "")
		case 2:
			w.Header().Set("Retry-After", date) // an hour away: capped
			w.WriteHeader(503)
		case 3:
			w.WriteHeader(503) // no Retry-After: backoff
		default:
			writeJSON(w, 201, SSHKey{ID: 9, Text: keyA})
		}
	}))
	defer srv.Close()
	rec := &recordSleep{}
	c := newTestClient(t, srv.URL, BearerToken("t"), func(o *Options) { o.Sleep = rec.sleep })
	k, err := c.AddUserKey(context.Background(), keyA, "", 0)
	if err != nil || k.ID != 9 {
		t.Fatalf("AddUserKey = %+v, %v", k, err)
	}
	if len(rec.waits) != 3 || rec.waits[0] != 2*time.Second || rec.waits[1] != maxRetryWait ||
		rec.waits[2] <= 0 || rec.waits[2] > maxRetryWait {
		t.Errorf("waits = %v, want [2s %v backoff]", rec.waits, maxRetryWait)
	}
}

func TestRetriesRunOut(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "1")
		writeErr(w, 503, "Bitbucket is starting up", "")
	}))
	defer srv.Close()
	rec := &recordSleep{}
	c := newTestClient(t, srv.URL, BearerToken("t"), func(o *Options) { o.Sleep = rec.sleep })
	_, err := c.SSHSettings(context.Background())
	wantKind(t, err, KindServer, "Bitbucket is starting up", "503")
	if hits.Load() != 4 || len(rec.waits) != 3 {
		t.Errorf("attempts = %d, waits = %v; want 4 attempts (3 retries)", hits.Load(), rec.waits)
	}

	hits.Store(0)
	c = newTestClient(t, srv.URL, BearerToken("t"), func(o *Options) { o.MaxRetries = -1 })
	_, _ = c.SSHSettings(context.Background())
	if hits.Load() != 1 {
		t.Errorf("MaxRetries -1: %d attempts, want 1", hits.Load())
	}
}

func TestContextPathAndLatest(t *testing.T) {
	f := newFake(t)
	f.context = "/bitbucket"
	f.apiVersion = "latest"
	srv := f.start()
	ctx := context.Background()

	c := newTestClient(t, srv.URL+"/bitbucket/", BearerToken(f.token), func(o *Options) { o.APIVersion = "latest" })
	if _, err := c.AddUserKey(ctx, keyA, "", 0); err != nil {
		t.Fatal(err)
	}
	keys, err := c.ListUserKeys(ctx, "")
	if err != nil || len(keys) != 1 {
		t.Fatalf("ListUserKeys = %v, %v", keys, err)
	}
	repo, err := c.Repository(ctx, "~alice", "dots.and-dash")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := repo.CloneLinks["http"], srv.URL+"/bitbucket/scm/~alice/dots.and-dash.git"; got != want {
		t.Errorf("http clone link = %q, want %q", got, want)
	}
	if got := repo.CloneLinks["ssh"]; got != "ssh://git@bb.example:7999/~alice/dots.and-dash.git" {
		t.Errorf("ssh clone link = %q", got)
	}
	if repo.Project.Key != "~alice" || repo.Slug != "dots.and-dash" {
		t.Errorf("repo = %+v", repo)
	}

	// Without the context path the server answers an HTML 404.
	_, err = newTestClient(t, srv.URL, BearerToken(f.token)).ListUserKeys(ctx, "")
	wantKind(t, err, KindNotJSON, "404")

	// A project key or slug can never add path levels.
	if _, err := c.Repository(ctx, "PROJ", ".."); err == nil {
		t.Error("Repository(PROJ, ..) did not fail")
	}
	// Only the path the request went to matters here, not the answer.
	c.Repository(ctx, "PROJ", "a/b") //nolint:errcheck
	if got := f.requests[len(f.requests)-1].URL.EscapedPath(); !strings.HasSuffix(got, "/repos/a%2Fb") {
		t.Errorf("slug a/b was sent as %q", got)
	}
}

func TestAccessKeys(t *testing.T) {
	f := newFake(t)
	f.pageSize = 1
	c := newTestClient(t, f.start().URL, Basic(f.user, f.pass))
	ctx := context.Background()

	ak, err := c.AddRepoAccessKey(ctx, "PROJ", "repo", keyA, "ci", RepoRead)
	if err != nil {
		t.Fatal(err)
	}
	if ak.Permission != RepoRead || ak.Repository.Project.Key != "PROJ" {
		t.Errorf("added = %+v", ak)
	}
	again, err := c.AddRepoAccessKey(ctx, "PROJ", "repo", keyA, "ci", RepoWrite)
	if err != nil || again.Permission != RepoWrite || again.Key.ID != ak.Key.ID {
		t.Errorf("re-adding with write = %+v, %v", again, err)
	}
	if _, err := c.AddRepoAccessKey(ctx, "PROJ", "other", keyB, "", RepoRead); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddProjectAccessKey(ctx, "PROJ", keyB, "", ProjectRead); err != nil {
		t.Fatal(err)
	}
	if _, err := c.AddRepoAccessKey(ctx, "PROJ", "repo", keyB, "", RepoRead); err != nil {
		t.Fatal(err)
	}
	list, err := c.ListRepoAccessKeys(ctx, "PROJ", "repo")
	if err != nil || len(list) != 2 {
		t.Fatalf("ListRepoAccessKeys = %+v, %v", list, err)
	}
	if err := c.SetRepoAccessKeyPermission(ctx, "PROJ", "repo", ak.Key.ID, RepoRead); err != nil {
		t.Fatal(err)
	}
	pk, err := c.ListProjectAccessKeys(ctx, "PROJ")
	if err != nil || len(pk) != 1 || pk[0].Project == nil || pk[0].Project.Key != "PROJ" {
		t.Fatalf("ListProjectAccessKeys = %+v, %v", pk, err)
	}
	if err := c.SetProjectAccessKeyPermission(ctx, "PROJ", pk[0].Key.ID, ProjectWrite); err != nil {
		t.Fatal(err)
	}
	if pk, _ = c.ListProjectAccessKeys(ctx, "PROJ"); pk[0].Permission != ProjectWrite {
		t.Errorf("permission after set = %q", pk[0].Permission)
	}
	if err := c.DeleteRepoAccessKey(ctx, "PROJ", "repo", ak.Key.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteProjectAccessKey(ctx, "PROJ", 999); err != nil {
		t.Fatalf("deleting a missing access key: %v", err)
	}
	if list, _ = c.ListRepoAccessKeys(ctx, "PROJ", "repo"); len(list) != 1 {
		t.Errorf("after delete: %+v", list)
	}

	// A user key cannot also be an access key.
	_, err = c.AddUserKey(ctx, keyB, "", 0)
	wantKind(t, err, KindConflict, "already used to access a repository or project")

	// Permissions are checked before anything is sent.
	n := len(f.requests)
	if _, err := c.AddRepoAccessKey(ctx, "PROJ", "repo", keyA, "", ProjectRead); err == nil {
		t.Error("PROJECT_READ on a repository was accepted")
	}
	if err := c.SetProjectAccessKeyPermission(ctx, "PROJ", 1, RepoWrite); err == nil {
		t.Error("REPO_WRITE on a project was accepted")
	}
	if len(f.requests) != n {
		t.Error("an invalid permission reached the server")
	}
}

func TestSettingsAndFingerprints(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI", "SHA256:Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI"},
		{"Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI=", "SHA256:Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI"},
		{"SHA256:Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI", "SHA256:Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI"},
		{" sha256:Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI= \n", "SHA256:Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI"},
		{"", ""},
		{"SHA256:", ""},
	} {
		if got := NormalizeFingerprint(tc.in); got != tc.want {
			t.Errorf("NormalizeFingerprint(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	for _, tc := range []struct{ raw, want string }{
		{`{"algorithm":"SHA256","value":"AAAA="}`, "SHA256:AAAA"},
		{`{"algorithm":"SHA256","value":"SHA256:AAAA"}`, "SHA256:AAAA"},
		{`{"value":"AAAA"}`, "SHA256:AAAA"},
		{`"SHA256:AAAA=="`, "SHA256:AAAA"},
		{`{"algorithm":"MD5","value":"aa:bb"}`, "MD5:aa:bb"},
		{`null`, ""},
	} {
		f := newFake(t)
		f.settings = `{"enabled":true,"port":7999,"baseUrl":"ssh://git@bb.example:7999","accessKeysEnabled":true,"fingerprint":` + tc.raw + `}`
		// Settings need no credentials, and are fine over http to any host.
		s, err := newTestClient(t, f.start().URL, nil).SSHSettings(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if s.Fingerprint != tc.want || !s.Enabled || s.Port != 7999 || s.BaseURL != "ssh://git@bb.example:7999" || !s.AccessKeysEnabled {
			t.Errorf("fingerprint %s: settings = %+v, want fingerprint %q", tc.raw, s, tc.want)
		}
	}
}

func TestCurrentUser(t *testing.T) {
	f := newFake(t)
	srv := f.start()
	ctx := context.Background()
	c := newTestClient(t, srv.URL, Basic(f.user, f.pass))
	if u, err := c.CurrentUser(ctx); err != nil || u != "alice" {
		t.Errorf("CurrentUser = %q, %v", u, err)
	}
	if u, _ := newTestClient(t, srv.URL, nil).CurrentUser(ctx); u != "" {
		t.Errorf("anonymous CurrentUser = %q", u)
	}
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, map[string]any{"isLastPage": true, "values": []any{}})
	}))
	defer plain.Close()
	if u, err := newTestClient(t, plain.URL, BearerToken("t")).CurrentUser(ctx); err != nil || u != "" {
		t.Errorf("CurrentUser without the header = %q, %v", u, err)
	}
}

func TestAuthHeaders(t *testing.T) {
	f := newFake(t)
	srv := f.start()
	for _, tc := range []struct {
		auth Auth
		want string
	}{
		{BearerToken(f.token), "Bearer " + f.token},
		{Basic(f.user, f.pass), "Basic YWxpY2U6cHctU0VDUkVULTQ1Ng=="},
	} {
		if _, err := newTestClient(t, srv.URL, tc.auth).ListUserKeys(context.Background(), ""); err != nil {
			t.Fatal(err)
		}
		if got := f.requests[len(f.requests)-1].Header.Get("Authorization"); got != tc.want {
			t.Errorf("Authorization = %q, want %q", got, tc.want)
		}
	}
}

func TestInsecureURLs(t *testing.T) {
	for _, tc := range []struct {
		url   string
		auth  Auth
		wantE error
	}{
		{"http://bitbucket.example.com", BearerToken("t"), ErrInsecureURL},
		{"http://10.0.0.1:7990/bb", Basic("u", "p"), ErrInsecureURL},
		{"http://127.0.0.1:7990", BearerToken("t"), nil},
		{"http://127.1.2.3:7990", BearerToken("t"), nil},
		{"http://[::1]:7990/", BearerToken("t"), nil},
		{"http://LOCALHOST:7990", BearerToken("t"), nil},
		{"http://bitbucket.example.com", nil, nil}, // anonymous: settings only
		{"https://bitbucket.example.com/ctx/", BearerToken("t"), nil},
	} {
		_, err := New(Options{BaseURL: tc.url, Auth: tc.auth})
		if !errors.Is(err, tc.wantE) || (tc.wantE == nil && err != nil) {
			t.Errorf("New(%q) = %v, want %v", tc.url, err, tc.wantE)
		}
	}
	for _, bad := range []string{"", "ftp://host", "https://", "https://u:pw-SECRET@host", "https://host/?token=SECRET", "relative:SECRET", "https://host/#SECRET"} {
		_, err := New(Options{BaseURL: bad})
		if err == nil {
			t.Errorf("New(%q) succeeded", bad)
		} else if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("New(%q) error shows the password: %v", bad, err)
		}
	}
}

func TestRedirectToAnotherHostKeepsCredentials(t *testing.T) {
	var leaked atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		leaked.Store(r.Header.Get("Authorization"))
		writeJSON(w, 200, map[string]any{"isLastPage": true, "values": []any{}})
	}))
	defer other.Close()
	f := newFake(t)
	fake := f.handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/moved/") {
			http.Redirect(w, r, other.URL+r.URL.Path, http.StatusFound)
			return
		}
		if strings.HasPrefix(r.URL.Path, "/same/") {
			http.Redirect(w, r, strings.TrimPrefix(r.URL.Path, "/same")+"?"+r.URL.RawQuery, http.StatusFound)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer srv.Close()
	ctx := context.Background()

	for _, hc := range []*http.Client{nil, {}} { // our default client, and a caller's
		c := newTestClient(t, srv.URL+"/moved", BearerToken(f.token), func(o *Options) { o.HTTPClient = hc })
		_, err := c.ListUserKeys(ctx, "")
		if err == nil || !strings.Contains(err.Error(), "refusing to follow a redirect") {
			t.Errorf("cross-host redirect: err = %v", err)
		}
		if v := leaked.Load(); v != nil {
			t.Fatalf("the other host was contacted (Authorization %q)", v)
		}
		if strings.Contains(err.Error(), f.token) {
			t.Errorf("error shows the token: %v", err)
		}
	}
	// Anonymous calls may follow, and a same-host redirect keeps working.
	if _, err := newTestClient(t, srv.URL+"/moved", nil).ListUserKeys(ctx, ""); err != nil {
		t.Errorf("anonymous redirect: %v", err)
	}
	if v := leaked.Load(); v != "" {
		t.Errorf("anonymous redirect sent Authorization %q", v)
	}
	if _, err := newTestClient(t, srv.URL+"/same", BearerToken(f.token)).ListUserKeys(ctx, ""); err != nil {
		t.Errorf("same-host redirect: %v", err)
	}
}

// writeOtherCA writes a self-signed CA certificate that signed nothing.
func writeOtherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "some other CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeCAFile(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTLSTrust(t *testing.T) {
	f := newFake(t)
	srv := httptest.NewUnstartedServer(f.handler())
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	ctx := context.Background()

	hc, err := NewHTTPClient(TLSSettings{CAInfo: writeCAFile(t, srv)}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := newTestClient(t, srv.URL, BearerToken(f.token), func(o *Options) { o.HTTPClient = hc })
	if _, err := c.SSHSettings(ctx); err != nil {
		t.Fatalf("with the CA in CAInfo: %v", err)
	}

	_, err = newTestClient(t, srv.URL, BearerToken(f.token)).SSHSettings(ctx)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("without CAInfo: err = %v, want an unknown authority error", err)
	}

	hc, err = NewHTTPClient(TLSSettings{InsecureSkipVerify: true}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newTestClient(t, srv.URL, nil, func(o *Options) { o.HTTPClient = hc }).SSHSettings(ctx); err != nil {
		t.Errorf("with verification off: %v", err)
	}

	// As in git, http.sslCAInfo replaces the system roots: a server the
	// system trusts is refused when CAInfo names another CA.
	otherCA := writeOtherCA(t)
	defer func(orig func() (*x509.CertPool, error)) { systemRoots = orig }(systemRoots)
	systemRoots = func() (*x509.CertPool, error) {
		p := x509.NewCertPool()
		p.AddCert(srv.Certificate())
		return p, nil
	}
	for _, c := range []struct {
		caInfo string
		ok     bool
	}{{"", true}, {otherCA, false}} {
		hc, err := NewHTTPClient(TLSSettings{CAInfo: c.caInfo}, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		_, err = newTestClient(t, srv.URL, BearerToken(f.token), func(o *Options) { o.HTTPClient = hc }).SSHSettings(ctx)
		if c.ok && err != nil {
			t.Errorf("trusted by the system roots, no CAInfo: %v", err)
		}
		if !c.ok && !errors.As(err, &unknown) {
			t.Errorf("trusted by the system roots, CAInfo names another CA: err = %v, want an unknown authority error", err)
		}
	}

	junk := filepath.Join(t.TempDir(), "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o644)
	if _, err := NewHTTPClient(TLSSettings{CAInfo: junk}, 0); err == nil {
		t.Error("a CAInfo file without certificates was accepted")
	}
	if _, err := NewHTTPClient(TLSSettings{CAInfo: filepath.Join(t.TempDir(), "missing.pem")}, 0); err == nil {
		t.Error("a missing CAInfo file was accepted")
	}
}

// No error, String or GoString may ever show the token or the password.
func TestSecretsNeverShown(t *testing.T) {
	f := newFake(t)
	srv := f.start()
	ctx := context.Background()
	var shown []string
	for _, auth := range []Auth{BearerToken(f.token), Basic(f.user, f.pass), BearerToken(f.token + "x"), Basic(f.user, f.pass+"x")} {
		c := newTestClient(t, srv.URL, auth)
		_, e1 := c.ListUserKeys(ctx, "nobody")
		_, e2 := c.AddUserKey(ctx, "junk", "", 0)
		_, e3 := c.GetUserKey(ctx, 42)
		_, e4 := c.Repository(ctx, "P", "..")
		shown = append(shown, fmt.Sprint(auth), fmt.Sprintf("%+v %#v %v %+v %#v", auth, auth, c, c, c))
		for _, err := range []error{e1, e2, e3, e4} {
			if err != nil {
				shown = append(shown, err.Error(), fmt.Sprintf("%+v %#v", err, err))
			}
		}
	}
	dead := newTestClient(t, "http://127.0.0.1:1", BearerToken(f.token))
	_, err := dead.ListUserKeys(ctx, "")
	shown = append(shown, err.Error())
	for _, s := range shown {
		if strings.Contains(s, "SECRET") {
			t.Errorf("secret shown: %s", s)
		}
	}
}
