package app

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestGeneratedFilesAreCurrent keeps the man page and completions in step
// with the commands and README.md: regenerate with `go run ./contrib/gendocs`.
func TestGeneratedFilesAreCurrent(t *testing.T) {
	files, err := GeneratedFiles(readme(t))
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join("..", "..", path))
		if err != nil {
			t.Fatalf("%s: %v (run: go run ./contrib/gendocs)", path, err)
		}
		if string(got) != want {
			t.Errorf("%s is out of date: run go run ./contrib/gendocs", path)
		}
	}
}

// renderedMan is the man page as man(1) shows it.
func renderedMan(t *testing.T) string {
	t.Helper()
	mandoc := testutil.RequireTool(t, "man")
	man, err := ManPage(readme(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "git-bbkey.1")
	os.WriteFile(p, []byte(man), 0o644)
	cmd := exec.Command(mandoc, "-l", p)
	cmd.Env = append(os.Environ(), "MANWIDTH=200", "LANG=C.UTF-8")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("man -l cannot render the page: %v", err)
	}
	return string(out)
}

func TestManPage(t *testing.T) {
	page := renderedMan(t)
	for _, c := range commandInfos() {
		// A synopsis per command, in SYNOPSIS and under the command.
		if strings.Count(page, c.usageText) < 2 {
			t.Errorf("the synopsis of %s is not shown twice: %q", c.name, c.usageText)
		}
	}
	// Justified text has runs of spaces; hyphenated words break across lines.
	flat := strings.Join(strings.Fields(strings.ReplaceAll(page, "\u2010\n", "")), " ")
	for _, s := range []string{"EXIT STATUS", "BITBUCKET_TOKEN", "bbkey.keyType", "130",
		"key_backup/<UTC time>/", "id_<type>", "http.<url>", "# BEGIN git-bbkey <host>",
		"EXAMPLES", "git bbkey setup --yes", "--permission PERMISSION", "--timeout DURATION",
		"(default: read)", "(default: 15s)", "color.ui"} {
		if !strings.Contains(flat, s) {
			t.Errorf("the man page lacks %q", s)
		}
	}
	// Noise from urfave/cli's markdown: empty defaults and zero values.
	for _, s := range []string{`=""`, "(default: 0)", "(default: false)", "(default: 0s)"} {
		if strings.Contains(page, s) {
			t.Errorf("the man page shows %q", s)
		}
	}
	// Underscores and * are text, not emphasis.
	if !strings.Contains(flat, "GIT_CONFIG_* work") {
		t.Errorf("GIT_CONFIG_* is mangled:\n%s", grepLine(page, "includes"))
	}
}

func grepLine(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// The EXAMPLES are README.md's "Use" section: every command line of it is
// in the man page.
func TestManPageExamplesAreTheREADMEs(t *testing.T) {
	use, err := readmeSection(readme(t), "Use")
	if err != nil {
		t.Fatal(err)
	}
	page := renderedMan(t)
	n := 0
	for _, l := range strings.Split(use, "\n") {
		if strings.HasPrefix(l, "git bbkey ") || strings.HasPrefix(l, "$ git bbkey ") {
			cmd := strings.TrimSpace(strings.SplitN(strings.TrimPrefix(l, "$ "), "#", 2)[0])
			if !strings.Contains(page, cmd) {
				t.Errorf("EXAMPLES lack %q", cmd)
			}
			n++
		}
	}
	if n < 5 {
		t.Fatalf("only %d examples found in README's Use section", n)
	}
	if _, err := readmeSection("# x\n## Other\n", "Use"); err == nil {
		t.Error("a README without a Use section is not an error")
	}
}
