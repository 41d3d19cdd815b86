package bbsession

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/bitbucket"
)

// tokenSession is a session with alice's token.
func tokenSession(t *testing.T, s *bbsandbox.Server) *Session {
	t.Helper()
	w := newWorld(t)
	w.setenv("BITBUCKET_TOKEN", aliceToken)
	return w.session(s.URL())
}

func TestSSHAddressIsWhatBitbucketAdvertises(t *testing.T) {
	ctx := context.Background()
	// Behind a port forward: Bitbucket listens on one port (settings.port)
	// and tells users another (the SSH base URL and the clone links).
	s := startSandbox(t, func(c *bbsandbox.Config) { c.AdvertisedSSHPort = 2222 })
	sess := tokenSession(t, s)
	addr, err := sess.SSHAddress(ctx)
	if err != nil || addr != (SSHAddress{Host: "127.0.0.1", Port: 2222, User: "git"}) {
		t.Fatalf("SSHAddress = %+v, %v; want the advertised port 2222, not %d", addr, err, s.SSHPort())
	}
	if set, _ := sess.Settings(ctx); set.Port != s.SSHPort() {
		t.Errorf("settings.port = %d, the sandbox listens on %d", set.Port, s.SSHPort())
	}
	for _, tc := range []struct {
		baseURL string
		want    SSHAddress
	}{
		{"ssh://git@bb.example.com", SSHAddress{"bb.example.com", 22, "git"}},
		{"ssh://bb.example.com:7999/", SSHAddress{"bb.example.com", 7999, "git"}},
		{"bb.example.com:7998", SSHAddress{"bb.example.com", 7998, "git"}},
		{"ssh://scm@[::1]:7999", SSHAddress{"::1", 7999, "scm"}},
		{"ext::sh -c id", SSHAddress{"127.0.0.1", s.SSHPort(), "git"}}, // not an SSH URL: the base host and settings.port
	} {
		s.SetSettingsBaseURL(tc.baseURL)
		if got, err := tokenSession(t, s).SSHAddress(ctx); err != nil || got != tc.want {
			t.Errorf("baseUrl %q: %+v, %v; want %+v", tc.baseURL, got, err, tc.want)
		}
	}
	s.SetSettingsBaseURL("")
	s.SetSSHEnabled(false)
	var de *SSHDisabledError
	if addr, err := tokenSession(t, s).SSHAddress(ctx); !errors.As(err, &de) || addr.Port != 2222 {
		t.Errorf("SSH disabled: %+v, %v", addr, err)
	}
	if got := (SSHAddress{"h", 22, "git"}).URL("/p/r.git"); got != "ssh://git@h/p/r.git" {
		t.Errorf("URL on port 22: %s", got)
	}
}

func TestSettingsAndVersionAreReadOnce(t *testing.T) {
	s := startSandbox(t)
	sess := tokenSession(t, s)
	ctx := context.Background()
	for range 3 {
		sess.Settings(ctx)                      //nolint:errcheck
		sess.SSHAddress(ctx)                    //nolint:errcheck
		sess.PublishedHostKey(ctx, "127.0.0.1") //nolint:errcheck
		sess.Version(ctx)                       //nolint:errcheck
		sess.Require(ctx, FeatureKeyExpiry)     //nolint:errcheck
		sess.CloneURL(ctx, "PROJ", "demo")      //nolint:errcheck
	}
	if n, v := count(s, "GET", "/ssh/1.0/settings"), count(s, "GET", "/application-properties"); n != 1 || v != 1 {
		t.Errorf("settings read %d times, version %d times; want once each", n, v)
	}
	if !sess.SettingsWithCredentials() {
		t.Error("settings were read with the token")
	}
}

func TestPublishedHostKey(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	want := ssh.FingerprintSHA256(s.HostKey())
	for _, tc := range []struct{ prefix, padding bool }{{false, false}, {true, true}} {
		s.SetSettingsFingerprintFormat(tc.prefix, tc.padding)
		hk, err := tokenSession(t, s).PublishedHostKey(ctx, "127.0.0.1")
		if err != nil || hk != (HostKey{Fingerprint: want, Trusted: true}) {
			t.Errorf("format %+v: %+v, %v", tc, hk, err)
		}
	}
	// Another SSH host than the server's: not vouched for.
	if hk, _ := tokenSession(t, s).PublishedHostKey(ctx, "elsewhere.example.com"); hk.Trusted {
		t.Errorf("another host: %+v", hk)
	}
	// Through a proxy, plain http to loopback is no longer a trusted
	// channel: nothing is read.
	w := newWorld(t)
	w.setenv("BITBUCKET_TOKEN", aliceToken)
	w.setenv("http_proxy", startProxy(t).URL())
	before := count(s, "GET", "/settings")
	if hk, err := w.session(s.URL()).PublishedHostKey(ctx, "127.0.0.1"); err != nil || hk.Trusted || hk.Fingerprint != "" {
		t.Errorf("plain http through a proxy: %+v, %v", hk, err)
	}
	if count(s, "GET", "/settings") != before {
		t.Error("settings were read over an untrusted channel")
	}
	// Settings need credentials here: the error is the server's.
	if _, err := newWorld(t).session(s.URL()).PublishedHostKey(ctx, "127.0.0.1"); !bitbucket.IsKind(err, bitbucket.KindUnauthorized) {
		t.Errorf("anonymous: %v", err)
	}
}

