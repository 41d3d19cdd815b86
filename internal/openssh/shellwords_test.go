package openssh

import (
	"os/exec"
	"reflect"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

var shellEnv = []string{"HOME=/home/u", "KEY=/k/id", "EMPTY=", "SPACED=a b", "GLOB=*", "PATH=/usr/bin:/bin"}

func TestShellWords(t *testing.T) {
	getenv := func(k string) string { return envValue(shellEnv, k) }
	for _, tc := range []struct {
		in   string
		want []string // nil: not plain
	}{
		{"ssh", []string{"ssh"}},
		{"  ssh   -i  key ", []string{"ssh", "-i", "key"}},
		{`ssh -o "IdentityFile=/a b"`, []string{"ssh", "-o", "IdentityFile=/a b"}},
		{`ssh -o 'ProxyCommand=ssh -W %h:%p b'`, []string{"ssh", "-o", "ProxyCommand=ssh -W %h:%p b"}},
		{`ssh -i ~/.ssh/k`, []string{"ssh", "-i", "/home/u/.ssh/k"}},
		{`ssh -i ~`, []string{"ssh", "-i", "/home/u"}},
		{`ssh -i a~b -o IdentityFile=~/x`, []string{"ssh", "-i", "a~b", "-o", "IdentityFile=~/x"}},
		{`ssh -i "~/k"`, []string{"ssh", "-i", "~/k"}},
		{`ssh -i $KEY`, []string{"ssh", "-i", "/k/id"}},
		{`ssh -i ${KEY}.pub`, []string{"ssh", "-i", "/k/id.pub"}},
		{`ssh -i "$SPACED"`, []string{"ssh", "-i", "a b"}},
		{`ssh $EMPTY -v`, []string{"ssh", "-v"}},
		{`ssh "$EMPTY" -v`, []string{"ssh", "", "-v"}},
		{`ssh a\ b 'c'"d"e`, []string{"ssh", "a b", "cde"}},
		{`ssh "a\$b\"c\\d\e"`, []string{"ssh", `a$b"c\d\e`}},
		{"ssh -v \\\n -i k", []string{"ssh", "-v", "-i", "k"}},
		{`/usr/bin/ssh -F /etc/ssh/x.conf`, []string{"/usr/bin/ssh", "-F", "/etc/ssh/x.conf"}},
		{`ssh -i $SPACED`, nil}, // field splitting
		{`ssh -i $GLOB`, nil},
		{`ssh -i ~other/k`, nil},
		{`ssh -i $(cat f)`, nil},
		{"ssh -i `cat f`", nil},
		{`ssh -i "$(cat f)"`, nil},
		{`ssh $1`, nil},
		{`ssh ${KEY:-x}`, nil},
		{`ssh -v; rm x`, nil},
		{`ssh -v | tee`, nil},
		{`ssh -v 2>/dev/null`, nil},
		{`ssh -v &`, nil},
		{`ssh *`, nil},
		{`ssh # comment`, nil},
		{`FOO=1 ssh`, nil},
		{`exec ssh`, nil},
		{`if true; then ssh; fi`, nil},
		{`(ssh)`, nil},
		{"ssh\nssh", nil},
		{`ssh 'unclosed`, nil},
		{``, nil},
	} {
		got, ok := shellWords(tc.in, getenv)
		if ok != (tc.want != nil) || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("shellWords(%q) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
	}
}

// TestShellWordsOracle: for every command line shellWords calls plain,
// /bin/sh makes the same words of it.
func TestShellWordsOracle(t *testing.T) {
	sh := testutil.RequireTool(t, "sh")
	getenv := func(k string) string { return envValue(shellEnv, k) }
	for _, in := range []string{
		`ssh -o "IdentityFile=/a b"`, `ssh -i ~/.ssh/k`, `ssh -i ~`, `ssh -i a~b -o IdentityFile=~/x`,
		`ssh -i "~/k"`, `ssh -i $KEY`, `ssh -i ${KEY}.pub`, `ssh -i "$SPACED"`, `ssh $EMPTY -v`,
		`ssh "$EMPTY" -v`, `ssh a\ b 'c'"d"e`, `ssh "a\$b\"c\\d\e"`, "ssh -v \\\n -i k", `ssh -o 'ProxyCommand=ssh -W %h:%p b'`,
		`ssh '' x`, `ssh "" x`, `ssh a""b`, `ssh \~/x`, `ssh -p 7999 -l git`,
	} {
		want, ok := shellWords(in, getenv)
		if !ok {
			t.Errorf("shellWords(%q) is not plain", in)
			continue
		}
		// printf prints each word the shell passes, NUL-terminated.
		cmd := exec.Command(sh, "-c", `printf '%s\0' `+in)
		cmd.Env = shellEnv
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("sh -c %q: %v", in, err)
		}
		got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: sh gives %q, shellWords %q", in, got, want)
		}
	}
}
