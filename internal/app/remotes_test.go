package app

import (
	"slices"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/gitremote"
)

func TestRewriteURL(t *testing.T) {
	rules := []insteadOf{
		{base: "ssh://git@bb.example.com:7999/", prefix: "bb:"},
		{base: "ssh://git@other.example.com/", prefix: "bb:proj/"},
		{base: "ssh://git@bb.example.com:7999/", prefix: "https://bb.example.com/scm/"},
	}
	for _, c := range []struct{ in, want string }{
		{"bb:team/repo.git", "ssh://git@bb.example.com:7999/team/repo.git"},
		{"bb:proj/repo.git", "ssh://git@other.example.com/repo.git"}, // the longest prefix wins
		{"https://bb.example.com/scm/proj/repo.git", "ssh://git@bb.example.com:7999/proj/repo.git"},
		{"https://github.com/o/r.git", "https://github.com/o/r.git"},
		{"xbb:proj/repo.git", "xbb:proj/repo.git"}, // a prefix, not a substring
	} {
		if got := rewriteURL(c.in, rules); got != c.want {
			t.Errorf("rewriteURL(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := rewriteURL("bb:x", nil); got != "bb:x" {
		t.Errorf("no rules: %q", got)
	}
}

// Where git fetches and pushes, as remote.c works it out.
func TestRewriteRemote(t *testing.T) {
	rules := []insteadOf{
		{base: "ssh://git@bb:7999/", prefix: "bb:"},
		{base: "ssh://git@push:7999/", prefix: "bb:fork/", push: true},
	}
	for _, c := range []struct {
		name           string
		urls, pushURLs []string
		wantURLs       []string
		wantPush       []string
	}{
		{"no pushurl, no pushInsteadOf match", []string{"bb:p/r.git"}, nil,
			[]string{"ssh://git@bb:7999/p/r.git"}, []string{"ssh://git@bb:7999/p/r.git"}},
		{"pushInsteadOf", []string{"bb:fork/r.git"}, nil,
			[]string{"ssh://git@bb:7999/fork/r.git"}, []string{"ssh://git@push:7999/r.git"}},
		// git pushes only to the URLs a pushInsteadOf rule matched.
		{"pushInsteadOf for one URL of two", []string{"bb:p/r.git", "bb:fork/r.git"}, nil,
			[]string{"ssh://git@bb:7999/p/r.git", "ssh://git@bb:7999/fork/r.git"}, []string{"ssh://git@push:7999/r.git"}},
		// A pushurl takes insteadOf, never pushInsteadOf.
		{"pushurl", []string{"bb:p/r.git"}, []string{"bb:fork/r.git"},
			[]string{"ssh://git@bb:7999/p/r.git"}, []string{"ssh://git@bb:7999/fork/r.git"}},
	} {
		r := gitremote.Remote{Name: "origin", URLs: slices.Clone(c.urls), PushURLs: slices.Clone(c.pushURLs)}
		rewriteRemote(&r, rules)
		if !slices.Equal(r.URLs, c.wantURLs) || !slices.Equal(r.PushURLs, c.wantPush) {
			t.Errorf("%s: URLs %q, PushURLs %q; want %q, %q", c.name, r.URLs, r.PushURLs, c.wantURLs, c.wantPush)
		}
	}
	if got := pushURLOf("bb:fork/r.git", rules); got != "ssh://git@push:7999/r.git" {
		t.Errorf("pushURLOf = %q", got)
	}
	if got := pushURLOf("bb:p/r.git", rules); got != "ssh://git@bb:7999/p/r.git" {
		t.Errorf("pushURLOf without a push rule = %q", got)
	}
}