func TestCloneURL(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	sess := tokenSession(t, s)
	if got, err := sess.CloneURL(ctx, "PROJ", "demo"); err != nil || got != s.CloneURL("PROJ", "demo") {
		t.Errorf("clone link: %q, %v", got, err)
	}
	// No such repository: built from the SSH address as Bitbucket would.
	want := "ssh://git@127.0.0.1:" + strconv.Itoa(s.SSHPort()) + "/proj/missing.git"
	if got, err := sess.CloneURL(ctx, "PROJ", "missing"); err != nil || got != want {
		t.Errorf("missing repository: %q, %v; want %q", got, err, want)
	}
	// A hostile server's ext:: link is refused, never used.
	s.SetFaults(bbsandbox.Faults{ExtCloneLink: true})
	var ce *CloneLinkError
	if got, err := tokenSession(t, s).CloneURL(ctx, "PROJ", "demo"); !errors.As(err, &ce) || got != "" || ce.Link != bbsandbox.HostileCloneLink {
		t.Errorf("ext:: link: %q, %v", got, err)
	}
	s.SetFaults(bbsandbox.Faults{})
	// Anonymous and no settings either: one error that says both failed.
	var cu *CloneURLError
	if _, err := newWorld(t).session(s.URL()).CloneURL(ctx, "PROJ", "demo"); !errors.As(err, &cu) || !bitbucket.IsKind(err, bitbucket.KindUnauthorized) {
		t.Errorf("anonymous: %v", err)
	}
}

func TestVersionGates(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	for _, tc := range []struct {
		version string
		feature Feature
		ok      bool
	}{
		{"9.2.0", FeatureSecurityKeys, true},
		{"8.13.0", FeatureSecurityKeys, true},
		{"8.12.9", FeatureSecurityKeys, false},
		{"8.7", FeatureKeyExpiry, true},
		{"8.6.2-SNAPSHOT", FeatureKeyExpiry, false},
		{"7.10.0", FeatureECDSAKeys, true},
		{"7.9.1", FeatureECDSAKeys, false},
		{"not a version", FeatureSecurityKeys, true}, // unknown: the server decides
	} {
		s.SetVersion(tc.version)
		err := tokenSession(t, s).Require(ctx, tc.feature)
		var ue *UnsupportedError
		if tc.ok != (err == nil) || (!tc.ok && (!errors.As(err, &ue) || ue.Feature != tc.feature || ue.Have.Raw != tc.version)) {
			t.Errorf("%s needs %s: %v", tc.version, tc.feature, err)
		}
	}
	if got := FeaturesForKey("sk-ssh-ed25519@openssh.com", true); len(got) != 2 || got[0] != FeatureSecurityKeys || got[1] != FeatureKeyExpiry {
		t.Errorf("FeaturesForKey(sk, expiry) = %v", got)
	}
	if got := FeaturesForKey("ssh-ed25519", false); len(got) != 0 {
		t.Errorf("FeaturesForKey(ed25519) = %v", got)
	}
}

func TestExplainNamesTheCause(t *testing.T) {
	ctx := context.Background()
	s := startSandbox(t)
	demo := bitbucket.Scope{Project: "PROJ", Slug: "demo"}
	cause := func(sess *Session, err error, op Op) DeniedCause {
		var de *DeniedError
		if errors.As(sess.Explain(ctx, err, op), &de) {
			return de.Cause
		}
		return 0
	}
	alice := tokenSession(t, s)
	c, _ := alice.Client(ctx)

	// Not an admin of the repository: bob.
	w := newWorld(t)
	cs := newCredentialStore(t, w)
	cs.seed(s, "bob", bobPW)
	bob := w.session(s.URL())
	bc, _ := bob.Client(ctx)
	_, err := bc.ListAccessKeys(ctx, demo)
	if got := cause(bob, err, OpAccessKey); got != DeniedNotAdmin {
		t.Errorf("bob on access keys: cause %d (%v)", got, err)
	}
	// A token that may not change the account's keys.
	s.SetTokensCanManageUserKeys(false)
	_, err = c.AddUserKey(ctx, bitbucket.NewKey{Text: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBfmJhHgQVi7VgfN3B+LQaTrvGGAELpL0GAb6aMK4Z3g x"})
	if got := cause(alice, err, OpWriteUserKey); got != DeniedTokenMayNotManage {
		t.Errorf("token adding a user key: cause %d (%v)", got, err)
	}
	// Access keys switched off on the server.
	s.SetAccessKeysEnabled(false)
	_, err = c.ListAccessKeys(ctx, demo)
	if got := cause(tokenSession(t, s), err, OpAccessKey); got != DeniedAccessKeysOff {
		t.Errorf("access keys off: cause %d (%v)", got, err)
	}
	// The XSRF filter, and another 403.
	s.FailNext(1, 403, "XSRF check failed", "text/plain", "")
	_, err = c.ListUserKeys(ctx, "")
	if got := cause(alice, err, OpRead); got != DeniedXSRF {
		t.Errorf("XSRF: cause %d (%v)", got, err)
	}
	s.FailNext(1, 403, `{"errors":[{"message":"no"}]}`, "application/json", "")
	_, err = c.ListUserKeys(ctx, "")
	if got := cause(alice, err, OpRead); got != DeniedForbidden {
		t.Errorf("403: cause %d (%v)", got, err)
	}
	// A wrong password and other errors stay what they are.
	for _, e := range []error{&bitbucket.Error{Kind: bitbucket.KindUnauthorized, ExceptionNames: []string{"x.IncorrectPasswordAuthenticationException"}}, &bitbucket.Error{Kind: bitbucket.KindConflict}, errors.New("other")} {
		if got := alice.Explain(ctx, e, OpAccessKey); got != e {
			t.Errorf("Explain(%v) = %v, want it unchanged", e, got)
		}
	}
}
