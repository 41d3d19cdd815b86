package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"
)

func mode(t *testing.T, path string) fs.FileMode {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Mode().Perm()
}

func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteNewCreatesWithModeAndRefusesExisting(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "id_ed25519")
	if err := WriteNew(p, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && mode(t, p) != 0o600 {
		t.Fatalf("mode %o, want 600", mode(t, p))
	}
	err := WriteNew(p, []byte("other"), 0o600)
	if !errors.Is(err, fs.ErrExist) {
		t.Fatalf("second WriteNew: err %v, want ErrExist", err)
	}
	if got, _ := os.ReadFile(p); string(got) != "secret" {
		t.Fatalf("existing file changed to %q", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary files left behind: %v", names)
	}
}

func TestReplaceIsAtomicAndSetsMode(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "config")
	os.WriteFile(p, []byte("old"), 0o644)
	if err := Replace(p, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "new" {
		t.Fatalf("content %q", got)
	}
	if runtime.GOOS != "windows" && mode(t, p) != 0o600 {
		t.Fatalf("mode %o", mode(t, p))
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Fatalf("temporary files left behind: %v", names)
	}
}

func TestWriteIntoMissingDirFailsCleanly(t *testing.T) {
	err := WriteNew(filepath.Join(t.TempDir(), "nope", "key"), []byte("x"), 0o600)
	if err == nil {
		t.Fatal("expected an error")
	}
}

func TestAppendLineAddsMissingNewlineAndKeepsBytes(t *testing.T) {
	p := filepath.Join(t.TempDir(), "known_hosts")
	os.WriteFile(p, []byte("a b c"), 0o600)
	if err := appendPlain(p, "d e f", 0o644); err != nil {
		t.Fatal(err)
	}
	if err := appendPlain(p, "g h i", 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != "a b c\nd e f\ng h i\n" {
		t.Fatalf("content %q", got)
	}
	if runtime.GOOS != "windows" && mode(t, p) != 0o600 {
		t.Fatalf("existing mode changed to %o", mode(t, p))
	}
	fresh := filepath.Join(t.TempDir(), "new")
	if err := appendPlain(fresh, "x", 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(fresh); string(got) != "x\n" {
		t.Fatalf("content %q", got)
	}
}

func TestMkdirPrivateAndCopyNew(t *testing.T) {
	old := umask(0o022)
	defer umask(old)
	dir := filepath.Join(t.TempDir(), "a", ".ssh")
	created, err := MkdirPrivate(dir)
	if err != nil || !created {
		t.Fatalf("created=%v err=%v", created, err)
	}
	if runtime.GOOS != "windows" && mode(t, dir) != 0o700 {
		t.Fatalf("mode %o", mode(t, dir))
	}
	if created, err := MkdirPrivate(dir); err != nil || created {
		t.Fatalf("second call: created=%v err=%v", created, err)
	}
	src := filepath.Join(dir, "k.pub")
	os.WriteFile(src, []byte("pub"), 0o640)
	os.Chmod(src, 0o640)
	dst := filepath.Join(dir, "copy")
	if err := CopyNew(src, dst); err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && mode(t, dst) != 0o640 {
		t.Fatalf("copy mode %o", mode(t, dst))
	}
	if err := CopyNew(src, dst); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("copy over existing: %v", err)
	}
}

// A name of 240 bytes (ssh-keygen takes it) must not make the temporary's
// name exceed the 255 bytes a file system allows.
func TestWriteNewTakesLongNames(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, strings.Repeat("k", 240))
	if err := WriteNew(p, []byte("secret"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Replace(p+".pub", []byte("public"), 0o644); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, dir); len(names) != 2 {
		t.Fatalf("files %v, want the two written", names)
	}
	// A long name of multi-byte characters is cut at a character boundary.
	if pattern := tempPattern(strings.Repeat("é", 120)); !utf8.ValidString(pattern) || len(pattern) > 255-10 {
		t.Errorf("pattern %q (%d bytes)", pattern, len(pattern))
	}
}

func TestIsTemporary(t *testing.T) {
	for name, want := range map[string]bool{
		".id_ed25519.tmp-123":      true,
		".config.tmp-4294967295":   true,
		".git-bbkey-new.pub.tmp-7": true,
		".backup.tmp-99":           true,
		"id_ed25519":               false,
		".id_ed25519.tmp-":         false,
		".id_ed25519.tmp-12a":      false,
		"id_ed25519.tmp-12":        false,
		".tmp-12":                  false,
		".git-bbkey.lock":          false,
		".git-bbkey-replace.json":  false,
		"known_hosts.old":          false,
		".id_ed25519.tmp-12.swp":   false,
		".x.tmp-1":                 true,
	} {
		if got := IsTemporary(name); got != want {
			t.Errorf("IsTemporary(%q) = %v, want %v", name, got, want)
		}
	}
	// Every temporary this package makes is recognised.
	dir := t.TempDir()
	tmp, err := WriteTemp(dir, strings.Repeat("n", 250), []byte("x"), 0o600)
	if err != nil || !IsTemporary(filepath.Base(tmp)) {
		t.Fatalf("WriteTemp: %q, %v", tmp, err)
	}
	tmpDir, err := MkdirTemp(dir, "backup")
	if err != nil || !IsTemporary(filepath.Base(tmpDir)) {
		t.Fatalf("MkdirTemp: %q, %v", tmpDir, err)
	}
	if runtime.GOOS != "windows" && mode(t, tmpDir) != 0o700 {
		t.Errorf("MkdirTemp mode %o", mode(t, tmpDir))
	}
}

// RenameNew never replaces anything, not even an empty directory (which a
// plain rename(2) would silently replace).
func TestRenameNewNeverReplaces(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.Mkdir(src, 0o700)
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o600)
	empty := filepath.Join(dir, "empty")
	os.Mkdir(empty, 0o700)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("keep"), 0o600)
	for _, dst := range []string{empty, file} {
		if err := RenameNew(src, dst); !errors.Is(err, fs.ErrExist) {
			t.Errorf("RenameNew onto %s: %v, want ErrExist", dst, err)
		}
	}
	if _, err := os.Stat(filepath.Join(src, "f")); err != nil {
		t.Fatalf("source changed: %v", err)
	}
	if err := RenameNew(src, filepath.Join(dir, "new")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "new", "f")); string(got) != "x" {
		t.Fatalf("renamed content %q", got)
	}
}
