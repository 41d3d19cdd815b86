//go:build !windows

package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A device never ends and a FIFO without a writer never answers: both are
// refused at once, by what they are, before a byte is read.
func TestReadSmallRefusesDevicesFIFOsAndDirectories(t *testing.T) {
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
