package sshverify

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

func ecdsaKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ssh.NewPublicKey(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return pub
}

// hostLine is the known_hosts line a pin for key at host:port writes
// (without the newline): "host type base64" for port 22,
// "[host]:port type base64" otherwise.
func hostLine(host string, port int, key ssh.PublicKey) string {
	return knownHostLine(hostPortName(host, port), key)
}

func blob(k ssh.PublicKey) string { return strings.Fields(string(ssh.MarshalAuthorizedKey(k)))[1] }

func loadString(t *testing.T, content string) (*KnownHosts, string) {
	t.Helper()
	f := filepath.Join(t.TempDir(), "known_hosts")
	writeFile(t, f, content)
	kh, err := LoadKnownHosts(f)
	if err != nil {
		t.Fatal(err)
	}
	return kh, f
}

func TestParseKnownHostsLines(t *testing.T) {
	ed := newSigner(t, "ed25519").PublicKey()
	rsaK := newSigner(t, "rsa").PublicKey()
	b := blob(ed)
	hashed := xknownhosts.HashHostname("host")
	for _, c := range []struct {
		line   string
		blank  bool
		ok     bool
		marker Marker
		hosts  string
	}{
		{line: "", blank: true},
		{line: "  \t# a comment", blank: true},
		{line: "host ssh-ed25519 " + b, ok: true, hosts: "host"},
		{line: "host ssh-ed25519 " + b + " a comment", ok: true, hosts: "host"},
		{line: "\t host \t ssh-ed25519 \t" + b, ok: true, hosts: "host"},
		{line: "host ssh-ed25519 " + b + "\r", ok: true, hosts: "host"},               // CRLF, as OpenSSH reads it
		{line: "host ssh-ed25519 " + b[:20] + "\v" + b[20:], ok: true, hosts: "host"}, // other blanks inside base64
		{line: "host ssh-ed25519 " + b + "\x00garbage", ok: true, hosts: "host"},      // a C string ends at NUL
		{line: "[host]:7999,other ssh-ed25519 " + b, ok: true, hosts: "[host]:7999,other"},
		{line: "[broken ssh-ed25519 " + b, ok: true, hosts: "[broken"}, // a pattern, however odd
		{line: "@cert-authority *.example.com ssh-ed25519 " + b, ok: true, marker: MarkerCertAuthority, hosts: "*.example.com"},
		{line: "@revoked * ssh-ed25519 " + b, ok: true, marker: MarkerRevoked, hosts: "*"},
		{line: "host rsa-sha2-256 " + blob(rsaK), ok: true, hosts: "host"},
		{line: "host rsa-sha2-512 " + blob(rsaK), ok: true, hosts: "host"},
		{line: hashed + " ssh-ed25519 " + b, ok: true, hosts: hashed},
		{line: "host ED25519 " + b}, // short names are not types here
		{line: "host ssh-rsa " + b}, // type and key disagree
		{line: "host ssh-ed25519 " + b + "x"},
		{line: "host ssh-ed25519 not-base64!!"},
		{line: "host ssh-ed25519"},
		{line: "host ssh-ed25519 "},
		{line: "host"},
		{line: "host #ssh-ed25519 " + b},
		{line: "@revoked @cert-authority h ssh-ed25519 " + b}, // one marker only
		{line: "@other h ssh-ed25519 " + b},
		{line: "@revoked\th ssh-ed25519 " + b}, // ssh's marker ends at the first space
		{line: "@revoked "},
		{line: "|1|bad|hash ssh-ed25519 " + b},
		{line: "|2|c2FsdA==|aGFzaA== ssh-ed25519 " + b},
	} {
		e, blank, ok := parseKnownHostsLine([]byte(c.line))
		if blank != c.blank || ok != c.ok {
			t.Errorf("%q: blank %v ok %v, want %v %v", c.line, blank, ok, c.blank, c.ok)
			continue
		}
		if !ok {
			continue
		}
		if e.Marker != c.marker || e.Hosts != c.hosts {
			t.Errorf("%q: marker %v hosts %q", c.line, e.Marker, e.Hosts)
		}
	}
}

