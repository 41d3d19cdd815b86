package bbsession

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestResolveTheBaseURL(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	remote := []string(nil)
	ss := w.sessions(func(c *Config) {
		c.RemoteURLs = func(context.Context) ([]string, error) { return remote, nil }
	})

	if _, err := ss.Resolve(ctx, ""); !errors.Is(err, ErrNoServer) {
		t.Errorf("nothing anywhere: %v, want ErrNoServer", err)
	}
	// An https remote names the server: the first of the URLs as written
	// (an insteadOf rule may send git itself over SSH), context path kept.
	remote = []string{"ssh://git@bb.example.com:7999/proj/repo.git", "https://bb.example.com/ctx/scm/proj/repo.git"}
	if got, err := ss.Resolve(ctx, ""); err != nil || got != "https://bb.example.com/ctx" {
		t.Errorf("from the remote: %q, %v", got, err)
	}
	w.config("bbkey.url", "https://config.example.com/bitbucket/")
	if got, err := ss.Resolve(ctx, ""); err != nil || got != "https://config.example.com/bitbucket" {
		t.Errorf("bbkey.url: %q, %v", got, err)
	}
	if got, err := ss.Resolve(ctx, "http://127.0.0.1:7990/?x=1#y"); err != nil || got != "http://127.0.0.1:7990" {
		t.Errorf("--server: %q, %v", got, err)
	}

	for _, tc := range []struct {
		in       string
		userInfo bool
	}{
		{"ftp://host", false}, {"bitbucket.example.com", false}, {"https://", false},
		{"https://alice:SECRET@host", true}, {"https://alice@host", true},
	} {
		_, err := ss.Resolve(ctx, tc.in)
		var be *BaseURLError
		if !errors.As(err, &be) || be.UserInfo != tc.userInfo || be.Source != "--server" {
			t.Errorf("Resolve(%q) = %v, want a *BaseURLError (user info %v)", tc.in, err, tc.userInfo)
			continue
		}
		if strings.Contains(err.Error(), "SECRET") {
			t.Errorf("Resolve(%q) shows the password: %v", tc.in, err)
		}
		if msg := err.Error(); msg == "" || strings.HasSuffix(msg, ".") {
			t.Errorf("error wording: %q", msg)
		}
	}
	w.gitc("config", "--global", "--unset", "bbkey.url")
	w.config("bbkey.url", "not a url")
	var be *BaseURLError
	if _, err := ss.Resolve(ctx, ""); !errors.As(err, &be) || be.Source != "bbkey.url" {
		t.Errorf("bad bbkey.url: %v", err)
	}
	if _, err := NormalizeBaseURL("https://h/ctx/"); err != nil {
		t.Error(err)
	}
}

func TestOneSessionPerServer(t *testing.T) {
	w := newWorld(t)
	ss := w.sessions()
	ctx := context.Background()
	a, err := ss.For(ctx, "https://bb.example.com/ctx/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := ss.Open(ctx, "https://bb.example.com/ctx")
	c, _ := ss.For(ctx, "https://other.example.com")
	if a != b || a == c || a.Base() != "https://bb.example.com/ctx" {
		t.Errorf("sessions: %v %v %v", a, b, c)
	}
	if a.http.client == nil || a.http.client != b.http.client {
		t.Error("the HTTP client is not built once per server")
	}
}
