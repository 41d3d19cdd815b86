package bitbucket_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

func hostKeyFP(s *bbsandbox.Server) string { return ssh.FingerprintSHA256(s.HostKey()) }

func TestErrorKinds(t *testing.T) {
	s := startSandbox(t)
	ctx := context.Background()

	_, err := newClient(t, s.URL(), bitbucket.Basic("alice", "wrong")).ListUserKeys(ctx, "")
	e := wantKind(t, err, bitbucket.KindUnauthorized, "rejected the credentials", "Authentication failed")
	if !e.BadPassword() || e.Base != s.URL() {
		t.Errorf("BadPassword() = %v, Base %q for a wrong password", e.BadPassword(), e.Base)
	}
	_, err = newClient(t, s.URL(), nil).ListUserKeys(ctx, "")
	if e := wantKind(t, err, bitbucket.KindUnauthorized, "lacks permission", "not permitted"); e.BadPassword() {
		t.Error("BadPassword() = true for a permission 401")
	}

	// A gateway's 401, in HTML and without Bitbucket's words, is still
	// about the credentials.
	s.SetFaults(bbsandbox.Faults{BareUnauthorized: true})
	_, err = newClient(t, s.URL(), alice()).ListUserKeys(ctx, "")
	if e := wantKind(t, err, bitbucket.KindUnauthorized, "401"); e.BadPassword() {
		t.Error("BadPassword() = true without the exception name")
	}
	s.SetFaults(bbsandbox.Faults{})

	c := newClient(t, s.URL(), alice())
	key := newKey(t, "a@example.com")
	if _, err := c.AddUserKey(ctx, bitbucket.NewKey{Text: key}); err != nil {
		t.Fatal(err)
	}
	_, err = c.AddUserKey(ctx, bitbucket.NewKey{Text: key, Label: "again"})
	wantKind(t, err, bitbucket.KindConflict, "already registered", "409")
	_, err = c.AddUserKey(ctx, bitbucket.NewKey{Text: "not a key"})
	wantKind(t, err, bitbucket.KindInvalidKey, "The SSH key is invalid", "400")
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallPub, _ := ssh.NewPublicKey(&small.PublicKey)
	_, err = c.AddUserKey(ctx, bitbucket.NewKey{Text: string(ssh.MarshalAuthorizedKey(smallPub))})
	wantKind(t, err, bitbucket.KindInvalidKey, "requirements set by your admin")

	// Bitbucket's XSRF filter answers 403 in plain text; another 403 is
	// just forbidden.
	s.FailNext(1, 403, "XSRF check failed\n", "text/plain;charset=UTF-8", "")
	_, err = c.AddUserKey(ctx, bitbucket.NewKey{Text: newKey(t, "b")})
	wantKind(t, err, bitbucket.KindXSRF, "XSRF check failed", "403")
	s.FailNext(1, 403, "Forbidden by policy", "text/plain", "")
	_, err = c.AddUserKey(ctx, bitbucket.NewKey{Text: newKey(t, "b")})
	wantKind(t, err, bitbucket.KindForbidden, "Forbidden by policy")
}

func TestNotJSONAnswers(t *testing.T) {
	s := startSandbox(t)
	c := newClient(t, s.URL(), alice())
	ctx := context.Background()
	page := "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"

	s.FailNext(1, 502, page, "text/html; charset=iso-8859-1", "")
	_, err := c.ListUserKeys(ctx, "")
	wantKind(t, err, bitbucket.KindNotJSON, "502 Bad Gateway", "text/html", "instead of bitbucket's JSON")

	// A single-sign-on login page served with 200.
	s.FailNext(1, 200, page, "text/html", "")
	_, err = c.SSHSettings(ctx)
	wantKind(t, err, bitbucket.KindNotJSON, "200 OK", "text/html")

	// A proxy's 404 page means the delete went nowhere: not "already gone".
	s.FailNext(1, 404, page, "text/html", "")
	wantKind(t, c.DeleteUserKey(ctx, 3), bitbucket.KindNotJSON, "404")

	// JSON of the wrong shape.
	s.FailNext(1, 200, `{"values": "no"}`, "application/json", "")
	_, err = c.ListUserKeys(ctx, "")
	var de *bitbucket.DecodeError
	if !errors.As(err, &de) {
		t.Errorf("wrong shape: %v, want a *DecodeError", err)
	}
}

