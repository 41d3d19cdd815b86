//go:build linux

package safefile

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestAppendLineShortWriteFileSizeLimit makes the kernel take only part of
// the line: a child process under RLIMIT_FSIZE (a few bytes above the
// file's size) appends; write(2) stores what fits and then fails with
// EFBIG. The line must not stay half-written.
func TestAppendLineShortWriteFileSizeLimit(t *testing.T) {
	if p := os.Getenv("SAFEFILE_FSIZE_CHILD"); p != "" {
		limit, _ := strconv.ParseUint(os.Getenv("SAFEFILE_FSIZE_LIMIT"), 10, 64)
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
			fmt.Fprintln(os.Stderr, "setrlimit:", err)
			os.Exit(4)
		}
		err := appendPlain(p, strings.Repeat("k", 200), 0o644)
		if err == nil {
			os.Exit(0)
		}
		fmt.Println(err)
		if errors.Is(err, syscall.EFBIG) {
			os.Exit(5)
		}
		os.Exit(3)
	}
	p := filepath.Join(t.TempDir(), "known_hosts")
	before := []byte("host1 ssh-ed25519 AAAA\nhost2 ssh-ed25519 BBBB") // no final newline
	if err := os.WriteFile(p, before, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestAppendLineShortWriteFileSizeLimit$")
	cmd.Env = append(os.Environ(), "SAFEFILE_FSIZE_CHILD="+p, "SAFEFILE_FSIZE_LIMIT="+strconv.Itoa(len(before)+50))
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 5 {
		t.Fatalf("child: want the append to fail with EFBIG (exit 5), got %v\n%s", err, out)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, before) {
		t.Fatalf("known_hosts after a short write = %q, want it unchanged %q", got, before)
	}
	t.Logf("the append failed as it should: %s", bytes.TrimSpace(out))
}

// TestAppendLineFullDisk fills a small tmpfs (needs root, or the right to
// mount) and appends a line that crosses into a page the file system no
// longer has: the line must land whole or not at all.
func TestAppendLineFullDisk(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k"); err != nil {
		t.Skipf("skipping: cannot mount a small tmpfs here (%v); TestAppendLineShortWriteFileSizeLimit covers the short write", err)
	}
	defer syscall.Unmount(dir, 0)
	p := filepath.Join(dir, "known_hosts")
	// 4000 bytes: the file's one page has 96 bytes left.
	entry := []byte("host ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE1hZGUgdXAga2V5IGZvciB0ZXN0aW5nIG9ubHkhISE=\n")
	before := bytes.Repeat(entry, 4000/len(entry))
	before = append(before, bytes.Repeat([]byte("#"), 4000-len(before)-1)...)
	before = append(before, '\n')
	if err := os.WriteFile(p, before, 0o644); err != nil {
		t.Fatal(err)
	}
	// Fill every other page.
	fill, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := fill.Write(make([]byte, 4096)); err != nil {
			break
		}
	}
	fill.Close()
	line := strings.Repeat("x", 300)
	err = appendPlain(p, line, 0o644)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("append on a full disk: %v, want ENOSPC", err)
	}
	if got, _ := os.ReadFile(p); !bytes.Equal(got, before) {
		t.Fatalf("known_hosts after a failed append is %d bytes (was %d): a partial line stayed", len(got), len(before))
	}
	// Room again: the same append now lands whole.
	os.Remove(filepath.Join(dir, "fill"))
	if err := appendPlain(p, line, 0o644); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != string(before)+line+"\n" {
		t.Fatal("the line did not land whole")
	}
}
