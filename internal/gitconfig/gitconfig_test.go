package gitconfig

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

func TestReaderUsesGitsOwnRules(t *testing.T) {
	git := testutil.RequireTool(t, "git")
	home := t.TempDir()
	inc := filepath.Join(home, "included")
	os.WriteFile(inc, []byte("[bbkey]\n\tkeyType = ecdsa\n"), 0o644)
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte(
		"[user]\n\temail = a@example.com\n"+
			"[include]\n\tpath = "+inc+"\n"+
			"[http \"https://bb.example.com\"]\n\tsslCAInfo = /ca.pem\n"+
			"[http]\n\tsslVerify = false\n"+
			"[url \"ssh://git@BB.example.com:7999/\"]\n\tinsteadOf = bb:\n\tinsteadOf = https://bb.example.com/scm/\n"), 0o644)
	env := []string{"HOME=" + home, "GIT_CONFIG_NOSYSTEM=1", "PATH=" + os.Getenv("PATH"),
		"GIT_CONFIG_COUNT=1", "GIT_CONFIG_KEY_0=bbkey.remote", "GIT_CONFIG_VALUE_0=upstream"}
	r := &Reader{Git: git, Dir: home, Env: env}
	ctx := context.Background()

	check := func(got string, ok bool, err error, want string) {
		t.Helper()
		if err != nil || !ok || got != want {
			t.Fatalf("got %q ok=%v err=%v, want %q", got, ok, err, want)
		}
	}
	v, ok, err := r.Get(ctx, "user.email")
	check(v, ok, err, "a@example.com")
	v, ok, err = r.Get(ctx, "bbkey.keyType") // through [include]
	check(v, ok, err, "ecdsa")
	v, ok, err = r.Get(ctx, "bbkey.remote") // through GIT_CONFIG_*
	check(v, ok, err, "upstream")
	v, ok, err = r.GetURLMatch(ctx, "http.sslCAInfo", "https://bb.example.com/scm/p/r.git")
	check(v, ok, err, "/ca.pem")
	if _, ok, err := r.GetURLMatch(ctx, "http.sslCAInfo", "https://other.example.com/"); ok || err != nil {
		t.Fatalf("other host matched: ok=%v err=%v", ok, err)
	}
	b, ok, err := r.GetBool(ctx, "http.sslVerify")
	if err != nil || !ok || b {
		t.Fatalf("sslVerify: %v %v %v", b, ok, err)
	}
	if _, ok, err := r.Get(ctx, "bbkey.url"); ok || err != nil {
		t.Fatalf("unset key: ok=%v err=%v", ok, err)
	}

	got, err := r.GetRegexp(ctx, `^url\..*\.insteadof$`)
	want := [][2]string{{"url.ssh://git@BB.example.com:7999/.insteadof", "bb:"}, {"url.ssh://git@BB.example.com:7999/.insteadof", "https://bb.example.com/scm/"}}
	if err != nil || len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Fatalf("GetRegexp = %q, %v; want %q", got, err, want)
	}
	if got, err := r.GetRegexp(ctx, `^nosuch\.`); err != nil || len(got) != 0 {
		t.Fatalf("GetRegexp with no match = %q, %v", got, err)
	}
}
