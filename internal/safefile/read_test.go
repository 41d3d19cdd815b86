package safefile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
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

// A device never ends and a FIFO without a writer never answers: both are
// refused at once, by what they are, before a byte is read.
func TestReadSmallRefusesDevicesFIFOsAndDirectories(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no FIFOs or /dev/zero on Windows")
	}
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	zeroLink := filepath.Join(dir, "id_zero")
	os.Symlink("/dev/zero", zeroLink)
	for path, kind := range map[string]string{"/dev/zero": "character device", fifo: "FIFO", zeroLink: "character device", dir: "directory"} {
		done := make(chan error, 1)
		go func() { _, err := ReadSmall(path, MaxSmallFile); done <- err }()
		select {
		case err := <-done:
			var nr *NotRegularError
			if !errors.As(err, &nr) || !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), kind) {
				t.Errorf("%s: %v, want a NotRegularError naming a %s", path, err, kind)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: ReadSmall hangs", path)
		}
	}
}
