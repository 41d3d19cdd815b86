package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/bbsandbox"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

func TestInstructionsNameTheRealPortsAndCommands(t *testing.T) {
	git := testutil.RequireTool(t, "git")
	srv, err := bbsandbox.Start(context.Background(), bbsandbox.Config{
		ContextPath: "/bitbucket",
		Users:       []bbsandbox.User{{Name: "alice", Password: "pw", Tokens: []string{"tok"}}},
		Projects:    []bbsandbox.Project{{Key: "PROJ", Repos: []string{"demo"}, Admins: []string{"alice"}}, {Key: "~alice", Repos: []string{"dotfiles"}}},
		DataDir:     t.TempDir(),
		Git:         git,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var out bytes.Buffer
	printInstructions(&out, srv, "pw", "tok", "/data", "")
	for _, want := range []string{
		"git config --global bbkey.url " + srv.URL() + "\n",
		"BITBUCKET_TOKEN=tok git bbkey add\n",
		"git bbkey verify " + srv.CloneURL("PROJ", "demo") + "\n",
		"password:     pw\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("instructions lack %q:\n%s", want, out.String())
		}
	}
}

func TestUsageErrors(t *testing.T) {
	var stderr bytes.Buffer
	if code := run([]string{"--no-such-flag"}, &bytes.Buffer{}, &stderr); code != 2 {
		t.Errorf("unknown flag: exit %d", code)
	}
	if code := run([]string{"extra"}, &bytes.Buffer{}, &stderr); code != 2 {
		t.Errorf("argument: exit %d", code)
	}
}

// TestPortInUse: a port that is taken is an error with the hint to pick
// free ports; another failure to start has no such hint.
func TestPortInUse(t *testing.T) {
	git := testutil.RequireTool(t, "git")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	taken := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	const hint = "hint: pick free ports"
	for _, args := range [][]string{{"--ssh-port", taken, "--http-port", "0"}, {"--ssh-port", "0", "--http-port", taken}} {
		var stderr bytes.Buffer
		code := run(append(args, "--git", git, "--data", t.TempDir()), &bytes.Buffer{}, &stderr)
		if code != 1 || !strings.Contains(stderr.String(), hint) {
			t.Errorf("%v with port %s taken: exit %d, want 1 with %q:\n%s", args, taken, code, hint, stderr.String())
		}
	}
	var stderr bytes.Buffer
	code := run([]string{"--ssh-port", "0", "--http-port", "0", "--git", filepath.Join(t.TempDir(), "no-git"), "--data", t.TempDir()}, &bytes.Buffer{}, &stderr)
	if code != 1 || strings.Contains(stderr.String(), hint) {
		t.Errorf("without git: exit %d, want 1 and no port hint:\n%s", code, stderr.String())
	}
}

// TestErrAddrInUse: listening on a port that is taken fails with the
// error run looks for, on this system (Linux, or Windows under Wine).
func TestErrAddrInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	again, err := net.Listen("tcp", ln.Addr().String())
	if err == nil {
		again.Close()
		t.Fatalf("a second listener on %s", ln.Addr())
	}
	if !errors.Is(err, errAddrInUse) {
		t.Fatalf("listening on %s, which is taken: %v (%#v); not errAddrInUse", ln.Addr(), err, err)
	}
}
