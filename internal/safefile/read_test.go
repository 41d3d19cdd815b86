package safefile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestReadSmallReadsRegularFilesAndLinks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "id_ed25519.pub")
	os.WriteFile(p, []byte("ssh-ed25519 AAAA x\n"), 0o644)
	link := filepath.Join(dir, "link")
	if err := os.Symlink(p, link); err != nil && runtime.GOOS != "windows" {
		t.Fatal(err)
	}
	for _, path := range []string{p, link} {
		if runtime.GOOS == "windows" && path == link {
			continue
		}
		got, err := ReadSmall(path, MaxSmallFile)
		if err != nil || string(got) != "ssh-ed25519 AAAA x\n" {
			t.Errorf("%s: %q, %v", path, got, err)
		}
	}
	if _, err := ReadSmall(filepath.Join(dir, "missing"), MaxSmallFile); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

func TestReadSmallRefusesLargeFiles(t *testing.T) {
	p := filepath.Join(t.TempDir(), "big")
	os.WriteFile(p, bytes.Repeat([]byte("a"), MaxSmallFile+1), 0o600)
	var tooLarge *TooLargeError
	if _, err := ReadSmall(p, MaxSmallFile); !errors.As(err, &tooLarge) || tooLarge.Path != p {
		t.Fatalf("%v, want a TooLargeError", err)
	}
	os.WriteFile(p, bytes.Repeat([]byte("a"), MaxSmallFile), 0o600)
	if got, err := ReadSmall(p, MaxSmallFile); err != nil || len(got) != MaxSmallFile {
		t.Fatalf("a file of exactly the limit: %d bytes, %v", len(got), err)
	}
}
