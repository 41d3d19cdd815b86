package openssh

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestOfferedIdentity(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work_key")
	ed := filepath.Join(dir, "id_ed25519")
	for _, p := range []string{work, ed} {
		if err := os.WriteFile(p, []byte("key"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "id_rsa"), 0o700); err != nil { // not a file: skipped
		t.Fatal(err)
	}
	s := &Settings{IdentityFiles: []File{
		{Path: "/account/.ssh/missing", HomePath: filepath.Join(dir, "missing")},
		{Path: "/account/.ssh/id_rsa", HomePath: filepath.Join(dir, "id_rsa")},
		{Path: "/account/.ssh/work_key", HomePath: work},
		{Path: ed},
	}}
	if f, ok := s.OfferedIdentity(); !ok || f.HomePath != work {
		t.Errorf("OfferedIdentity = %+v, %v; want %s", f, ok, work)
	}
	s.IdentityFiles = s.IdentityFiles[3:]
	if f, ok := s.OfferedIdentity(); !ok || f.Path != ed {
		t.Errorf("without HomePath: %+v, %v", f, ok)
	}
	s.IdentityFiles = nil
	if _, ok := s.OfferedIdentity(); ok {
		t.Error("no identity files: ok")
	}
}

// TestDefaultIdentity: with nothing configured, every identity file ssh -G
// lists is one of its defaults; a file the configuration names is not,
// also when it sits beside them.
func TestDefaultIdentity(t *testing.T) {
	r := testResolver(t, writeConfig(t, "Host named", "  IdentityFile ~/.ssh/work_key"))
	s, err := r.Settings(context.Background(), Target{Host: "plain"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.IdentityFiles) == 0 {
		t.Fatal("ssh -G lists no default identity files")
	}
	for _, f := range s.IdentityFiles {
		if !s.DefaultIdentity(f) {
			t.Errorf("ssh's default %s is not DefaultIdentity", f.Path)
		}
	}
	s, err = r.Settings(context.Background(), Target{Host: "named"})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.IdentityFiles) != 1 || s.DefaultIdentity(s.IdentityFiles[0]) {
		t.Errorf("configured IdentityFile: %+v is taken for a default", s.IdentityFiles)
	}
	approx := &Settings{Home: "/h"}
	if !approx.DefaultIdentity(File{Path: "/h/.ssh/id_ed25519"}) || approx.DefaultIdentity(File{Path: "/h/.ssh/work"}) {
		t.Error("without the account's home, $HOME's defaults count")
	}
}
