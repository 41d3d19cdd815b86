package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// TestGeneratedFilesAreCurrent keeps the man page and completions in step
// with the commands: regenerate with `go run ./contrib/gendocs`.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	for path, gen := range GeneratedFiles {
		want, err := gen()
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join("..", "..", path))
		if err != nil {
			t.Fatalf("%s: %v (run: go run ./contrib/gendocs)", path, err)
		}
		if string(got) != want {
			t.Errorf("%s is out of date: run go run ./contrib/gendocs", path)
		}
	}
}

func TestManPageDocumentsEveryCommandAndExitStatus(t *testing.T) {
	man, err := ManPage()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range docApp().Commands {
		if !strings.Contains(man, c.Name) {
			t.Errorf("man page does not mention %q", c.Name)
		}
	}
	// Placeholders in angle brackets look like HTML to markdown and were
	// dropped from the page once.
	for _, s := range []string{".TH git-bbkey 1", "EXIT STATUS", "BITBUCKET_TOKEN", "bbkey.keyType",
		"key_backup/<UTC time>/", "id_<type>", "http.<url>", "# BEGIN git-bbkey <host>"} {
		if !strings.Contains(man, s) {
			t.Errorf("man page lacks %q", s)
		}
	}
	if mandoc, err := exec.LookPath("man"); err == nil {
		p := filepath.Join(t.TempDir(), "git-bbkey.1")
		os.WriteFile(p, []byte(man), 0o644)
		out, err := exec.Command(mandoc, "-l", p).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "EXIT STATUS") {
			t.Errorf("man -l cannot render the page: %v\n%s", err, out)
		}
	}
}

// bashComplete runs the real bash completion function for a command line.
func bashComplete(t *testing.T, words ...string) []string {
	bash := testutil.RequireTool(t, "bash")
	script, err := BashCompletion()
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "c.bash")
	os.WriteFile(p, []byte(script), 0o644)
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = "'" + w + "'"
	}
	cmd := exec.Command(bash, "--norc", "-c", `source "$0"; COMP_WORDS=(`+strings.Join(quoted, " ")+`); COMP_CWORD=$((${#COMP_WORDS[@]}-1)); _git_bbkey; printf '%s\n' "${COMPREPLY[@]}"`, p)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	return strings.Fields(string(out))
}

func TestBashCompletion(t *testing.T) {
	for _, tc := range []struct {
		words []string
		want  string
	}{
		{[]string{"git", "bbkey", "gen"}, "generate"},
		{[]string{"git-bbkey", "li"}, "list"},
		{[]string{"git", "bbkey", "generate", "--ty"}, "--type"},
		{[]string{"git", "bbkey", "generate", "--type", "ed"}, "ed25519"},
	} {
		got := bashComplete(t, tc.words...)
		if len(got) != 1 || got[0] != tc.want {
			t.Errorf("%q: completions %q, want %q", tc.words, got, tc.want)
		}
	}
}
