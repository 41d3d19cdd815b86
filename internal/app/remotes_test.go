package app

import "testing"

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
