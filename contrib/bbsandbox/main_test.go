package main

import (
	"bytes"
	"context"
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
