package safefile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// appendPlain is AppendLineOnce's append without the lock and the
// re-read: the line is added, whatever the file holds.
func appendPlain(path, line string, perm os.FileMode) error {
	_, err := appendLine(path, line, perm, nil)
	return err
}

func TestAppendLineNewFileModeUnderUmask077(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("modes mean nothing on windows")
	}
	old := umask(0o077)
	defer umask(old)
	p := filepath.Join(t.TempDir(), "known_hosts")
	if err := appendPlain(p, "a b c", 0o644); err != nil {
		t.Fatal(err)
	}
	if mode(t, p) != 0o644 {
		t.Fatalf("new file mode %o under umask 077, want 644", mode(t, p))
	}
	// An existing file keeps its mode.
	os.Chmod(p, 0o600)
	if err := appendPlain(p, "d e f", 0o644); err != nil {
		t.Fatal(err)
	}
	if mode(t, p) != 0o600 {
		t.Fatalf("existing mode changed to %o", mode(t, p))
	}
	if got, _ := os.ReadFile(p); string(got) != "a b c\nd e f\n" {
		t.Fatalf("content %q", got)
	}
}

func TestAppendLineOncePresent(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "known_hosts")
	has := func(line string) func([]byte) (bool, error) {
		return func(cur []byte) (bool, error) {
			for _, l := range strings.Split(string(cur), "\n") {
				if l == line {
					return true, nil
				}
			}
			return false, nil
		}
	}
	for i, want := range []bool{true, false} {
		appended, err := AppendLineOnce(context.Background(), p, "h k", 0o644, has("h k"))
		if err != nil || appended != want {
			t.Fatalf("call %d: appended %v err %v, want %v", i, appended, err, want)
		}
	}
	stop := errors.New("conflict")
	appended, err := AppendLineOnce(context.Background(), p, "h other", 0o644, func([]byte) (bool, error) { return false, stop })
	if appended || !errors.Is(err, stop) {
		t.Fatalf("appended %v err %v", appended, err)
	}
	if got, _ := os.ReadFile(p); string(got) != "h k\n" {
		t.Fatalf("content %q", got)
	}
	if names := entries(t, dir); len(names) != 2 || names[0] != ".known_hosts.lock" {
		t.Fatalf("files %v, want the file and its lock", names)
	}

	// A missing file that present declines to fill is not left behind.
	fresh := filepath.Join(dir, "fresh")
	if _, err := AppendLineOnce(context.Background(), fresh, "x", 0o644, func([]byte) (bool, error) { return false, stop }); !errors.Is(err, stop) {
		t.Fatal(err)
	}
	if _, err := os.Stat(fresh); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("empty file left behind: %v", err)
	}

	// ... but one that another program wrote to meanwhile (ssh takes no
	// lock of ours) is its file now: it stays, with what it wrote.
	other := filepath.Join(dir, "other")
	_, err = AppendLineOnce(context.Background(), other, "x", 0o644, func([]byte) (bool, error) {
		if err := os.WriteFile(other, []byte("ssh's line\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return false, stop
	})
	if !errors.Is(err, stop) {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(other); err != nil || string(got) != "ssh's line\n" {
		t.Fatalf("another program's line lost: %q, %v", got, err)
	}
}

func TestAppendLineRefusesNonRegular(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no /dev/null")
	}
	if err := appendPlain(os.DevNull, "x", 0o644); err == nil {
		t.Fatal("appended to a device")
	}
}

// TestAppendLineOnceProcesses runs 8 processes that append the same line
// at once, several times: the file must hold it exactly once each time.
func TestAppendLineOnceProcesses(t *testing.T) {
	if p := os.Getenv("SAFEFILE_APPEND_CHILD"); p != "" {
		line := os.Getenv("SAFEFILE_APPEND_LINE")
		_, err := AppendLineOnce(context.Background(), p, line, 0o644, func(cur []byte) (bool, error) {
			return bytes.Contains(cur, []byte(line+"\n")), nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	for trial := 0; trial < 5; trial++ {
		p := filepath.Join(t.TempDir(), "known_hosts")
		os.WriteFile(p, []byte("other ssh-ed25519 AAAA"), 0o644) // no final newline
		line := fmt.Sprintf("[host]:%d ssh-ed25519 KEY", 7000+trial)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				// A child that could not start is started again: Wine's
				// CreateProcess sometimes fails under load ("Internal
				// error"). A child that ran and failed is the test's failure.
				for try := 1; ; try++ {
					cmd := exec.Command(os.Args[0], "-test.run=^TestAppendLineOnceProcesses$")
					cmd.Env = append(os.Environ(), "SAFEFILE_APPEND_CHILD="+p, "SAFEFILE_APPEND_LINE="+line)
					out, err := cmd.CombinedOutput()
					var exit *exec.ExitError
					if err != nil && !errors.As(err, &exit) && try < 3 {
						continue
					}
					if err != nil {
						errs <- fmt.Errorf("child: %v\n%s", err, out)
					}
					return
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		got, _ := os.ReadFile(p)
		if want := "other ssh-ed25519 AAAA\n" + line + "\n"; string(got) != want {
			t.Fatalf("trial %d: known_hosts = %q, want %q", trial, got, want)
		}
	}
}