func TestLoadKnownHostsFiles(t *testing.T) {
	ed := newSigner(t, "ed25519").PublicKey()
	dir := t.TempDir()
	user, global := filepath.Join(dir, "known_hosts"), filepath.Join(dir, "ssh_known_hosts")
	writeFile(t, user, "garbage\n"+hostLine("a", 22, ed)+"\n\nmore garbage") // no final newline
	writeFile(t, global, "# system\n@revoked * "+strings.Fields(hostLine("x", 22, ed))[1]+" "+blob(ed)+"\n")
	kh, err := LoadKnownHosts(user, filepath.Join(dir, "missing"), global, "")
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(kh.Skipped()); got != fmt.Sprintf("[%s:1 %s:4]", user, user) {
		t.Errorf("skipped %s", got)
	}
	hk := kh.Lookup(HostRef{Host: "A"})
	if len(hk.Keys) != 1 || hk.Keys[0].Where() != user+":2" || len(hk.Revoked) != 1 || hk.Revoked[0].Where() != global+":2" {
		t.Fatalf("lookup %+v", hk)
	}
	if hk.RevokedBy(ed) == nil || len(hk.Usable()) != 0 {
		t.Errorf("the revoked key is usable: %+v", hk)
	}

	// Unreadable files are errors; a directory or a FIFO is no file.
	if _, err := LoadKnownHosts(dir); err == nil {
		t.Error("a directory was read as known_hosts")
	}
	if err := exec.Command("mkfifo", filepath.Join(dir, "fifo")).Run(); err == nil {
		done := make(chan error, 1)
		go func() { _, err := LoadKnownHosts(filepath.Join(dir, "fifo")); done <- err }()
		select {
		case err := <-done:
			if err == nil {
				t.Error("a FIFO was read as known_hosts")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("reading a FIFO hangs")
		}
	}
	if kh, err := LoadKnownHosts(os.DevNull); err != nil || len(kh.entries) != 0 {
		t.Errorf("/dev/null: %v", err)
	}
}

func TestHostRefName(t *testing.T) {
	for _, c := range []struct {
		ref  HostRef
		want string
	}{
		{HostRef{Host: "Bitbucket.Example.com"}, "bitbucket.example.com"},
		{HostRef{Host: "bb", Port: 22}, "bb"},
		{HostRef{Host: "bb", Port: 7999}, "[bb]:7999"},
		{HostRef{Host: "::1", Port: 7999}, "[::1]:7999"},
		{HostRef{Host: "bb", Port: 7999, Alias: "MyAlias"}, "myalias"},
	} {
		if got := c.ref.Name(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.ref, got, c.want)
		}
	}
}

func TestMatchPattern(t *testing.T) {
	for _, c := range []struct {
		list, name string
		want       int
	}{
		{"host", "host", 1},
		{"host", "host2", 0},
		{"*.example.com", "a.example.com", 1},
		{"*.example.com", "example.com", 0},
		{"h?st", "host", 1},
		{"h?st", "hst", 0},
		{"*", "[h]:7999", 1},
		{"[h]:7999", "[h]:7999", 1},
		{"[h]:*", "[h]:7999", 1},
		{"a,*.example.com,!bad.example.com", "bad.example.com", -1},
		{"!bad.example.com,*.example.com", "bad.example.com", -1},
		{"!bad.example.com", "good.example.com", 0},
		{"a,,b", "b", 1},
		{"**a*b*", "xxaxxbxx", 1},
		{strings.Repeat("*", 60) + "x", strings.Repeat("a", 60), 0},
	} {
		if got := matchPatternList(c.name, c.list); got != c.want {
			t.Errorf("matchPatternList(%q, %q) = %d, want %d", c.name, c.list, got, c.want)
		}
	}
	if !hostsMatch("HOST.Example.COM", "host.example.com") {
		t.Error("patterns are not case-insensitive")
	}
	hashed := xknownhosts.HashHostname("[bb]:7999") // an independent implementation
	if !hostsMatch(hashed, "[bb]:7999") || hostsMatch(hashed, "bb") {
		t.Errorf("hashed name %q", hashed)
	}
}

