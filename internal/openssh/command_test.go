package openssh

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/gitconfig"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

func TestGitSplitCmdline(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"ssh", []string{"ssh"}},
		{"ssh -i key", []string{"ssh", "-i", "key"}},
		{"ssh  \t-v", []string{"ssh", "-v"}},
		{`"C:/Program Files/plink.exe" -v`, []string{"C:/Program Files/plink.exe", "-v"}},
		{`'/tmp/x y/plink.exe' -v`, []string{"/tmp/x y/plink.exe", "-v"}},
		{`a\ b`, []string{"a b"}},
		{`"a\"b"`, []string{`a"b`}},
		{`'a\b'`, []string{`a\b`}},
		{` ssh`, []string{"", "ssh"}}, // git keeps the empty first word
		{`ssh "unclosed`, nil},
		{`ssh \`, nil},
	} {
		got, ok := gitSplitCmdline(tc.in)
		if !reflect.DeepEqual(got, tc.want) || ok != (tc.want != nil) {
			t.Errorf("gitSplitCmdline(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

// The cases of git's t5601-clone.sh for the name guess.
func TestGuessVariant(t *testing.T) {
	for _, tc := range []struct {
		text    string
		cmdline bool
		want    Variant
	}{
		{"ssh", false, VariantSSH},
		{"/usr/bin/ssh", false, VariantSSH},
		{"ssh.exe", false, VariantSSH},
		{"plink", false, VariantPlink},
		{"/trash/plink.exe", false, VariantPlink},
		{"PLINK.EXE", false, VariantPlink},
		{"tortoiseplink", false, VariantTortoisePlink},
		{"/x/TortoisePlink.exe", false, VariantTortoisePlink},
		{"putty", false, VariantAuto}, // only ssh.variant names putty
		{"uplink", false, VariantAuto},
		{"/x/ssh-wrapper", false, VariantAuto},
		{"/x/plink -v", false, VariantAuto}, // GIT_SSH is one program name
		{`"/trash/plink.exe" -v`, true, VariantPlink},
		{`'/trash/plink.exe' -v`, true, VariantPlink},
		{"ssh -i key -p 7999", true, VariantSSH},
		{"env ssh", true, VariantAuto},
		{`"unclosed`, true, VariantAuto},
	} {
		if got := guessVariant(tc.text, tc.cmdline); got != tc.want {
			t.Errorf("guessVariant(%q, %v) = %v, want %v", tc.text, tc.cmdline, got, tc.want)
		}
	}
}

func TestParseVariant(t *testing.T) {
	for in, want := range map[string]Variant{"auto": VariantAuto, "plink": VariantPlink, "putty": VariantPutty,
		"tortoiseplink": VariantTortoisePlink, "simple": VariantSimple, "ssh": VariantSSH, "foo": VariantSSH, "Plink": VariantSSH} {
		if got := parseVariant(in); got != want {
			t.Errorf("parseVariant(%q) = %v, want %v", in, got, want)
		}
	}
}

type fakeConfig map[string]string

func (f fakeConfig) GetRegexp(_ context.Context, _ string) ([][2]string, error) {
	var out [][2]string
	for _, k := range []string{"core.sshcommand", "ssh.variant", "protocol.version"} {
		if v, ok := f[k]; ok {
			out = append(out, [2]string{k, v})
		}
	}
	return out, nil
}

func envFunc(kv ...string) func(string) string {
	return func(k string) string {
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i] == k {
				return kv[i+1]
			}
		}
		return ""
	}
}

