package app

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/git-bbkey/git-bbkey/internal/prompt"
	"github.com/git-bbkey/git-bbkey/internal/testutil"
)

// stopAt is a person who presses a key (Ctrl-C, Ctrl-D) at the first
// question, and counts the questions.
type stopAt struct {
	err   error
	asked int
}

func (s *stopAt) CanPrompt() bool { return true }
func (s *stopAt) Secret(context.Context, string) ([]byte, error) {
	s.asked++
	return nil, s.err
}
func (s *stopAt) Confirm(context.Context, string) (bool, error) {
	s.asked++
	return false, s.err
}
func (s *stopAt) Line(context.Context, string) (string, error) {
	s.asked++
	return "", s.err
}
func (s *stopAt) Say(string) error { return nil }

// mainEnv is TestEnv with p as the person at the terminal.
func mainEnv(t *testing.T, p prompt.Prompter, vars map[string]string) (env *Env, home string, stdout, stderr *bytes.Buffer) {
	t.Helper()
	testutil.RequireTool(t, "git")
	home = t.TempDir()
	env, stdout, stderr = TestEnv(home, t.TempDir(), vars)
	env.Prompter = p
	return env, home, stdout, stderr
}

// Ctrl-C or Ctrl-D at a prompt ends the run with exit 130 and one line,
// whatever the command does with the error, and nothing is written.
func TestMainStopsAtAPrompt(t *testing.T) {
	for _, tc := range []struct {
		err  error
		line string
	}{
		{prompt.ErrInterrupted, "error: interrupted\n"},
		{prompt.ErrCancelled, "error: cancelled\n"},
	} {
		p := &stopAt{err: tc.err}
		env, home, stdout, stderr := mainEnv(t, p, nil)
		code := Main(context.Background(), []string{"git-bbkey", "generate", "--comment", "me"}, env)
		if code != 130 || stderr.String() != tc.line || stdout.Len() != 0 {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want 130 and %q", tc.err, code, stdout, stderr, tc.line)
		}
		if p.asked != 1 {
			t.Errorf("%v: asked %d questions after the first was stopped", tc.err, p.asked)
		}
		if _, err := os.Stat(filepath.Join(home, ".ssh", "id_ed25519")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v: a key was written (%v)", tc.err, err)
		}
	}
}

// A run whose context ends (a signal) reports "interrupted", not the error
// the cancellation caused on its way up (a git config failure here), and
// prints nothing after it.
func TestMainSignalIsInterrupted(t *testing.T) {
	env, _, stdout, stderr := mainEnv(t, &stopAt{err: prompt.ErrNoTerminal}, nil)
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(errors.New("interrupt signal received"))
	code := Main(ctx, []string{"git-bbkey", "generate", "--no-passphrase", "--comment", "me"}, env)
	if code != 130 || stderr.String() != "error: interrupted\n" || stdout.Len() != 0 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestReportInterrupts(t *testing.T) {
	for _, err := range []error{prompt.ErrInterrupted, context.Canceled, failuref(prompt.ErrInterrupted)} {
		var b bytes.Buffer
		if code := report(&b, err); code != 130 || b.String() != "error: interrupted\n" {
			t.Errorf("%v: exit %d, %q", err, code, b.String())
		}
	}
	var b bytes.Buffer
	if code := report(&b, failuref(prompt.ErrCancelled)); code != 130 || b.String() != "error: cancelled\n" {
		t.Errorf("cancelled: exit %d, %q", code, b.String())
	}
}

// Once the run's context ends, the command's output stops.
func TestUntilDone(t *testing.T) {
	var b bytes.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	w := &untilDone{ctx: ctx, w: &b}
	w.Write([]byte("before\n"))
	cancel()
	if n, err := w.Write([]byte("after\n")); n != 6 || err != nil {
		t.Fatalf("write after the end: %d, %v", n, err)
	}
	if b.String() != "before\n" {
		t.Fatalf("got %q", b.String())
	}
}

// statusWord paints with color.ui=always, and never outside Main.
func TestStatusWord(t *testing.T) {
	env, _, _, _ := mainEnv(t, &stopAt{}, map[string]string{"GIT_CONFIG_COUNT": "1", "GIT_CONFIG_KEY_0": "color.ui", "GIT_CONFIG_VALUE_0": "always"})
	if got := env.statusWord("ok"); got != "ok" {
		t.Errorf("outside Main: %q", got)
	}
	run := env.forRun(context.Background(), func(error) {})
	for word, want := range map[string]string{
		"ok": "\x1b[32mok\x1b[m", "key-rejected": "\x1b[31mkey-rejected\x1b[m", "skipped": "\x1b[33mskipped\x1b[m", "generated": "generated",
	} {
		if got := run.statusWord(word); got != want {
			t.Errorf("statusWord(%q) = %q, want %q", word, got, want)
		}
	}
	// Off a terminal, the status line is off: Show writes nothing.
	run.statusLine().Show("connecting")
	if env.Stderr.(*bytes.Buffer).Len() != 0 {
		t.Errorf("status line in a pipe: %q", env.Stderr)
	}
}
