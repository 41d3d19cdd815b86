package sshconfig

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

func writeFile(t *testing.T, path, content string, mode fs.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile is subject to the umask
		t.Fatal(err)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func checkMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	if runtime.GOOS == "windows" {
		return
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := st.Mode().Perm(); got != want {
		t.Errorf("mode of %s = %v, want %v", path, got, want)
	}
}

func TestUpdateCreatesMissingFileAndDirectory(t *testing.T) {
	sshDir := filepath.Join(t.TempDir(), ".ssh")
	path := filepath.Join(sshDir, "config")
	change, err := Update(path, testBlock)
	if err != nil || change != Inserted {
		t.Fatalf("Update = %v, %v; want Inserted", change, err)
	}
	if got := readFile(t, path); got != blockLF {
		t.Errorf("new config = %q, want %q", got, blockLF)
	}
	checkMode(t, path, 0o600)
	checkMode(t, sshDir, 0o700)
}

func TestUpdateKeepsModeAndBytes(t *testing.T) {
	for _, mode := range []fs.FileMode{0o644, 0o600, 0o640} {
		path := filepath.Join(t.TempDir(), "config")
		writeFile(t, path, "Compression yes\r\nHost a\r\n", mode)
		change, err := Update(path, testBlock)
		if err != nil || change != Inserted {
			t.Fatalf("Update = %v, %v; want Inserted", change, err)
		}
		if got, want := readFile(t, path), "Compression yes\r\n"+blockCRLF+"\r\nHost a\r\n"; got != want {
			t.Errorf("config = %q, want %q", got, want)
		}
		checkMode(t, path, mode)
		if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
			t.Errorf("directory holds %d entries, want only the config (no temporary files left)", len(entries))
		}
	}
}

func TestUpdateUnchangedDoesNotWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	content := "User me\n" + blockLF + "\nHost a\n"
	writeFile(t, path, content, 0o644)
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	if err := os.Chtimes(path, past, past); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	change, err := Update(path, testBlock)
	if err != nil || change != Unchanged {
		t.Fatalf("Update = %v, %v; want Unchanged", change, err)
	}
	after, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) {
		t.Errorf("the file was replaced (new inode)")
	}
	if !after.ModTime().Equal(past) {
		t.Errorf("mtime changed from %v to %v", past, after.ModTime())
	}
	if got := readFile(t, path); got != content {
		t.Errorf("content changed to %q", got)
	}
}

func TestUpdateReplacesOlderBlock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	writeFile(t, path, "Host a\n"+oldBlockLF+"Host b", 0o644)
	change, err := Update(path, testBlock)
	if err != nil || change != Replaced {
		t.Fatalf("Update = %v, %v; want Replaced", change, err)
	}
	if got, want := readFile(t, path), "Host a\n"+blockLF+"Host b"; got != want {
		t.Errorf("config = %q, want %q", got, want)
	}
	checkMode(t, path, 0o644)
}

func TestUpdateFollowsSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	dir := t.TempDir()
	dotfiles := filepath.Join(dir, "dotfiles")
	if err := os.Mkdir(dotfiles, 0o755); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dotfiles, "ssh_config")
	writeFile(t, target, "Host a\n", 0o644)
	link := filepath.Join(dir, "config")
	if err := os.Symlink("dotfiles/ssh_config", link); err != nil {
		t.Fatal(err)
	}
	change, err := Update(link, testBlock)
	if err != nil || change != Inserted {
		t.Fatalf("Update = %v, %v; want Inserted", change, err)
	}
	st, err := os.Lstat(link)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("%s is no longer a symlink (mode %v)", link, st.Mode())
	}
	if dest, _ := os.Readlink(link); dest != "dotfiles/ssh_config" {
		t.Errorf("link points to %q now", dest)
	}
	if got, want := readFile(t, target), blockLF+"\nHost a\n"; got != want {
		t.Errorf("target = %q, want %q", got, want)
	}
	checkMode(t, target, 0o644)
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("%s holds %d entries, want the link and dotfiles/", dir, len(entries))
	}
}

func TestUpdateRefusesDanglingSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "config")
	if err := os.Symlink("missing/ssh_config", link); err != nil {
		t.Fatal(err)
	}
	_, err := Update(link, testBlock)
	if err == nil || !strings.Contains(err.Error(), "symlink to a missing file") || !strings.Contains(err.Error(), `"`+link+`"`) {
		t.Fatalf("Update = %v; want an error naming the dangling symlink", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Update created the symlink's directory")
	}
}

func TestUpdateDamagedMarkersLeavesFileAlone(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	content := "Host a\n# BEGIN git-bbkey bb.example.com\nHost bb.example.com\n"
	writeFile(t, path, content, 0o644)
	before, _ := os.Stat(path)
	change, err := Update(path, testBlock)
	if !errors.Is(err, ErrDamagedMarkers) || change != Unchanged {
		t.Fatalf("Update = %v, %v; want ErrDamagedMarkers", change, err)
	}
	want := `cannot update ` + strconv.Quote(path) + `: damaged git-bbkey markers: line 2 begins a block for "bb.example.com" that no END line closes`
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	after, _ := os.Stat(path)
	if got := readFile(t, path); got != content || !os.SameFile(before, after) {
		t.Errorf("the file was touched: %q", got)
	}
}

func TestUpdateRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	if _, err := Update(dir, testBlock); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("Update(directory) = %v; want a not-a-regular-file error", err)
	}
}