// TestKnownHostsMatchingAgainstSSHKeygen asks OpenSSH's own reader which
// lines apply to each name (ssh-keygen -F NAME -l parses keys as ssh
// does) and compares with Lookup, on a file of valid and broken lines.
func TestKnownHostsMatchingAgainstSSHKeygen(t *testing.T) {
	keygen := testutil.RequireTool(t, "ssh-keygen")
	ed, rsaK, ec := newSigner(t, "ed25519").PublicKey(), newSigner(t, "rsa").PublicKey(), ecdsaKey(t)
	e, r, c := "ssh-ed25519 "+blob(ed), "ssh-rsa "+blob(rsaK), ec.Type()+" "+blob(ec)
	lines := []string{
		"bb.example.com " + e,
		"[bb.example.com]:7999 " + r,
		"*.example.com,!bad.example.com " + c,
		"BB.EXAMPLE.COM,10.0.0.1 " + e,
		"@revoked * " + r,
		"@revoked other.example.com " + e,
		"@cert-authority *.example.com " + e,
		xknownhosts.HashHostname("[bb.example.com]:7999") + " " + e,
		xknownhosts.HashHostname("myalias") + " " + r,
		"myalias " + c,
		"h?st " + e,
		"[bb.example.com]:* " + c,
		"bb.example.com rsa-sha2-512 " + blob(rsaK),
		"bb.example.com ssh-ed25519 " + blob(ed) + "\r",
		"bb.example.com ssh-ed25519 " + blob(ed)[:10] + "\f" + blob(ed)[10:],
		"bb.example.com ssh-rsa " + blob(ed),
		"bb.example.com ssh-ed25519 " + blob(ed) + "A",
		"bb.example.com ED25519 " + blob(ed),
		"bb.example.com",
		"@revoked\tbb.example.com " + e,
		"@bogus bb.example.com " + e,
		"|1|bad|hash " + e,
		"[bb.example.com " + e,
		"  # comment",
		"",
		"bb.example.com " + e + " trailing comment",
	}
	kh, file := loadString(t, strings.Join(lines, "\n")+"\n")
	found := regexp.MustCompile(`^# Host \S+ found: line (\d+) ?(\S*)`)
	for _, name := range []string{"bb.example.com", "[bb.example.com]:7999", "[bb.example.com]:22", "bad.example.com",
		"other.example.com", "myalias", "host", "hst", "10.0.0.1", "[bb.example.com]:8000", "nothing"} {
		out, err := exec.Command(keygen, "-F", name, "-l", "-f", file).Output()
		if err != nil && len(out) > 0 {
			t.Fatalf("ssh-keygen -F %s: %v", name, err)
		}
		var want []string
		for _, l := range strings.Split(string(out), "\n") {
			if m := found.FindStringSubmatch(l); m != nil {
				mark := map[string]string{"": "", "CA": "@cert-authority", "REVOKED": "@revoked"}[m[2]]
				want = append(want, m[1]+mark)
			}
		}
		hk := kh.lookup(name)
		var got []string
		for _, e := range slices.Concat(hk.Keys, hk.Authorities, hk.Revoked) {
			got = append(got, strconv.Itoa(e.Line)+e.Marker.String())
		}
		slices.SortFunc(got, func(a, b string) int { return atoiPrefix(a) - atoiPrefix(b) })
		if !slices.Equal(got, want) {
			t.Errorf("%s: we find lines %v, ssh-keygen finds %v", name, got, want)
		}
	}
}

func atoiPrefix(s string) int {
	n, _ := strconv.Atoi(strings.TrimRight(s, "@abcdefghijklmnopqrstuvwxyz-"))
	return n
}
