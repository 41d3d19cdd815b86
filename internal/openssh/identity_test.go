package openssh

import (
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
