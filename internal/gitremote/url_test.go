package gitremote

import (
	"errors"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

type urlCase struct {
	raw     string
	user    string
	host    string
	port    int
	path    string
	scpLike bool
	scheme  string // "" means "ssh"
}

var sshURLCases = []urlCase{
	{raw: "ssh://git@bitbucket.example.com:7999/proj/repo.git", user: "git", host: "bitbucket.example.com", port: 7999, path: "/proj/repo.git"},
	{raw: "ssh://bitbucket.example.com/proj/repo", host: "bitbucket.example.com", port: 22, path: "/proj/repo"},
	{raw: "git+ssh://git@host:2222/proj/repo.git", user: "git", host: "host", port: 2222, path: "/proj/repo.git"},
	{raw: "ssh+git://host/proj/repo.git", host: "host", port: 22, path: "/proj/repo.git"},
	{raw: "ssh://host:/p", host: "host", port: 22, path: "/p"},
	{raw: "ssh://git@host:7999/~alice/repo.git", user: "git", host: "host", port: 7999, path: "~alice/repo.git"},
	{raw: "ssh://git@host:7999/%7Ealice/repo.git", user: "git", host: "host", port: 7999, path: "~alice/repo.git"},
	{raw: "ssh://host/p%20q.git", host: "host", port: 22, path: "/p q.git"},
	{raw: "ssh://host/p%", host: "host", port: 22, path: "/p%"},
	{raw: "ssh://a@b@host:22/p", user: "a@b", host: "host", port: 22, path: "/p"},
	{raw: "ssh://[::1]:2222/proj/repo.git", host: "::1", port: 2222, path: "/proj/repo.git"},
	{raw: "ssh://git@[::1]/proj/repo.git", user: "git", host: "::1", port: 22, path: "/proj/repo.git"},
	{raw: "ssh://u@[fe80::1%25eth0]/p", user: "u", host: "fe80::1%eth0", port: 22, path: "/p"},
	{raw: "ssh://::1/p", host: "::1", port: 22, path: "/p"},
	{raw: "ssh://[host:7999]/p", host: "host", port: 7999, path: "/p"},
	{raw: "ssh://[git@host:7999]/p", user: "git", host: "host", port: 7999, path: "/p"},
	{raw: "ssh://[::1]/~u/r", host: "::1", port: 22, path: "~u/r"},
	{raw: "git@bitbucket.example.com:proj/repo.git", user: "git", host: "bitbucket.example.com", port: 22, path: "proj/repo.git", scpLike: true},
	{raw: "host:proj/repo", host: "host", port: 22, path: "proj/repo", scpLike: true},
	{raw: "host:/abs/repo.git", host: "host", port: 22, path: "/abs/repo.git", scpLike: true},
	{raw: "host:~user/repo", host: "host", port: 22, path: "~user/repo", scpLike: true},
	{raw: "host:/~user/repo", host: "host", port: 22, path: "~user/repo", scpLike: true},
	{raw: "host:p:q", host: "host", port: 22, path: "p:q", scpLike: true},
	{raw: "host:p%20q", host: "host", port: 22, path: "p%20q", scpLike: true},
	{raw: "[git@host:7999]:proj/repo.git", user: "git", host: "host", port: 7999, path: "proj/repo.git", scpLike: true},
	{raw: "[host:22]:p", host: "host", port: 22, path: "p", scpLike: true},
	{raw: "user@[host:2222]:p", user: "user", host: "host", port: 2222, path: "p", scpLike: true},
	{raw: "[user@host]:p", user: "user", host: "host", port: 22, path: "p", scpLike: true},
	{raw: "[::1]:repo", host: "::1", port: 22, path: "repo", scpLike: true},
	{raw: "user@[::1]:repo", user: "user", host: "::1", port: 22, path: "repo", scpLike: true},
	{raw: "[::1]:2222:p", host: "::1", port: 22, path: "2222:p", scpLike: true},
	{raw: "c:foo", host: "c", port: 22, path: "foo", scpLike: true},
	{raw: "my_host.example-1.com:r", host: "my_host.example-1.com", port: 22, path: "r", scpLike: true},
}

var httpURLCases = []urlCase{
	{raw: "https://bitbucket.example.com/scm/proj/repo.git", scheme: "https", host: "bitbucket.example.com", port: 443, path: "/scm/proj/repo.git"},
	{raw: "https://alice@bitbucket.example.com:8443/bb/scm/proj/repo.git", scheme: "https", user: "alice", host: "bitbucket.example.com", port: 8443, path: "/bb/scm/proj/repo.git"},
	{raw: "http://localhost:7990/scm/~alice/repo.git", scheme: "http", host: "localhost", port: 7990, path: "/scm/~alice/repo.git"},
	{raw: "HTTP://host/scm/p/r", scheme: "http", host: "host", port: 80, path: "/scm/p/r"},
	{raw: "https://[::1]:8443/scm/p/r.git", scheme: "https", host: "::1", port: 8443, path: "/scm/p/r.git"},
}

func checkURL(t *testing.T, c urlCase, u *URL) {
	t.Helper()
	scheme := c.scheme
	if scheme == "" {
		scheme = "ssh"
	}
	if u.Scheme != scheme || u.User != c.user || u.Host != c.host || u.Port != c.port || u.Path != c.path || u.SCPLike != c.scpLike {
		t.Errorf("Parse(%q) = scheme %q user %q host %q port %d path %q scp %v; want %q %q %q %d %q %v",
			c.raw, u.Scheme, u.User, u.Host, u.Port, u.Path, u.SCPLike, scheme, c.user, c.host, c.port, c.path, c.scpLike)
	}
}

func TestParse(t *testing.T) {
	for _, c := range append(append([]urlCase(nil), sshURLCases...), httpURLCases...) {
		u, err := Parse(c.raw)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.raw, err)
			continue
		}
		checkURL(t, c, u)
		// String() reads back to the same parts.
		again, err := Parse(u.String())
		if err != nil {
			t.Errorf("Parse(%q.String() = %q): %v", c.raw, u.String(), err)
			continue
		}
		if again.Host != u.Host || again.Port != u.Port || again.Path != u.Path || again.User != u.User || again.Scheme != u.Scheme ||
			u.Scheme == "ssh" && again.PortGiven != u.PortGiven {
			t.Errorf("Parse(%q).String() = %q reads back as %+v", c.raw, u.String(), again)
		}
	}
}

