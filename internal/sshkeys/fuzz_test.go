package sshkeys

import (
	"os"
	"path/filepath"
	"testing"
)

// fuzzSeeds are inputs of every shape the parsers handle; the OpenSSH
// vectors are added when present.
func fuzzSeeds(f *testing.F) {
	for _, s := range []string{
		ed25519Line,
		"ssh-dss AAAAB3NzaC1kc3MAAAABAQAAAAEBAAAAAQEAAAABAQ== dsa",
		rsa1Line(1024),
		"---- BEGIN SSH2 PUBLIC KEY ----\nComment: \"a \\\nb\"\nAAAAC3NzaC1lZDI1NTE5AAAAIFOG6kY7Rf4UtCFvPwKgo/BztXck2xC4a2WyA34XtIwZ\n---- END SSH2 PUBLIC KEY ----\n",
		"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAA\n-----END OPENSSH PRIVATE KEY-----\n",
		"-----BEGIN DSA PRIVATE KEY-----\nMAA=\n-----END DSA PRIVATE KEY-----\n",
		"-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
		"SSH PRIVATE KEY FILE FORMAT 1.1\n\x00\x00\x00\x00\x00\x00\x00\x00\x04\x00",
		"PuTTY-User-Key-File-3: ssh-ed25519\n",
		"no-pty " + ed25519Line,
		"",
	} {
		f.Add([]byte(s))
	}
	dir := filepath.Join("..", "..", "..", "shared", "testdata", "openssh-sshkey")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if data, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
			f.Add(data)
		}
	}
}

// FuzzParsePublicKeyLine: no input panics, and a parsed key writes back to
// a line that parses to the same key.
func FuzzParsePublicKeyLine(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		pub, comment, err := ParsePublicKeyLine(data)
		if err != nil {
			if pub != nil {
				t.Fatalf("key and error: %v", err)
			}
			return
		}
		again, _, err := ParsePublicKeyLine(MarshalPublicKey(pub, comment))
		if err != nil || Fingerprint(again) != Fingerprint(pub) {
			t.Fatalf("round trip: %v", err)
		}
		_ = Randomart(pub)
	})
}

// FuzzFindKeyPairs: one file of any content in a directory lists as at most
// one key, never fails, and what is listed is consistent.
func FuzzFindKeyPairs(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "id_test")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		keys, err := FindKeyPairs(dir)
		if err != nil || len(keys) > 1 {
			t.Fatalf("FindKeyPairs: %d keys, %v", len(keys), err)
		}
		for _, k := range keys {
			if k.PublicKey != nil && Fingerprint(k.PublicKey) != k.Fingerprint {
				t.Fatalf("fingerprint %s, of PublicKey %s", k.Fingerprint, Fingerprint(k.PublicKey))
			}
			if len(k.Problems) == 0 && (k.PrivateKeyPath == "" || k.PublicKeyPath == "") {
				t.Fatalf("a lone half without a problem: %+v", k)
			}
		}
		_, _ = IsEncrypted(path)
		_, _ = loadSigner(path, nil) // never with a passphrase: bcrypt would make fuzzing crawl
	})
}
