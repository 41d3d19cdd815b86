package sshverify

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/skeema/knownhosts"
	xknownhosts "golang.org/x/crypto/ssh/knownhosts"
)

const seedKey = "AAAAC3NzaC1lZDI1NTE5AAAAIE1hZGUgdXAga2V5IGZvciB0ZXN0aW5nIG9ubHkhISE="

var knownHostsSeeds = []string{
	"host ssh-ed25519 " + seedKey,
	"[host]:7999 ssh-ed25519 " + seedKey + " comment",
	"host,10.0.0.1,!bad ssh-ed25519 " + seedKey,
	"|1|c2FsdA==|aGFzaA== ssh-ed25519 " + seedKey,
	"|2|c2FsdA==|aGFzaA== ssh-ed25519 " + seedKey,
	"|1|bad ssh-ed25519 " + seedKey,
	"@cert-authority *.example.com ssh-ed25519 " + seedKey,
	"@revoked * ssh-ed25519 " + seedKey,
	"@revoked @cert-authority h ssh-ed25519 " + seedKey,
	"@other h ssh-ed25519 " + seedKey,
	"host ssh-rsa " + seedKey,
	"[host ssh-ed25519 " + seedKey,
	"[host]:x:y ssh-ed25519 " + seedKey,
	"! ssh-ed25519 " + seedKey,
	"host ssh-ed25519",
	"host",
	"  # comment",
	"",
	"\t host \t ssh-ed25519 \t" + seedKey + "\r",
	"host ssh-ed25519 " + seedKey + "\x00",
}

// libraryAccepts asks x/crypto itself whether it takes a one-line file.
func libraryAccepts(t *testing.T, line string) bool {
	f := filepath.Join(t.TempDir(), "kh")
	if err := os.WriteFile(f, []byte(line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := xknownhosts.New(f)
	return err == nil
}

// FuzzKnownHostsLine checks that our line filter agrees with
// x/crypto/ssh/knownhosts on every single line, and that whatever a file
// holds, its sanitized copy always loads with skeema/knownhosts NewDB.
func FuzzKnownHostsLine(f *testing.F) {
	for _, s := range knownHostsSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		if len(data) > 4096 {
			return
		}
		if line := strings.TrimSuffix(data, "\r"); !strings.ContainsAny(line, "\n\r") {
			ours := validKnownHostsLine([]byte(line))
			if lib := libraryAccepts(t, data); ours != lib {
				t.Fatalf("line %q: our filter says %v, x/crypto says %v", data, ours, lib)
			}
		}
		clean, _ := sanitizeKnownHosts([]byte(data))
		if n := bytes.Count(clean, []byte("\n")); n != strings.Count(data, "\n") {
			t.Fatalf("sanitizing changed the number of lines: %d → %d", strings.Count(data, "\n"), n)
		}
		f := filepath.Join(t.TempDir(), "kh")
		if err := os.WriteFile(f, clean, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := knownhosts.NewDB(f); err != nil {
			t.Fatalf("sanitized %q → %q does not load: %v", data, clean, err)
		}
	})
}

var advertisementSeeds = []string{
	"",
	"0000",
	"000eversion 1\n0000",
	pkt("ERR Repository not found\nThe requested repository does not exist") + "0000",
	pkt(zeroID+" capabilities^{}\x00agent=x\n") + "0000",
	pkt(strings.Repeat("a", 40)+" HEAD\x00caps\n") + pkt(strings.Repeat("b", 40)+" refs/tags/v1\n") + pkt(strings.Repeat("c", 40)+" refs/tags/v1^{}\n") + "0000",
	pkt(strings.Repeat("a", 64)+" HEAD\x00object-format=sha256\n") + "0000",
	"zzzz",
	"0003",
	"0010short",
	"000aversion 2\n0000",
}

func TestReadAdvertisement(t *testing.T) {
	for _, c := range []struct {
		in   string
		refs int
		err  string
	}{
		{advertisementSeeds[1], 0, ""},
		{advertisementSeeds[2], 0, ""},
		{advertisementSeeds[3], 0, "Repository not found"},
		{advertisementSeeds[4], 0, ""},
		{advertisementSeeds[5], 2, ""},
		{advertisementSeeds[6], 1, ""},
		{"", 0, "EOF"},
		{"zzzz", 0, "bad pkt-line length"},
		{"0003", 0, "unexpected pkt-line length"},
		{"0010short", 0, "truncated"},
		{pkt("not a ref\n") + "0000", 0, "unexpected line"},
	} {
		refs, err := readAdvertisement(bufio.NewReader(strings.NewReader(c.in)))
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) || refs != c.refs {
			t.Errorf("readAdvertisement(%q) = %d, %v; want %d, error containing %q", c.in, refs, err, c.refs, c.err)
		}
	}
	_, err := readAdvertisement(bufio.NewReader(strings.NewReader(advertisementSeeds[3])))
	var remote *errRemote
	if !errors.As(err, &remote) || !strings.HasPrefix(remote.msg, "Repository not found") {
		t.Errorf("ERR pkt gave %v", err)
	}
}

func FuzzReadAdvertisement(f *testing.F) {
	for _, s := range advertisementSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data string) {
		refs, _ := readAdvertisement(bufio.NewReader(strings.NewReader(data)))
		if refs < 0 || refs > len(data)/44 {
			t.Fatalf("%d refs from %d bytes", refs, len(data))
		}
	})
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/proj/repo.git": `'/proj/repo.git'`,
		"it's":           `'it'\''s'`,
		"~alice/r.git":   `'~alice/r.git'`,
		"a b":            `'a b'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