func TestGitCommandPrecedence(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		env     []string
		cfg     fakeConfig
		text    string
		source  Source
		variant Variant
		proto   int
	}{
		{"default", nil, nil, "ssh", SourceDefault, VariantSSH, 2},
		{"GIT_SSH", []string{"GIT_SSH", "/x/plink"}, nil, "/x/plink", SourceGitSSH, VariantPlink, 2},
		{"core.sshCommand over GIT_SSH", []string{"GIT_SSH", "/x/plink"}, fakeConfig{"core.sshcommand": "ssh -i k"}, "ssh -i k", SourceCoreSSHCommand, VariantSSH, 2},
		{"GIT_SSH_COMMAND over all", []string{"GIT_SSH", "/x/plink", "GIT_SSH_COMMAND", "wrap -v"}, fakeConfig{"core.sshcommand": "ssh"}, "wrap -v", SourceGitSSHCommand, VariantAuto, 2},
		{"ssh.variant", []string{"GIT_SSH", "/x/plink"}, fakeConfig{"ssh.variant": "ssh"}, "/x/plink", SourceGitSSH, VariantSSH, 2},
		{"GIT_SSH_VARIANT over ssh.variant", []string{"GIT_SSH", "/x/w", "GIT_SSH_VARIANT", "putty"}, fakeConfig{"ssh.variant": "simple"}, "/x/w", SourceGitSSH, VariantPutty, 2},
		{"protocol.version", nil, fakeConfig{"protocol.version": "0"}, "ssh", SourceDefault, VariantSSH, 0},
	} {
		c, err := GitCommand(ctx, envFunc(tc.env...), tc.cfg)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if c.Text != tc.text || c.Source != tc.source || c.Variant != tc.variant || c.ProtocolVersion != tc.proto {
			t.Errorf("%s: got %q from %v, variant %v, protocol %d; want %q from %v, %v, %d",
				tc.name, c.Text, c.Source, c.Variant, c.ProtocolVersion, tc.text, tc.source, tc.variant, tc.proto)
		}
	}
}

func TestArgv(t *testing.T) {
	plain := Command{Text: "ssh", Words: []string{"ssh"}}
	if got := plain.Argv("-p", "22", "h"); !reflect.DeepEqual(got, []string{"ssh", "-p", "22", "h"}) {
		t.Errorf("Argv = %q", got)
	}
	shell := Command{Text: "ssh -i k", Shell: true}
	sh := "/bin/sh" // git's SHELL_PATH; Git for Windows runs the sh on its PATH
	if runtime.GOOS == "windows" {
		sh = "sh"
	}
	want := []string{sh, "-c", `ssh -i k "$@"`, "ssh -i k", "h"}
	if got := shell.Argv("h"); !reflect.DeepEqual(got, want) {
		t.Errorf("Argv = %q, want %q", got, want)
	}
	if got := RemoteCommand("git-upload-pack", "/a'b!c"); got != `git-upload-pack '/a'\''b'\!'c'` {
		t.Errorf("RemoteCommand = %s", got)
	}
	if _, err := (Command{}).GitOptions(VariantSSH, Target{Host: "-oProxyCommand=x"}, false); !errors.Is(err, ErrStrangeHost) {
		t.Errorf("option-like host: %v", err)
	}
	var ve *VariantError
	if _, err := (Command{}).GitOptions(VariantSimple, Target{Host: "h", Port: 7999}, false); !errors.As(err, &ve) {
		t.Errorf("simple with a port: %v", err)
	}
	opts, _ := Command{ProtocolVersion: 2}.GitOptions(VariantSSH, Target{Host: "h"}, true)
	if len(opts) != 0 {
		t.Errorf("receive-pack with protocol v2 gets %q; git speaks v0 to it", opts)
	}
}

// recorder is a stand-in ssh program that writes every invocation to a
// log (program name, then the arguments) and fails, except that it
// answers git's -G probe through the real ssh (unless PROBE_FAIL is set).
const recorder = `#!/bin/sh
{ printf '%s' "${0##*/}"; for a; do printf '\037%s' "$a"; done; printf '\n'; } >> "$RECORD_LOG"
if [ "$1" = -G ]; then
	[ -n "$PROBE_FAIL" ] && exit 1
	exec ssh -F /dev/null "$@"
fi
exit 1
`

