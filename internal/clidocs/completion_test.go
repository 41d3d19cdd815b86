package clidocs

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// The completion tests drive the real completion functions of each shell,
// as a TAB press does: bash through git's own completion (which loads ours
// from the completions directory), zsh through its completion widget, fish
// through complete -C. The candidates are asserted exactly; for bash, with
// the trailing space that keeps a completed word from being glued to the
// next one.

// completionFixture is a repository with two remotes, a directory of key
// files to complete in, the completion files of testProgram, and a git-bbkey on
// PATH that answers `__complete remove-ids` as a server with keys 12 and 34
// would.
type completionFixture struct {
	dir, keys string
	env       []string
}

func newCompletionFixture(t *testing.T) *completionFixture {
	t.Helper()
	git := testutil.RequireTool(t, "git")
	dir := t.TempDir()
	f := &completionFixture{dir: dir, keys: filepath.Join(dir, "repo", "keys")}
	for _, d := range []string{"home", "bin", "completions", "repo/keys/sub"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, content string, mode os.FileMode) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write("bin/git-bbkey", "#!/bin/sh\n[ \"$1 $2\" = \"__complete remove-ids\" ] || exit 2\nprintf '12\\tlaptop\\n34\\tci: build\\n'\n", 0o755)
	prog := testProgram()
	write("completions/git-bbkey", Bash(prog), 0o644)
	write("completions/_git-bbkey", Zsh(prog), 0o644)
	write("completions/git-bbkey.fish", Fish(prog), 0o644)
	for _, k := range []string{"id_ed25519", "id_ed25519.pub", "ci.pub"} {
		write("repo/keys/"+k, "", 0o600)
	}
	f.env = []string{"HOME=" + filepath.Join(dir, "home"), "PATH=" + filepath.Join(dir, "bin") + string(os.PathListSeparator) + os.Getenv("PATH"),
		"GIT_CONFIG_NOSYSTEM=1", "LANG=C", "TERM=dumb", "BASH_COMPLETION_USER_DIR=" + dir}
	for _, args := range [][]string{{"init", "-q"}, {"remote", "add", "origin", "https://bitbucket.example.com/scm/p/r.git"},
		{"remote", "add", "upstream", "ssh://git@bitbucket.example.com:7999/p/u.git"}} {
		cmd := exec.Command(git, args...)
		cmd.Dir, cmd.Env = filepath.Join(dir, "repo"), f.env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", args, err, out)
		}
	}
	return f
}

// requireFile returns the first of paths that exists; none is a skip, or a
// failure with BBKEY_REQUIRE_TOOLS=1.
func requireFile(t *testing.T, what string, paths ...string) string {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv(testutil.RequireEnv) == "1" {
		t.Fatalf("%s is not installed (%s=1): none of %q", what, testutil.RequireEnv, paths)
	}
	t.Skipf("skipping: %s is not installed (none of %q)", what, paths)
	return ""
}

// completionCases are command lines (the last word is being completed) and
// the candidates every shell must offer, in order. A file candidate has no
// trailing space in bash (bash adds it); a directory ends in "/" in fish.
var completionCases = []struct {
	line string
	want []string
}{
	{"git bbkey ver", []string{"verify "}},
	{"git-bbkey ver", []string{"verify "}},
	{"git bbkey re", []string{"remove "}},
	{"git bbkey generate --ty", []string{"--type "}},
	{"git bbkey generate --type e", []string{"ecdsa ", "ed25519 "}},
	{"git bbkey setup --type r", []string{"rsa "}},
	{"git bbkey add --permission ", []string{"read ", "write "}},
	{"git bbkey verify ", []string{"origin ", "upstream "}},
	{"git bbkey verify origin up", []string{"upstream "}},
	{"git bbkey setup --remote up", []string{"upstream "}},
	{"git bbkey add ", []string{"ci.pub", "id_ed25519.pub", "sub"}},
	{"git bbkey verify --key ", []string{"id_ed25519", "sub"}},
	{"git bbkey generate --file id", []string{"id_ed25519"}},
	{"git bbkey remove ", []string{"12 ", "34 "}},
	{"git bbkey list --", []string{"--help ", "--json ", "--server "}},
}

func words(line string) []string {
	w := strings.Fields(line)
	if strings.HasSuffix(line, " ") {
		w = append(w, "")
	}
	return w
}

func TestBashCompletionThroughGit(t *testing.T) {
	bash := testutil.RequireTool(t, "bash")
	bashCompletion := requireFile(t, "bash-completion", "/usr/share/bash-completion/bash_completion")
	gitCompletion := requireFile(t, "git's bash completion", "/usr/share/bash-completion/completions/git")
	f := newCompletionFixture(t)
	// complete_line does what bash does on TAB: load the command's
	// completion if needed (git's, from bash-completion), then call the
	// function it registered with the word and the one before it.
	script := `source "$1"; shift
complete_line () {
	COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
	local spec func
	complete -p "$1" >/dev/null 2>&1 || _completion_loader "$1"
	spec=$(complete -p "$1") || return
	func=${spec##*-F }; func=${func%% *}
	COMPREPLY=()
	"$func" "$1" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
	printf '%s\n' "${COMPREPLY[@]}" | LC_ALL=C sort
	echo "--end--"
}
`
	for _, tc := range completionCases {
		script += "complete_line"
		for _, w := range words(tc.line) {
			script += " '" + w + "'"
		}
		script += "\n"
	}
	cmd := exec.Command(bash, "--norc", "--noprofile", "-c", script, "bash", bashCompletion)
	cmd.Dir, cmd.Env = f.keys, f.env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bash: %v\n%s", err, out)
	}
	results := strings.Split(string(out), "--end--\n")
	for i, tc := range completionCases {
		var got []string
		if i < len(results) {
			got = strings.Split(strings.TrimSuffix(results[i], "\n"), "\n")
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%q: bash offers %q, want %q", tc.line, got, tc.want)
		}
	}
	_ = gitCompletion // loaded by bash-completion from its own directory
}

