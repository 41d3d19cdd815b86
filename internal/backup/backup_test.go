package backup

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

func TestCopyKeepsBytesAndModesInFreshDirs(t *testing.T) {
	ssh := t.TempDir()
	priv := filepath.Join(ssh, "id_ed25519")
	pub := priv + ".pub"
	os.WriteFile(priv, []byte("private bytes"), 0o600)
	os.WriteFile(pub, []byte("public bytes"), 0o644)
	os.Chmod(pub, 0o644)
	now := time.Date(2026, 11, 26, 14, 5, 9, 0, time.FixedZone("X", 3600))

	dir, files, err := Copy(ssh, []string{priv, pub}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(ssh, "key_backup", "20261126-130509")
	if dir != want {
		t.Fatalf("dir %q, want %q (UTC)", dir, want)
	}
	if len(files) != 2 {
		t.Fatalf("files %v", files)
	}
	for src, dst := range map[string]string{priv: files[0], pub: files[1]} {
		a, _ := os.ReadFile(src)
		b, _ := os.ReadFile(dst)
		if string(a) != string(b) {
			t.Errorf("%s: bytes differ", dst)
		}
		sa, _ := os.Stat(src)
		sb, _ := os.Stat(dst)
		if runtime.GOOS != "windows" && sa.Mode().Perm() != sb.Mode().Perm() {
			t.Errorf("%s: mode %o, want %o", dst, sb.Mode().Perm(), sa.Mode().Perm())
		}
	}
	if st, _ := os.Stat(dir); runtime.GOOS != "windows" && st.Mode().Perm() != 0o700 {
		t.Errorf("backup dir mode %o", st.Mode().Perm())
	}

	// The same second again gets a suffix instead of touching the first.
	dir2, _, err := Copy(ssh, []string{priv}, now)
	if err != nil {
		t.Fatal(err)
	}
	if dir2 != want+"-2" {
		t.Fatalf("second dir %q", dir2)
	}
	dir3, _, _ := Copy(ssh, []string{priv}, now)
	if dir3 != want+"-3" {
		t.Fatalf("third dir %q", dir3)
	}
}

func TestCopyNothingCreatesNothing(t *testing.T) {
	ssh := t.TempDir()
	dir, files, err := Copy(ssh, nil, time.Now())
	if err != nil || dir != "" || files != nil {
		t.Fatalf("dir=%q files=%v err=%v", dir, files, err)
	}
	if _, err := os.Stat(filepath.Join(ssh, "key_backup")); !os.IsNotExist(err) {
		t.Fatalf("key_backup created: %v", err)
	}
}

// A backup that fails part-way leaves no timestamped directory at all,
// neither empty nor with some of the files: it appears whole or not at all.
func TestCopyFailingPartWayLeavesNothing(t *testing.T) {
	ssh := t.TempDir()
	priv := filepath.Join(ssh, "id_ed25519")
	os.WriteFile(priv, []byte("private bytes"), 0o600)
	_, _, err := Copy(ssh, []string{priv, filepath.Join(ssh, "id_ed25519.pub")}, time.Now())
	if err == nil {
		t.Fatal("a missing file was backed up")
	}
	entries, _ := os.ReadDir(filepath.Join(ssh, "key_backup"))
	if len(entries) != 0 {
		t.Fatalf("key_backup holds %v after a failed backup", entries)
	}
}

// An empty directory already named for the second is never reused or
// replaced (a plain rename would replace it).
func TestCopyNeverReplacesAnEmptyDirectory(t *testing.T) {
	ssh := t.TempDir()
	priv := filepath.Join(ssh, "id_ed25519")
	os.WriteFile(priv, []byte("private bytes"), 0o600)
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	taken := filepath.Join(ssh, "key_backup", "20260102-030405")
	os.MkdirAll(taken, 0o700)
	dir, _, err := Copy(ssh, []string{priv}, now)
	if err != nil || dir != taken+"-2" {
		t.Fatalf("dir %q, %v; want %s-2", dir, err, taken)
	}
	if entries, _ := os.ReadDir(taken); len(entries) != 0 {
		t.Fatalf("the existing directory was filled: %v", entries)
	}
}