func TestString(t *testing.T) {
	for raw, want := range map[string]string{
		"git@host:proj/repo.git": "git@host:proj/repo.git",
		// A port named in the URL stays: git passes it to ssh (-p), over ~/.ssh/config.
		"ssh://git@host:22/proj/repo.git":            "ssh://git@host:22/proj/repo.git",
		"git+ssh://git@host:7999/proj/repo.git":      "ssh://git@host:7999/proj/repo.git",
		"ssh://host/~alice/r.git":                    "ssh://host/~alice/r.git",
		"ssh://host/100%25.git":                      "ssh://host/100%25.git",
		"[git@host:7999]:p/r.git":                    "[git@host:7999]:p/r.git",
		"user@[::1]:r":                               "user@[::1]:r",
		"ssh://[::1]:7999/p":                         "ssh://[::1]:7999/p",
		"https://host:443/scm/p/r.git":               "https://host/scm/p/r.git",
		"https://alice:s3cret@host/scm/p/r.git":      "https://alice@host/scm/p/r.git",
		"http://host:7990/context/scm/p/r.git":       "http://host:7990/context/scm/p/r.git",
		"ssh://git@bitbucket.example.com:7999/a/b":   "ssh://git@bitbucket.example.com:7999/a/b",
		"git@bitbucket.example.com:~alice/repo.git":  "git@bitbucket.example.com:~alice/repo.git",
		"ssh://git@bitbucket.example.com/~alice/r":   "ssh://git@bitbucket.example.com/~alice/r",
		"git@bitbucket.example.com:/~alice/repo.git": "git@bitbucket.example.com:~alice/repo.git",
	} {
		u, err := Parse(raw)
		if err != nil {
			t.Errorf("Parse(%q): %v", raw, err)
			continue
		}
		if got := u.String(); got != want {
			t.Errorf("Parse(%q).String() = %q, want %q", raw, got, want)
		}
	}
}