// TestGitRunsWhatCommandSays: real git is the oracle. For each way of
// choosing the ssh program, git's actual invocation (recorded by a
// stand-in program) is what GitCommand, GitOptions and the probe predict.
func TestGitRunsWhatCommandSays(t *testing.T) {
	gitPath := testutil.RequireTool(t, "git")
	testutil.RequireTool(t, "ssh")
	dir := t.TempDir()
	for _, name := range []string{"ssh", "plink", "plink.exe", "tortoiseplink", "uplink", "putty"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(recorder), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	p := func(name string) string { return filepath.Join(dir, name) }
	portURL, scpURL := "ssh://git@myhost:123/src", "myhost:src"
	for _, tc := range []struct {
		name string
		env  []string // environment and GIT_CONFIG_* settings
		url  string
	}{
		{"GIT_SSH ssh", []string{"GIT_SSH=" + p("ssh")}, portURL},
		{"GIT_SSH plink", []string{"GIT_SSH=" + p("plink")}, portURL},
		{"GIT_SSH plink.exe", []string{"GIT_SSH=" + p("plink.exe")}, portURL},
		{"GIT_SSH tortoiseplink", []string{"GIT_SSH=" + p("tortoiseplink")}, portURL},
		{"GIT_SSH uplink probed ssh", []string{"GIT_SSH=" + p("uplink")}, portURL},
		{"GIT_SSH uplink probed simple", []string{"GIT_SSH=" + p("uplink"), "PROBE_FAIL=1"}, scpURL},
		{"double quoted plink.exe", []string{`GIT_SSH_COMMAND="` + p("plink.exe") + `" -v`}, portURL},
		{"single quoted plink.exe", []string{`GIT_SSH_COMMAND='` + p("plink.exe") + `' -v`}, portURL},
		{"GIT_SSH_VARIANT ssh over plink", []string{"GIT_SSH=" + p("plink"), "GIT_SSH_VARIANT=ssh"}, portURL},
		{"ssh.variant ssh over plink", []string{"GIT_SSH=" + p("plink"), "cfg:ssh.variant=ssh"}, portURL},
		{"GIT_SSH_VARIANT tortoiseplink", []string{"GIT_SSH=" + p("plink"), "GIT_SSH_VARIANT=tortoiseplink"}, portURL},
		{"ssh.variant putty", []string{"GIT_SSH=" + p("putty"), "cfg:ssh.variant=putty"}, portURL},
		{"core.sshCommand over GIT_SSH", []string{"GIT_SSH=" + p("plink"), "cfg:core.sshCommand=" + p("ssh") + " -o X=1"}, portURL},
		{"GIT_SSH_COMMAND over core.sshCommand", []string{"GIT_SSH_COMMAND=" + p("ssh") + " -i '/k k'", "cfg:core.sshCommand=" + p("plink")}, scpURL},
		{"protocol v0", []string{"GIT_SSH=" + p("ssh"), "cfg:protocol.version=0"}, portURL},
	} {
		t.Run(tc.name, func(t *testing.T) {
			log := filepath.Join(t.TempDir(), "log")
			env := append(sshdtest.GitEnv(t.TempDir()), "RECORD_LOG="+log, "PATH="+os.Getenv("PATH"))
			var n int
			for _, kv := range tc.env {
				if c, ok := strings.CutPrefix(kv, "cfg:"); ok {
					k, v, _ := strings.Cut(c, "=")
					env = append(env, "GIT_CONFIG_KEY_"+itoa(n)+"="+k, "GIT_CONFIG_VALUE_"+itoa(n)+"="+v)
					n++
				} else {
					env = append(env, kv)
				}
			}
			env = append(env, "GIT_CONFIG_COUNT="+itoa(n))
			cmd := testutil.Command(t, gitPath, "ls-remote", tc.url)
			cmd.Env = env
			_ = cmd.Run() // the stand-in fails; what it recorded counts
			data, err := os.ReadFile(log)
			if err != nil {
				t.Fatalf("git ran no stand-in: %v", err)
			}
			var got [][]string
			for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
				got = append(got, strings.Split(line, "\037"))
			}

			getenv := func(k string) string { return envValue(env, k) }
			c, err := GitCommand(context.Background(), getenv, &gitconfig.Reader{Env: env})
			if err != nil {
				t.Fatal(err)
			}
			target, path := Target{Host: "myhost", User: "git", Port: 123}, "/src"
			if tc.url == scpURL {
				target, path = Target{Host: "myhost"}, "src"
			}
			var want [][]string
			variant := c.Variant
			if variant == VariantAuto {
				r := &Resolver{Command: c, Env: env, Local: Local{Home: "/nonexistent"}}
				s, err := r.Settings(context.Background(), target)
				if err != nil {
					t.Fatal(err)
				}
				variant = s.Variant
				probe, _ := c.GitOptions(VariantSSH, target, false)
				want = append(want, append(append([]string{baseName(c.Words[0]), "-G"}, probe...), target.HostArg()))
			}
			opts, err := c.GitOptions(variant, target, false)
			if err != nil {
				t.Fatal(err)
			}
			final := append([]string{baseName(c.Words[0])}, c.Words[1:]...)
			final = append(append(final, opts...), target.HostArg(), RemoteCommand("git-upload-pack", path))
			want = append(want, final)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("git ran\n  %q\nwe predict\n  %q", got, want)
			}
		})
	}
}

func itoa(n int) string { return string(rune('0' + n)) }
