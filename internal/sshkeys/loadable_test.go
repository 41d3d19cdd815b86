package sshkeys

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// TestCheckLoadableAgreesWithSSHKeygen compares CheckLoadable's verdict
// with OpenSSH's own, `ssh-keygen -y -f` (which loads a key as ssh does,
// modes included), over the formats OpenSSH writes and the ways a key file
// gets damaged in transit: CRLF line endings, text around the key, a lost
// final newline, loose modes.
func TestCheckLoadableAgreesWithSSHKeygen(t *testing.T) {
	sshKeygen := testutil.RequireTool(t, "ssh-keygen")
	const pass = "correct horse"
	dir := t.TempDir()
	keys := []struct {
		name, passphrase string
		args             []string
	}{
		{"ed25519", "", []string{"-t", "ed25519"}},
		{"ed25519_enc", pass, []string{"-t", "ed25519"}},
		{"ecdsa_openssh", "", []string{"-t", "ecdsa"}},
		{"rsa_pem", "", []string{"-t", "rsa", "-b", "2048", "-m", "PEM"}},
		{"ecdsa_pem_enc", pass, []string{"-t", "ecdsa", "-m", "PEM"}},
		{"ecdsa_pkcs8", "", []string{"-t", "ecdsa", "-m", "PKCS8"}},
		{"rsa_pkcs8_enc", pass, []string{"-t", "rsa", "-b", "2048", "-m", "PKCS8"}},
	}
	variants := map[string]func([]byte) []byte{
		"lf":          func(b []byte) []byte { return b },
		"crlf":        func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) },
		"trailing":    func(b []byte) []byte { return append(append([]byte{}, b...), "garbage after the key\n"...) },
		"leading":     func(b []byte) []byte { return append([]byte("\n"), b...) },
		"bom":         func(b []byte) []byte { return append([]byte("\xef\xbb\xbf"), b...) },
		"no-newline":  func(b []byte) []byte { return bytes.TrimRight(b, "\n") },
		"crlf-body":   func(b []byte) []byte { return crlfBody(b) },
		"truncated":   func(b []byte) []byte { return b[:len(b)/2] },
		"not-a-key":   func([]byte) []byte { return []byte("just some text\n") },
		"empty-lines": func(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\n\n")) },
		"blank-mid":   func(b []byte) []byte { return insertLine(b, 3, "") },
		"blank-begin": func(b []byte) []byte { return insertLine(b, 1, "") },
		"indented":    func(b []byte) []byte { return bytes.Replace(b, []byte("\n"), []byte("\n  "), 1) },
	}
	modes := []fs.FileMode{0o600, 0o400, 0o640, 0o644, 0o604, 0o700}
	cases := 0
	for _, k := range keys {
		orig := filepath.Join(dir, k.name)
		run(t, sshKeygen, append([]string{"-q", "-N", k.passphrase, "-C", "t@example.com", "-f", orig}, k.args...)...)
		data, err := os.ReadFile(orig)
		if err != nil {
			t.Fatal(err)
		}
		for vname, v := range variants {
			path := filepath.Join(dir, k.name+"."+vname)
			writeFile(t, path, v(data), 0o600)
			compareWithSSHKeygen(t, sshKeygen, path, k.passphrase)
			cases++
		}
		if runtime.GOOS == "windows" {
			continue
		}
		for _, m := range modes {
			path := filepath.Join(dir, fmt.Sprintf("%s.mode%04o", k.name, m))
			writeFile(t, path, data, m)
			compareWithSSHKeygen(t, sshKeygen, path, k.passphrase)
			cases++
		}
	}
	t.Logf("%d files compared with ssh-keygen", cases)

	// The reasons name what to fix.
	crlf := filepath.Join(dir, "ed25519.crlf")
	var nl *NotLoadableError
	if err := CheckLoadable(crlf); !errors.As(err, &nl) || nl.Reason != LoadLineEndings || !errors.Is(err, ErrNotLoadable) {
		t.Errorf("crlf: %v, want LoadLineEndings", err)
	}
	if runtime.GOOS != "windows" {
		if err := CheckLoadable(filepath.Join(dir, "ed25519.mode0644")); !errors.As(err, &nl) || nl.Reason != LoadPermissions || nl.Mode != 0o644 {
			t.Errorf("mode 0644: %v, want LoadPermissions", err)
		}
	}
	if err := CheckLoadable(filepath.Join(dir, "ed25519.no-newline")); !errors.As(err, &nl) || nl.Reason != LoadNoEndLine {
		t.Errorf("no final newline: %v, want LoadNoEndLine", err)
	}
	if err := CheckLoadable(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrNotLoadable) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

// insertLine puts text before line n (0-based) of b.
func insertLine(b []byte, n int, text string) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	if n > len(lines) {
		n = len(lines)
	}
	out := append([][]byte{}, lines[:n]...)
	out = append(out, []byte(text+"\n"))
	return bytes.Join(append(out, lines[n:]...), nil)
}

// crlfBody keeps the BEGIN and END lines LF-terminated and gives the lines
// between CRLF endings: OpenSSH drops those CRs.
func crlfBody(b []byte) []byte {
	lines := bytes.SplitAfter(b, []byte("\n"))
	for i := 1; i < len(lines)-2; i++ {
		lines[i] = bytes.ReplaceAll(lines[i], []byte("\n"), []byte("\r\n"))
	}
	return bytes.Join(lines, nil)
}

func compareWithSSHKeygen(t *testing.T, sshKeygen, path, passphrase string) {
	t.Helper()
	_, keygenErr := tryRun(sshKeygen, "-y", "-P", passphrase, "-f", path)
	err := CheckLoadable(path)
	if (keygenErr == nil) != (err == nil) {
		t.Errorf("%s: ssh-keygen -y says %v, CheckLoadable says %v", filepath.Base(path), keygenErr, err)
	}
}

func TestCheckLoadableRefusesSpecialFiles(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no /dev/zero")
	}
	var nl *NotLoadableError
	if err := CheckLoadable("/dev/zero"); !errors.As(err, &nl) || nl.Reason != LoadNotRegular {
		t.Fatalf("/dev/zero: %v, want LoadNotRegular", err)
	}
}