func TestParseRedactsPassword(t *testing.T) {
	u, err := Parse("https://alice:s3cret@host/scm/p/r.git")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(u.Raw, "s3cret") || strings.Contains(u.String(), "s3cret") {
		t.Errorf("password leaked: Raw %q String %q", u.Raw, u.String())
	}
	if _, err := Parse("https://alice:s3cret@host:99999/x"); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error for a bad https URL must exist and not show the password: %v", err)
	}
	// Every refusal of a URL that carries a password keeps it hidden.
	for _, raw := range []string{
		"ssh://alice:s3cret@example.invalid/p/r.git", // ssh URLs cannot carry one
		"ssh://alice:s3cret@[::1/p/r.git",
		"ssh://alice:s3cret@host:port/p/r.git",
		"ssh://alice:s3cret@/p/r.git",
		"ssh://alice:s3cret@-host/p/r.git",
		"ssh://alice:s3cret@host",
		"ssh://alice:s3cret@host/-p",
		"ftp://alice:s3cret@host/p/r.git",
	} {
		_, err := Parse(raw)
		if err == nil {
			t.Errorf("Parse(%q) took it", raw)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Parse(%q): the error shows the password: %v", raw, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for raw, want := range map[string]string{
		"":                         "empty",
		"/local/path/repo.git":     "not an ssh or https URL",
		"./repo":                   "not an ssh or https URL",
		"repo.git":                 "not an ssh or https URL",
		"a/b:c":                    "not an ssh or https URL",
		`C:\Users\me\repo`:         "Windows path",
		"C:/Users/me/repo":         "Windows path",
		"git://host/p.git":         "not an ssh or https URL",
		"file:///srv/repo.git":     "not an ssh or https URL",
		"ftp://host/repo":          "not an ssh or https URL",
		"ssh://host":               "no repository path",
		"host:":                    "no repository path",
		"ssh://host:99999/p":       "invalid",
		"ssh://host:0/p":           "invalid port",
		"ssh://host:22x/p":         "invalid",
		"ssh://-oProxyCommand=x/p": "strange hostname",
		"host:-p":                  "strange pathname",
		"ssh://host/-p":            "",
		"ssh:///p":                 "no host",
		"@host:p":                  "empty user",
		"ssh://a:pw@host/p":        "password",
		"ssh://[::1/p":             "bracket",
		"ssh://[host]x/p":          "after the bracketed host",
		"ssh://ho st/p":            "invalid host",
		"ssh://host/p%0aq":         "control characters",
		"https:///scm/p/r":         "no host",
	} {
		u, err := Parse(raw)
		if want == "" {
			if err != nil {
				t.Errorf("Parse(%q): unexpected error %v", raw, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("Parse(%q) = %+v, want an error containing %q", raw, u, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("Parse(%q) error %q does not contain %q", raw, err, want)
		}
	}
	if _, err := Parse("git://host/p"); !errors.Is(err, ErrNotSSHOrHTTPS) {
		t.Errorf("git:// error %v is not ErrNotSSHOrHTTPS", err)
	}
}

// TestParseRefusesTransports: <transport>::<address> URLs are refused by
// name, before anything else reads them; git hands them to a program
// (git-remote-<transport>), as `git ls-remote` shows.
func TestParseRefusesTransports(t *testing.T) {
	for raw, transport := range map[string]string{
		"ext::sh -c touch% /tmp/pwned": "ext",
		"fd::17":                       "fd",
		"fd::17,18/proj/repo.git":      "fd",
		"svn+ssh::host:proj/repo.git":  "svn+ssh",
		"bb::proj/repo.git":            "bb",
		"x-y.z::ssh://host/p":          "x-y.z",
	} {
		_, err := Parse(raw)
		var te *TransportError
		if !errors.As(err, &te) || te.Transport != transport {
			t.Errorf("Parse(%q) = %v, want a TransportError for %q", raw, err, transport)
			continue
		}
		if !errors.Is(err, ErrNotSSHOrHTTPS) {
			t.Errorf("Parse(%q): %v is not ErrNotSSHOrHTTPS", raw, err)
		}
		if strings.Contains(err.Error(), "touch") {
			t.Errorf("Parse(%q): the error repeats the command: %v", raw, err)
		}
	}
	// Not transports: a scheme character cannot start the name, and
	// scp-like URLs have one colon after the host.
	for _, raw := range []string{"git@host:proj/repo.git", "host:proj/repo.git", "[host:7999]:p.git"} {
		if _, err := Parse(raw); err != nil {
			t.Errorf("Parse(%q): %v", raw, err)
		}
	}
	// git agrees that these are not SSH: it looks for the helper program.
	gitPath := testutil.RequireTool(t, "git")
	dir := t.TempDir()
	cmd := exec.Command(gitPath, "ls-remote", "bbkeynosuchhelper::proj/repo.git")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "remote-bbkeynosuchhelper") {
		t.Errorf("git ls-remote bbkeynosuchhelper::…: %v\n%s", err, out)
	}
	if _, err := Parse("bbkeynosuchhelper::proj/repo.git"); err == nil {
		t.Error("Parse accepted what git hands to a helper")
	}
}

// TestParseMatchesGit compares every SSH form with what git itself makes
// of it (`git fetch-pack --diag-url`).
func TestParseMatchesGit(t *testing.T) {
	gitPath := testutil.RequireTool(t, "git")
	dir := t.TempDir()
	if out, err := exec.Command(gitPath, "init", "-q", dir).CombinedOutput(); err != nil {
		t.Fatalf("git init: %v\n%s", err, out)
	}
	for _, c := range sshURLCases {
		cmd := exec.Command(gitPath, "fetch-pack", "--diag-url", c.raw)
		cmd.Dir = dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("git fetch-pack --diag-url %q: %v\n%s", c.raw, err, out)
			continue
		}
		diag := map[string]string{}
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "Diag: "), "="); ok {
				diag[k] = v
			}
		}
		u, err := Parse(c.raw)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.raw, err)
			continue
		}
		userAndHost := u.Host
		if u.User != "" {
			userAndHost = u.User + "@" + u.Host
		}
		wantPort := diag["port"]
		if wantPort == "NONE" {
			wantPort = "22"
		}
		if diag["protocol"] != "ssh" || diag["userandhost"] != userAndHost || wantPort != strconv.Itoa(u.Port) || diag["path"] != u.Path {
			t.Errorf("%q: git says %v; Parse says user@host %q port %d path %q", c.raw, diag, userAndHost, u.Port, u.Path)
		}
		// git passes -p (overriding ~/.ssh/config's Port) exactly when
		// the URL names a port.
		if given := diag["port"] != "NONE"; given != u.PortGiven {
			t.Errorf("%q: git says port %s; Parse says PortGiven %v", c.raw, diag["port"], u.PortGiven)
		}
	}
}