func TestRetries(t *testing.T) {
	s := startSandbox(t)
	ctx := context.Background()
	date := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	for _, tc := range []struct {
		status     int
		retryAfter string
		check      func(time.Duration) bool
	}{
		{429, "2", func(d time.Duration) bool { return d == 2*time.Second }},
		{503, date, func(d time.Duration) bool { return d == 10*time.Second }}, // an hour away: capped
		{503, "", func(d time.Duration) bool { return d > 0 && d <= 10*time.Second }},
	} {
		rec := &recordSleep{}
		c := newClient(t, s.URL(), alice(), func(o *bitbucket.Options) { o.Sleep = rec.sleep })
		s.FailNext(1, tc.status, "", "", tc.retryAfter)
		if _, err := c.AddUserKey(ctx, bitbucket.NewKey{Text: newKey(t, "r")}); err != nil {
			t.Fatalf("%d %q then success: %v", tc.status, tc.retryAfter, err)
		}
		if w := rec.got(); len(w) != 1 || !tc.check(w[0]) {
			t.Errorf("%d Retry-After %q: waits %v", tc.status, tc.retryAfter, w)
		}
	}

	rec := &recordSleep{}
	before := len(s.Requests())
	s.FailNext(10, 503, `{"errors":[{"message":"Bitbucket is starting up"}]}`, "", "1")
	_, err := newClient(t, s.URL(), alice(), func(o *bitbucket.Options) { o.Sleep = rec.sleep }).SSHSettings(ctx)
	wantKind(t, err, bitbucket.KindServer, "Bitbucket is starting up", "503")
	if n := len(s.Requests()) - before; n != 4 || len(rec.got()) != 3 {
		t.Errorf("attempts = %d, waits = %v; want 4 attempts (3 retries)", n, rec.got())
	}
	before = len(s.Requests())
	_, err = newClient(t, s.URL(), alice(), func(o *bitbucket.Options) { o.MaxRetries = -1 }).SSHSettings(ctx)
	wantKind(t, err, bitbucket.KindServer)
	if n := len(s.Requests()) - before; n != 1 {
		t.Errorf("MaxRetries -1: %d attempts, want 1", n)
	}
	s.FailNext(0, 0, "", "", "")
}

