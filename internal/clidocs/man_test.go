package clidocs

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// readme is the project's README.md, whose "Use" section is the man page's
// EXAMPLES.
func readme(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// renderedMan is testProgram's man page as man(1) shows it.
func renderedMan(t *testing.T) string {
	t.Helper()
	mandoc := testutil.RequireTool(t, "man")
	man, err := ManPage(testProgram(), readme(t))
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
	for _, c := range testProgram().Commands {
		// A synopsis per command, in SYNOPSIS and under the command.
		if strings.Count(page, c.UsageText) < 2 {
			t.Errorf("the synopsis of %s is not shown twice: %q", c.Name, c.UsageText)
		}
	}
	// Justified text has runs of spaces; hyphenated words break across lines.
	flat := strings.Join(strings.Fields(strings.ReplaceAll(page, "\u2010\n", "")), " ")
	for _, s := range []string{"EXIT STATUS", "BITBUCKET_TOKEN", "bbkey.keyType", "130",
		"key_backup/<UTC time>/", "id_<type>", "http.<url>", "# BEGIN git-bbkey <host>",
		"EXAMPLES", "git bbkey setup --yes", "--permission PERMISSION", "--timeout DURATION",
		"--type TYPE, -t TYPE", "(default: read)", "(default: 15s)", "color.ui", "Creating SSH keys"} {
		if !strings.Contains(flat, s) {
			t.Errorf("the man page lacks %q", s)
		}
	}
	// Underscores and * are text, not emphasis.
	if !strings.Contains(flat, "GIT_CONFIG_* work") {
		t.Errorf("GIT_CONFIG_* is mangled:\n%s", grepLine(page, "includes"))
	}
	// The -h every command has is documented once, under OPTIONS.
	if n := strings.Count(flat, "show help"); n != 0 {
		t.Errorf("the commands' -h is listed %d times", n)
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
	if _, err := ManPage(testProgram(), "# x\n## Other\n"); err == nil {
		t.Error("a README without a Use section is not an error")
	}
}

func TestReadmeSection(t *testing.T) {
	md := "# T\n## Install\nnot this\n## Use\n\ngit bbkey list\n### More\ntext\n## Next\nnot this either\n"
	got, err := readmeSection(md, "Use")
	if want := "git bbkey list\n## More\ntext\n"; err != nil || got != want {
		t.Errorf("readmeSection = %q, %v; want %q", got, err, want)
	}
}

func TestEscapeAngles(t *testing.T) {
	for in, want := range map[string]string{
		"key_backup/<UTC time>/":        `key_backup/\<UTC time\>/`,
		`already \<escaped>`:            `already \<escaped>`,
		"a `code <span>` and <b>":       "a `code <span>` and \\<b>",
		"```\n<in a fence>\n```\n<out>": "```\n<in a fence>\n```\n\\<out>",
	} {
		// ">" needs no escape: only a "<" opens a tag.
		want = strings.ReplaceAll(want, `\>`, ">")
		if got := escapeAngles(in); got != want {
			t.Errorf("escapeAngles(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPlaceholders(t *testing.T) {
	for _, tc := range []struct{ usage, name, text string }{
		{"read `FILE` first", "FILE", "read FILE first"},
		{"no placeholder", "", "no placeholder"},
		{"one ` backquote", "", "one ` backquote"},
	} {
		if name, text := SplitPlaceholder(tc.usage); name != tc.name || text != tc.text {
			t.Errorf("SplitPlaceholder(%q) = %q, %q; want %q, %q", tc.usage, name, text, tc.name, tc.text)
		}
	}
	synopsis := "git bbkey generate [--bits N] [--file PATH] [--no-passphrase | --passphrase-file FILE] [--force]"
	for long, want := range map[string]string{"bits": "N", "file": "PATH", "passphrase-file": "FILE", "force": "", "type": ""} {
		if got := SynopsisPlaceholder(synopsis, long); got != want {
			t.Errorf("SynopsisPlaceholder(%q) = %q, want %q", long, got, want)
		}
	}
}
