package bitbucket_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

var fuzzContentTypes = []string{
	"application/json;charset=UTF-8", "application/json", "text/html", "text/plain;charset=UTF-8",
	"", "application/problem+json", "application/octet-stream",
}

// FuzzServerAnswers feeds arbitrary answers of the server (status, content
// type, body) to every call of the client, through a real HTTP exchange
// with the sandbox. Whatever the server says, the client must not panic,
// must return a value or a typed, well-worded error, must stay within its
// bounds and must never show the credentials.
func FuzzServerAnswers(f *testing.F) {
	for _, seed := range []struct {
		status int
		ctype  uint8
		body   string
	}{
		{201, 0, `{}`},
		{201, 0, `{"key":{}}`},
		{200, 0, `{"values":[{"id":1,"text":"ssh-ed25519 AAAA x","createdDate":1e300,"warning":{"x":[1]}}],"isLastPage":false,"nextPageStart":0}`},
		{200, 0, `{"values":[],"isLastPage":false}`},
		{200, 0, `{"values":null,"isLastPage":true}`},
		{200, 0, `{"enabled":true,"port":-1,"baseUrl":"ext::sh -c id","fingerprint":{"algorithm":"SHA256","value":"=="}}`},
		{200, 0, `{"slug":"x","links":{"clone":[{"href":"ext::sh -c id","name":"ssh"},{"name":"ssh"}]}}`},
		{200, 0, `{"version":["9"]}`},
		{401, 0, `{"errors":[{"message":"\u001b[2J\r\nerror: fake","exceptionName":"x.IncorrectPasswordAuthenticationException"}]}`},
		{403, 3, "XSRF check failed"},
		{404, 2, "<html>Not Found</html>"},
		{409, 0, `{"errors":null,"message":"dup"}`},
		{500, 4, `{`},
		{200, 5, `{"values":[{"key":{"id":"7"}}],"isLastPage":true}`},
		{204, 0, ``},
	} {
		f.Add(seed.status, seed.ctype, []byte(seed.body))
	}
	s, err := bbsandbox.Start(context.Background(), bbsandbox.Config{
		DataDir: f.TempDir(),
		Users:   []bbsandbox.User{{Name: "alice", Password: alicePW, Tokens: []string{aliceToken}}},
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	c, err := bitbucket.New(bitbucket.Options{BaseURL: s.URL(), Auth: bitbucket.Basic("alice", alicePW), Timeout: 5 * time.Second,
		MaxRetries: -1, ListMaxPages: 5, ListMaxTime: 5 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	scope := bitbucket.Scope{Project: "PROJ", Slug: "demo"}
	key := bitbucket.NewKey{Text: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPlaceholderKeyTextForFuzzing x", Label: "l", ExpiryDays: 3}

	f.Fuzz(func(t *testing.T, status int, ctype uint8, body []byte) {
		if status < 0 {
			status = -status
		}
		status = 200 + status%400
		s.FailNext(1000, status, string(body), fuzzContentTypes[int(ctype)%len(fuzzContentTypes)], "")
		defer s.FailNext(0, 0, "", "", "")
		if len(body) == 0 {
			// An empty body makes the sandbox send its own error envelope:
			// fine, but then the status must be an error one.
			s.FailNext(1000, max(status, 400), "", "", "")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()

		check := func(name string, ok bool, err error) {
			t.Helper()
			if err == nil {
				if !ok {
					t.Errorf("%s: no error and no value", name)
				}
				return
			}
			msg := err.Error()
			if msg == "" || msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("%s: error %q does not start lowercase", name, msg)
			}
			if strings.Contains(msg, alicePW) {
				t.Errorf("%s: error shows the password", name)
			}
		}
		_, err := c.ListUserKeys(ctx, "")
		check("ListUserKeys", true, err)
		k, err := c.AddUserKey(ctx, key)
		check("AddUserKey", k != nil, err)
		err = c.DeleteUserKey(ctx, 1)
		check("DeleteUserKey", true, err)
		_, err = c.ListAccessKeys(ctx, scope)
		check("ListAccessKeys", true, err)
		ak, err := c.AddAccessKey(ctx, scope, key, bitbucket.RepoRead)
		check("AddAccessKey", ak != nil, err)
		ak, err = c.SetAccessKeyPermission(ctx, scope, 1, bitbucket.RepoWrite)
		check("SetAccessKeyPermission", ak != nil, err)
		set, err := c.SSHSettings(ctx)
		check("SSHSettings", set != nil, err)
		if set != nil && set.Fingerprint != "" && !strings.Contains(set.Fingerprint, ":") {
			t.Errorf("settings fingerprint %q has no algorithm prefix", set.Fingerprint)
		}
		repo, err := c.Repository(ctx, "PROJ", "demo")
		check("Repository", repo != nil, err)
		props, err := c.ApplicationProperties(ctx)
		check("ApplicationProperties", props != nil, err)
	})
}
