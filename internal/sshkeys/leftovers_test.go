package sshkeys

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// What a killed writer leaves — a temporary holding a complete private key
// above all — is never listed as a key, and FindLeftovers names it.
func TestLeftoversAreNeverKeys(t *testing.T) {
	dir := t.TempDir()
	key, pub := newKey(t, "ed25519", 0)
	writePair(t, dir, "id_ed25519", key, pub, "")
	private, _ := os.ReadFile(filepath.Join(dir, "id_ed25519"))
	writeFile(t, filepath.Join(dir, ".id_ed25519.tmp-2718281828"), private, 0o600) // the old writers' name
	writeFile(t, filepath.Join(dir, ".git-bbkey-new.tmp-31415"), private, 0o600)
	writeFile(t, filepath.Join(dir, ".git-bbkey-new.pub.tmp-27"), MarshalPublicKey(pub, "x"), 0o644)
	writeFile(t, filepath.Join(dir, ".config.tmp-42"), []byte("Host x\n"), 0o600)
	writeFile(t, filepath.Join(dir, ReplaceJournalName), []byte("{}"), 0o600)
	backupTmp := filepath.Join(dir, "key_backup", ".backup.tmp-7")
	os.MkdirAll(backupTmp, 0o700)
	writeFile(t, filepath.Join(backupTmp, "id_ed25519"), private, 0o600)

	k := findOne(t, dir)
	if k.PrivateKeyPath != filepath.Join(dir, "id_ed25519") || len(k.Problems) != 0 {
		t.Fatalf("listed %+v", k)
	}
	leftovers, err := FindLeftovers(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]LeftoverKind{}
	for _, l := range leftovers {
		got[filepath.Base(l.Path)] = l.Kind
	}
	want := map[string]LeftoverKind{
		".id_ed25519.tmp-2718281828": LeftoverTempFile,
		".git-bbkey-new.tmp-31415":   LeftoverTempFile,
		".git-bbkey-new.pub.tmp-27":  LeftoverTempFile,
		".config.tmp-42":             LeftoverTempFile,
		ReplaceJournalName:           LeftoverReplaceJournal,
		".backup.tmp-7":              LeftoverBackupTemp,
	}
	if len(got) != len(want) {
		names := []string{}
		for n := range got {
			names = append(names, n)
		}
		sort.Strings(names)
		t.Fatalf("leftovers %v, want %v", names, want)
	}
	for name, kind := range want {
		if got[name] != kind {
			t.Errorf("%s: kind %d, want %d", name, got[name], kind)
		}
	}
	if l, err := FindLeftovers(filepath.Join(dir, "nope")); err != nil || len(l) != 0 {
		t.Errorf("missing dir: %v, %v", l, err)
	}
}
