package sshverify

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
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

// FuzzKnownHostsLine feeds any content to the known_hosts reader: it never
// fails on a bad line, accounts for every line (an entry, a blank or
// comment line, or a skipped one, each by its own number), writes back
// every entry as a line that reads the same, and answers lookups and
// checks for any name.
func FuzzKnownHostsLine(f *testing.F) {
	for _, s := range knownHostsSeeds {
		f.Add(s)
	}
	key, err := ssh.NewPublicKey(ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data string) {
		if len(data) > 4096 {
			return
		}
		const file = "known_hosts"
		kh := &KnownHosts{}
		kh.parse(file, []byte(data))
		lines := strings.Split(data, "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1]
		}
		seen := map[int]bool{}
		for _, e := range kh.entries {
			if e.Line < 1 || e.Line > len(lines) || seen[e.Line] {
				t.Fatalf("%q: entry at line %d of %d", data, e.Line, len(lines))
			}
			seen[e.Line] = true
			back, blank, ok := parseKnownHostsLine([]byte(strings.TrimSpace(e.Marker.String() + " " + knownHostLine(e.Hosts, e.Key))))
			if blank || !ok || back.Hosts != e.Hosts || back.Marker != e.Marker || !bytes.Equal(back.Key.Marshal(), e.Key.Marshal()) {
				t.Fatalf("%q: entry %+v does not read back (%+v)", data, e, back)
			}
			kh.Check(HostRef{Host: e.Hosts, Port: 7999}, e.Key)
		}
		for _, s := range kh.Skipped() {
			if s.Line < 1 || s.Line > len(lines) || seen[s.Line] || s.File != file {
				t.Fatalf("%q: skipped %v", data, s)
			}
			seen[s.Line] = true
		}
		for i, l := range lines {
			if !seen[i+1] {
				if _, blank, _ := parseKnownHostsLine([]byte(l)); !blank {
					t.Fatalf("%q: line %d is neither an entry, a blank nor skipped", data, i+1)
				}
			}
		}
		kh.Check(HostRef{Host: "host", Port: 7999}, key)
		kh.HostKeyAlgorithms(HostRef{Host: "host"})
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
	// The exported form, for advertisements the user's ssh brought.
	if refs, msg, err := ParseAdvertisement([]byte(advertisementSeeds[3])); refs != 0 || err == nil || !strings.HasPrefix(msg, "Repository not found") {
		t.Errorf("ParseAdvertisement(ERR) = %d, %q, %v", refs, msg, err)
	}
	if refs, msg, err := ParseAdvertisement([]byte(advertisementSeeds[5])); refs != 2 || msg != "" || err != nil {
		t.Errorf("ParseAdvertisement = %d, %q, %v", refs, msg, err)
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
