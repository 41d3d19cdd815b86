//go:build linux || darwin

package app

import (
	"bytes"
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/git-bbkey/git-bbkey/internal/testutil/sshdtest"
)

// While verify waits for a server, stderr on a terminal shows where it
// connects; never with --json or TERM=dumb. The run then ends as a
// timeout that says what was (not) tried, and the line is gone.
func TestVerifyStatusLine(t *testing.T) {
	hole, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hole.Close()
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := hole.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // accepted, never answered
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	}()
	_, key := sshdtest.NewKey(t, t.TempDir(), "id")
	addr := hole.Addr().String()
	for _, c := range []struct {
		term  string
		args  []string
		shown bool
	}{
		{"xterm", nil, true},
		{"xterm", []string{"--json"}, false},
		{"dumb", nil, false},
	} {
		ctrl, tty, err := pty.Open()
		if err != nil {
			t.Skipf("skipping: no pseudo-terminal: %v", err)
		}
		env, _, stdout, _ := mainEnv(t, noPrompt{}, map[string]string{"TERM": c.term})
		env.Stderr = tty
		var screen bytes.Buffer
		done := make(chan struct{})
		go func() { io.Copy(&screen, ctrl); close(done) }()
		args := append([]string{"git-bbkey", "verify", "ssh://git@" + addr + "/proj/repo.git", "--key", key, "--timeout", "1s"}, c.args...)
		code := Main(context.Background(), args, env)
		tty.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
		ctrl.Close()
		out := screen.String()
		if got := strings.Contains(out, "connecting to "+addr+"…"); got != c.shown {
			t.Errorf("TERM=%s %v: status line shown %v:\n%q", c.term, c.args, got, out)
		}
		if code != 1 || !strings.Contains(out, "the key was not tried: the server did not answer in time (timeout)") {
			t.Errorf("TERM=%s %v: exit %d\n%q\nstdout %q", c.term, c.args, code, out, stdout)
		}
		if c.shown && !strings.Contains(out, "\r"+strings.Repeat(" ", utf8.RuneCountInString("connecting to "+addr+"…"))+"\r") {
			t.Errorf("the status line was not erased:\n%q", out)
		}
	}
}