func TestBitbucketRepo(t *testing.T) {
	for _, c := range []struct {
		raw, base, project, slug string
		ok                       bool
	}{
		{"https://bitbucket.example.com/scm/proj/repo.git", "https://bitbucket.example.com", "proj", "repo", true},
		{"https://bitbucket.example.com/scm/proj/repo", "https://bitbucket.example.com", "proj", "repo", true},
		{"https://bitbucket.example.com/scm/proj/repo/", "https://bitbucket.example.com", "proj", "repo", true},
		{"https://alice@host:8443/bitbucket/scm/PROJ/my-repo.git", "https://host:8443/bitbucket", "PROJ", "my-repo", true},
		{"https://host/a/b/scm/proj/repo.git", "https://host/a/b", "proj", "repo", true},
		{"http://localhost:7990/scm/~alice/repo.git", "http://localhost:7990", "~alice", "repo", true},
		{"https://host:443/scm/proj/repo.git", "https://host", "proj", "repo", true},
		{"https://[::1]:8443/scm/p/r.git", "https://[::1]:8443", "p", "r", true},
		{"https://github.com/owner/repo.git", "", "", "", false},
		{"https://host/scm/repo.git", "", "", "", false},
		{"https://host/scm/proj/.git", "", "", "", false},
		{"ssh://git@host:7999/proj/repo.git", "", "proj", "repo", true},
		{"ssh://git@host:7999/~alice/repo.git", "", "~alice", "repo", true},
		{"git@host:proj/repo.git", "", "proj", "repo", true},
		{"git@host:/proj/repo", "", "proj", "repo", true},
		{"ssh://git@host/a/b/c.git", "", "", "", false},
		{"ssh://git@host/repo.git", "", "", "", false},
	} {
		u, err := Parse(c.raw)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.raw, err)
			continue
		}
		base, project, slug, ok := u.BitbucketRepo()
		if base != c.base || project != c.project || slug != c.slug || ok != c.ok {
			t.Errorf("%q.BitbucketRepo() = %q %q %q %v, want %q %q %q %v", c.raw, base, project, slug, ok, c.base, c.project, c.slug, c.ok)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, c := range sshURLCases {
		f.Add(c.raw)
	}
	for _, c := range httpURLCases {
		f.Add(c.raw)
	}
	for _, s := range []string{"", ":", "@:", "[", "[]:", "[@]:x", "ssh://", "ssh://@/", "ssh://[]/", "x@[y@z]:p", "ssh://h/%", "ssh://h/%2", "ssh://%5B::1%5D/p", "https://h:/x", "a:b@c:d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := Parse(raw)
		if err != nil {
			if u != nil {
				t.Fatalf("Parse(%q) returned a URL and an error", raw)
			}
			return
		}
		s := u.String()
		again, err := Parse(s)
		if err != nil {
			t.Fatalf("Parse(%q).String() = %q does not parse: %v", raw, s, err)
		}
		if again.Host != u.Host || again.Port != u.Port || again.Path != u.Path {
			t.Fatalf("Parse(%q).String() = %q reads back as host %q port %d path %q, want %q %d %q",
				raw, s, again.Host, again.Port, again.Path, u.Host, u.Port, u.Path)
		}
		u.BitbucketRepo()
	})
}

func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"https://alice:s3cret@host/scm/p/r.git": "https://alice:xxxxx@host/scm/p/r.git",
		"http://a:pw@[broken/x":                 "http://a:xxxxx@[broken/x",
		"ssh://git@host:7999/p/r.git":           "ssh://git@host:7999/p/r.git",
		"git@host:p/r.git":                      "git@host:p/r.git",
	} {
		if got := Redact(raw); got != want {
			t.Errorf("Redact(%q) = %q, want %q", raw, got, want)
		}
	}
}
