//go:build !windows

package prompt

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

// A device or a FIFO given as --passphrase-file is refused at once: never
// read without end (/dev/zero), never waited on (a FIFO with no writer).
func TestReadPassphraseFileRefusesSpecialFiles(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/dev/zero", fifo} {
		done := make(chan error, 1)
		go func() { _, err := ReadPassphraseFile(p); done <- err }()
		select {
		case err := <-done:
			if !errors.Is(err, safefile.ErrNotRegular) {
				t.Errorf("%s: %v, want ErrNotRegular", p, err)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: ReadPassphraseFile hangs", p)
		}
	}
}
