package sshkeys

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// vectorsDir is OpenSSH's own key test data, kept beside the repository (CI
// clones it as ../shared). Locally its absence skips; under
// BBKEY_REQUIRE_TOOLS=1 it fails.
func vectorsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "testdata", "openssh-sshkey")
	if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil {
		if os.Getenv(testutil.RequireEnv) == "1" {
			t.Fatalf("openssh test vectors missing at %s (%s=1): %v", dir, testutil.RequireEnv, err)
		}
		t.Skipf("skipping: openssh test vectors not found at %s", dir)
	}
	return dir
}

// run runs a tool and returns its stdout, failing the test on error.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := tryRun(name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

func tryRun(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), &toolError{err, stderr.String()}
	}
	return stdout.String(), nil
}

type toolError struct {
	err    error
	stderr string
}

func (e *toolError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }

// keygenFacts is one line of `ssh-keygen -l -E sha256`.
type keygenFacts struct {
	bits        int
	fingerprint string
	comment     string // "no comment" is ssh-keygen's way of saying ""
	shortType   string // ED25519, RSA, ECDSA-SK-CERT, ...
}

var keygenLine = regexp.MustCompile(`^(\d+) (SHA256:\S+) (.*) \(([A-Z0-9-]+)\)$`)

func parseKeygenLine(t *testing.T, line string) keygenFacts {
	t.Helper()
	m := keygenLine.FindStringSubmatch(strings.TrimSpace(line))
	if m == nil {
		t.Fatalf("unexpected ssh-keygen -l output %q", line)
	}
	bits, _ := strconv.Atoi(m[1])
	comment := m[3]
	if comment == "no comment" {
		comment = ""
	}
	return keygenFacts{bits, m[2], comment, m[4]}
}

// keygenFingerprint runs ssh-keygen -l on path; ok is false when ssh-keygen
// cannot read the file (too new a type, or encrypted PEM).
func keygenFingerprint(t *testing.T, sshKeygen, path string) (keygenFacts, bool) {
	t.Helper()
	out, err := tryRun(sshKeygen, "-l", "-E", "sha256", "-f", path)
	if err != nil {
		return keygenFacts{}, false
	}
	return parseKeygenLine(t, strings.SplitN(out, "\n", 2)[0]), true
}

// checkAgainstKeygen compares what we found with what ssh-keygen said.
func checkAgainstKeygen(t *testing.T, what string, k Key, want keygenFacts) {
	t.Helper()
	if k.Fingerprint != want.fingerprint || k.Bits != want.bits || shortTypeName(k.Type) != want.shortType ||
		k.Comment != want.comment {
		t.Errorf("%s: got %d %s %q (%s), ssh-keygen says %d %s %q (%s)", what,
			k.Bits, k.Fingerprint, k.Comment, shortTypeName(k.Type),
			want.bits, want.fingerprint, want.comment, want.shortType)
	}
}

func writeFile(t *testing.T, path string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // umask may have dropped bits
		t.Fatal(err)
	}
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, to, data, mode)
}

// findOne lists dir and expects exactly one key.
func findOne(t *testing.T, dir string) Key {
	t.Helper()
	keys, err := FindKeyPairs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("FindKeyPairs(%s): want 1 key, got %d: %+v", dir, len(keys), keys)
	}
	return keys[0]
}

func hasProblem(k Key, substr string) bool {
	for _, p := range k.Problems {
		if strings.Contains(p.String(), substr) {
			return true
		}
	}
	return false
}
