package openssh

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// essentials are the settings the approximation must get right.
type essentials struct {
	Hostname, User, ProxyJump, ProxyCommand, HostKeyAlias, IdentityAgent string
	Port                                                                 int
	IdentitiesOnly                                                       bool
	IdentityFiles, KnownHosts                                            []string
}

func essentialsOf(s *Settings) essentials {
	e := essentials{Hostname: s.Hostname, User: s.User, ProxyJump: s.ProxyJump, ProxyCommand: s.ProxyCommand,
		HostKeyAlias: s.HostKeyAlias, IdentityAgent: s.IdentityAgent, Port: s.Port, IdentitiesOnly: s.IdentitiesOnly}
	for _, f := range s.IdentityFiles {
		e.IdentityFiles = append(e.IdentityFiles, f.Path)
	}
	for _, f := range s.UserKnownHostsFiles {
		e.KnownHosts = append(e.KnownHosts, f.Path)
	}
	return e
}

// TestApproximationMatchesSSH: without ssh, the configuration parser
// gives what ssh -G gives for the configurations it can read (OpenSSH is
// the oracle).
func TestApproximationMatchesSSH(t *testing.T) {
	dir := t.TempDir()
	incDir := filepath.Join(dir, "conf.d")
	if err := os.Mkdir(incDir, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, text := range map[string]string{
		"10-work.conf": "Host work\n  HostName work.example.com\n  Port 7998\n",
		"20-more.conf": "Host work more\n  User fromincluded\n  IdentityFile ~/.ssh/included\n",
	} {
		if err := os.WriteFile(filepath.Join(incDir, name), []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cfg := writeConfig(t,
		"Host bb",
		"  HostName bitbucket.example.com",
		"  Port 7999",
		"  User git",
		`  IdentityFile "~/.ssh/work key"`,
		"  IdentityFile ~/.ssh/%h_%r",
		"  IdentitiesOnly yes",
		"  IdentityAgent none",
		"  HostKeyAlias bbalias",
		"  UserKnownHostsFile ~/.ssh/kh /etc/kh",
		"Host *.example !bad.example",
		"  Port 2200",
		"  ProxyJump jump@bastion:2222",
		"Match host MatchedHost,other",
		"  User frommatch",
		"  ProxyCommand ssh -W %h:%p gw",
		"Host realhost",
		"  Port 7999",
		"Host inc",
		"  Include "+incDir+"/*.conf",
		"  User afterinclude",
		"Host *",
		"  User fallback",
	)
	r := testResolver(t, cfg)
	noSSH := []string{filepath.Join(dir, "no-such-ssh"), "-F", cfg}
	for _, tc := range []struct {
		target Target
		words  []string // more options on git's command line
	}{
		{target: Target{Host: "bb"}},
		{target: Target{Host: "BB", User: "someone", Port: 2022}},
		{target: Target{Host: "x.example"}},
		{target: Target{Host: "bad.example"}},
		{target: Target{Host: "matchedhost"}},
		{target: Target{Host: "realhost"}},
		{target: Target{Host: "work"}},
		{target: Target{Host: "more"}},
		{target: Target{Host: "inc"}},
		{target: Target{Host: "bb"}, words: []string{"-i", "/k/cli", "-p", "1234", "-o", "User=cli", "-l", "other"}},
		{target: Target{Host: "plain"}, words: []string{"-o", "Port 2", "-p", "3", "-oIdentityFile=/k/o"}},
	} {
		a := &Resolver{Command: r.Command, Local: r.Local, Home: r.Home, Env: r.Env}
		b := &Resolver{Command: r.Command, Local: r.Local, Home: r.Home, Env: r.Env}
		a.Command.Words = append(append([]string(nil), r.Command.Words...), tc.words...)
		b.Command.Words = append(append([]string(nil), noSSH...), tc.words...)
		b.Command.Text = strings.Join(b.Command.Words, " ")
		want, err := a.Settings(context.Background(), tc.target)
		if err != nil {
			t.Fatal(err)
		}
		got, err := b.Settings(context.Background(), tc.target)
		if err != nil {
			t.Fatalf("%v: %v", tc.target, err)
		}
		if !got.Approximated || want.Approximated {
			t.Errorf("%v: Approximated %v (ssh: %v)", tc.target, got.Approximated, want.Approximated)
		}
		if g, w := essentialsOf(got), essentialsOf(want); !reflect.DeepEqual(g, w) {
			t.Errorf("%v %q:\napproximated %+v\n     ssh -G %+v", tc.target, tc.words, g, w)
		}
	}
}

func TestMatchAsHost(t *testing.T) {
	for in, want := range map[string]string{
		"all":                       "Host *",
		"host a,b":                  "Host a b",
		"originalhost A":            "Host a",
		"host a exec true":          "Host !*",
		"user git":                  "Host !*",
		"canonical host x":          "Host !*",
		"host":                      "Host !*",
		`host "*.example,!x"`:       "Host *.example !x",
		"host a originalhost b,c":   "Host a b c",
		"localuser root host a.b.c": "Host !*",
	} {
		if got := matchAsHost(in); got != want {
			t.Errorf("matchAsHost(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMissingBehindShell: a GIT_SSH_COMMAND whose program does not exist
// (the shell says 127) gives approximated settings, not an error.
func TestMissingBehindShell(t *testing.T) {
	cfg := writeConfig(t, "Host bb", "  Port 7999")
	r := testResolver(t, cfg)
	r.Command = Command{Text: "no-such-ssh-program -F " + cfg + " $(true)", Shell: true, Variant: VariantAuto}
	s, err := r.Settings(context.Background(), Target{Host: "bb"})
	if err != nil || !s.Approximated {
		t.Fatalf("%+v %v", s, err)
	}
}