// shellWords is a case's candidates without bash's trailing spaces.
func shellWords(want []string) []string {
	var out []string
	for _, w := range want {
		out = append(out, strings.TrimSuffix(w, " "))
	}
	return out
}

// zshCapture drives an interactive zsh on a pseudo-terminal of zsh's own
// (zpty): for each line it presses TAB, and a wrapper around compadd prints
// every candidate the completion functions add, tagged with the line's
// number (set as $__case before the line is typed), so that output arriving
// late is never taken for the next line's. The end is a marker printed
// after the last line was handled.
const zshCapture = `zmodload zsh/zpty
dir=$1; shift
zpty z zsh -f -i
zpty -w z "PS1=''; RPS1=''; fpath=($dir \$fpath); autoload -Uz compinit; compinit -u -D; setopt nobeep"
zpty -w z "zstyle ':completion:*:*:git:*' user-commands bbkey:'SSH keys for Bitbucket'"
zpty -w z 'compadd () { local -a __m; builtin compadd -O __m "$@"; local m; for m in $__m; print -r -- "MATCH<$__case|$m>" >/dev/tty; builtin compadd "$@" }'
zpty -w z "bindkey '^I' complete-word"
zpty -w z 'zle-line-init() { print -rn -- "<READY-$__case>" >/dev/tty }; zle -N zle-line-init'
# zsh drops what was typed ahead when it sets the terminal up for the next
# line, so each line is typed only once the line editor says it is ready
# (zle-line-init) after the command that numbers it.
out=
integer n=0
for l in "$@"; do
	(( n++ ))
	zpty -w z "__case=$n"
	zpty -r z chunk "*<READY-$n>*"
	out+=$chunk
	zpty -n -w z "$l"$'\t'$'\C-u'
done
zpty -w z 'print -r -- ALL-DONE-$((6*7))'
zpty -r z chunk '*ALL-DONE-42*'
out+=$chunk
zpty -d z
print -r -- "$out"
`

func TestZshCompletion(t *testing.T) {
	zsh := testutil.RequireTool(t, "zsh")
	f := newCompletionFixture(t)
	p := filepath.Join(f.dir, "capture.zsh")
	os.WriteFile(p, []byte(zshCapture), 0o644)
	args := []string{"-f", p, filepath.Join(f.dir, "completions")}
	for _, tc := range completionCases {
		args = append(args, tc.line)
	}
	cmd := exec.Command(zsh, args...)
	cmd.Dir, cmd.Env = f.keys, f.env
	out, err := runWithin(cmd, 2*time.Minute)
	if err != nil {
		t.Fatalf("zsh: %v\n%s", err, out)
	}
	got := map[int][]string{}
	for _, m := range strings.Split(strings.ReplaceAll(out, "\r", ""), "MATCH<")[1:] {
		n, match, ok := strings.Cut(m[:max(strings.Index(m, ">"), 0)], "|")
		if i, err := strconv.Atoi(n); ok && err == nil {
			got[i-1] = append(got[i-1], match)
		}
	}
	for i, tc := range completionCases {
		offered := got[i]
		slices.Sort(offered)
		offered = slices.Compact(offered) // _describe adds its matches twice
		if want := shellWords(tc.want); !slices.Equal(offered, want) {
			t.Errorf("%q: zsh offers %q, want %q", tc.line, offered, want)
		}
	}
}

func TestFishCompletion(t *testing.T) {
	fish := testutil.RequireTool(t, "fish")
	f := newCompletionFixture(t)
	// The file is sourced as conf.d does: fish loads a completions file by
	// command name only, and `git bbkey` is completed for the command git.
	script := "source " + filepath.Join(f.dir, "completions", "git-bbkey.fish") + "\nfor l in $argv\n\tcomplete -C$l\n\techo --end--\nend\n"
	args := []string{"--no-config", "-c", script}
	for _, tc := range completionCases {
		args = append(args, tc.line)
	}
	cmd := exec.Command(fish, args...)
	cmd.Dir, cmd.Env = f.keys, f.env
	out, err := runWithin(cmd, time.Minute)
	if err != nil {
		t.Fatalf("fish: %v\n%s", err, out)
	}
	results := strings.Split(out, "--end--\n")
	for i, tc := range completionCases {
		var got []string
		if i < len(results) {
			for _, l := range strings.Split(strings.TrimSuffix(results[i], "\n"), "\n") {
				if l != "" {
					got = append(got, strings.TrimSuffix(strings.SplitN(l, "\t", 2)[0], "/"))
				}
			}
		}
		slices.Sort(got)
		if want := shellWords(tc.want); !slices.Equal(got, want) {
			t.Errorf("%q: fish offers %q, want %q", tc.line, got, want)
		}
	}
}

func runWithin(cmd *exec.Cmd, limit time.Duration) (string, error) {
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		return "", err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return out.String(), err
	case <-time.After(limit):
		cmd.Process.Kill()
		<-done
		return out.String(), os.ErrDeadlineExceeded
	}
}