func TestDecodingDatesWarningsAndFingerprints(t *testing.T) {
	var keys []bitbucket.SSHKey
	if err := json.Unmarshal([]byte(`[
		{"id":1,"createdDate":1630041546434,"lastAuthenticated":"1630041546434","warning":"RSA keys below 3072 bits are deprecated"},
		{"id":2,"createdDate":"2021-08-27T05:19:06.434Z","lastAuthenticated":null,"warning":{"message":"expires soon"}},
		{"id":3,"createdDate":"2021-08-27T05:19:06.434+0000","lastAuthenticated":"yesterday-ish"},
		{"id":4,"createdDate":1.630041546434E12}]`), &keys); err != nil {
		t.Fatal(err)
	}
	want := time.UnixMilli(1630041546434).UTC()
	for _, k := range keys {
		if !k.CreatedDate.Equal(want) {
			t.Errorf("key %d: createdDate = %v, want %v", k.ID, k.CreatedDate, want)
		}
	}
	if !keys[0].LastAuthenticated.Equal(want) || keys[1].LastAuthenticated != nil || !keys[2].LastAuthenticated.IsZero() {
		t.Errorf("lastAuthenticated = %v, %v, %v", keys[0].LastAuthenticated, keys[1].LastAuthenticated, keys[2].LastAuthenticated)
	}
	if keys[0].Warning != "RSA keys below 3072 bits are deprecated" || keys[1].Warning != "expires soon" {
		t.Errorf("warnings = %q, %q", keys[0].Warning, keys[1].Warning)
	}

	for _, tc := range []struct{ in, want string }{
		{"Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI", "SHA256:Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI"},
		{"Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI=", "SHA256:Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI"},
		{" sha256:Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI= \n", "SHA256:Cbg38r+gDCiNHqBk6Y1BKO+EvufFBqhFWIEXh8oq9MI"},
		{"", ""},
		{"SHA256:", ""},
	} {
		if got := bitbucket.NormalizeFingerprint(tc.in); got != tc.want {
			t.Errorf("NormalizeFingerprint(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}

	// The settings fingerprint in every shape a server may send it, through
	// a real answer: the sandbox plays the answer given.
	s := startSandbox(t)
	c := newClient(t, s.URL(), alice())
	for raw, want := range map[string]string{
		`{"algorithm":"SHA256","value":"AAAA="}`:       "SHA256:AAAA",
		`{"algorithm":"SHA256","value":"SHA256:AAAA"}`: "SHA256:AAAA",
		`{"value":"AAAA"}`:                             "SHA256:AAAA",
		`"SHA256:AAAA=="`:                              "SHA256:AAAA",
		`{"algorithm":"MD5","value":"aa:bb"}`:          "MD5:aa:bb",
		`null`:                                         "",
	} {
		s.FailNext(1, 200, `{"enabled":true,"port":7999,"baseUrl":"ssh://git@bb.example:7999","fingerprint":`+raw+`}`, "application/json", "")
		set, err := c.SSHSettings(context.Background())
		if err != nil || set.Fingerprint != want || set.Port != 7999 || set.BaseURL != "ssh://git@bb.example:7999" {
			t.Errorf("fingerprint %s: settings = %+v, %v; want fingerprint %q", raw, set, err, want)
		}
	}
}

func TestPagingFaults(t *testing.T) {
	s := startSandbox(t, func(c *bbsandbox.Config) { c.PageLimit = 2 })
	ctx := context.Background()
	for range 3 {
		if _, err := s.AddUserKey("alice", newKey(t, "k"), ""); err != nil {
			t.Fatal(err)
		}
	}
	list := func(mod ...func(*bitbucket.Options)) error {
		_, err := newClient(t, s.URL(), alice(), mod...).ListUserKeys(ctx, "")
		return err
	}
	var pe *bitbucket.PagingError
	s.SetFaults(bbsandbox.Faults{PagingLoop: true})
	if err := list(); !errors.As(err, &pe) || pe.Reason != bitbucket.PagingRepeat || pe.Start != 1 {
		t.Errorf("repeated nextPageStart: %v", err)
	}
	s.SetFaults(bbsandbox.Faults{NoNextPageStart: true})
	if err := list(); !errors.As(err, &pe) || pe.Reason != bitbucket.PagingNoNext {
		t.Errorf("no nextPageStart: %v", err)
	}

	limited := func(err error, want bitbucket.Limit) *bitbucket.LimitError {
		t.Helper()
		var le *bitbucket.LimitError
		if !errors.As(err, &le) || le.Limit != want {
			t.Fatalf("err = %v, want a *LimitError of kind %d", err, want)
		}
		checkWording(t, err)
		return le
	}
	// One key per page, forever: the page bound.
	s.SetFaults(bbsandbox.Faults{EndlessPaging: true})
	before := len(s.Requests())
	le := limited(list(func(o *bitbucket.Options) { o.ListMaxPages = 50 }), bitbucket.LimitListPages)
	if n := len(s.Requests()) - before; n != 50 || le.Pages != 50 || !strings.Contains(le.Error(), "more than 50 pages") {
		t.Errorf("endless paging: %d requests, %v", n, le)
	}
	// The same, slowly: the time bound.
	s.SetDelay(30 * time.Millisecond)
	start := time.Now()
	limited(list(func(o *bitbucket.Options) { o.ListMaxTime = 300 * time.Millisecond }), bitbucket.LimitListTime)
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the time bound took %v", d)
	}
	s.SetDelay(0)
	// Huge pages: the byte bound stops the listing long before memory does.
	s.SetFaults(bbsandbox.Faults{EndlessPaging: true, PageBytes: 3 << 20})
	le = limited(list(), bitbucket.LimitListBytes)
	if le.Pages != 5 || le.Bytes > 16<<20+1 {
		t.Errorf("3 MB pages against a 16 MB bound: %v", le)
	}
	// One answer over the per-answer bound.
	s.SetFaults(bbsandbox.Faults{PageBytes: 9 << 20})
	limited(list(), bitbucket.LimitAnswerBytes)
	// A deadline of the caller is the caller's, not the listing's bound.
	s.SetFaults(bbsandbox.Faults{EndlessPaging: true})
	s.SetDelay(30 * time.Millisecond)
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := newClient(t, s.URL(), alice()).ListUserKeys(cctx, "")
	if errors.As(err, &le) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("caller's deadline: %v", err)
	}
	s.SetDelay(0)
	s.SetFaults(bbsandbox.Faults{})
	if err := list(); err != nil {
		t.Errorf("after the faults: %v", err)
	}
}
