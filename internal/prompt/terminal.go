package prompt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"
)

// Terminal is the real Prompter on the controlling terminal.
type Terminal struct {
	// Allowed is false when prompting is off (GIT_TERMINAL_PROMPT=0 or
	// neither stdin nor stderr is a terminal).
	Allowed bool

	// open opens the terminal to ask on; nil means the controlling
	// terminal. Tests give a pseudo-terminal.
	open func() (in, out *os.File, err error)
	mu   sync.Mutex // one question at a time
}

// NewTerminal decides whether prompting is possible, the way git does:
// GIT_TERMINAL_PROMPT=0 turns it off, and so does running with neither
// stdin nor stderr on a terminal (a script, a pipe, CI).
func NewTerminal(getenv func(string) string, stdin, stderr *os.File) *Terminal {
	allowed := getenv("GIT_TERMINAL_PROMPT") != "0" &&
		(isTerminal(stdin) || isTerminal(stderr))
	return &Terminal{Allowed: allowed}
}

func isTerminal(f *os.File) bool {
	return f != nil && term.IsTerminal(int(f.Fd()))
}

func (t *Terminal) openTerminal() (in, out *os.File, err error) {
	if t.open != nil {
		return t.open()
	}
	return openTTY()
}

func (t *Terminal) CanPrompt() bool {
	if !t.Allowed {
		return false
	}
	in, out, err := t.openTerminal()
	if err != nil {
		return false
	}
	closeTTY(in, out)
	return true
}

func (t *Terminal) Secret(ctx context.Context, question string) ([]byte, error) {
	return t.ask(ctx, question, true)
}

func (t *Terminal) Line(ctx context.Context, question string) (string, error) {
	answer, err := t.ask(ctx, question, false)
	return strings.TrimSpace(string(answer)), err
}

func (t *Terminal) Confirm(ctx context.Context, question string) (bool, error) {
	answer, err := t.Line(ctx, question+" ")
	if err != nil {
		return false, err
	}
	switch strings.ToLower(answer) {
	case "y", "yes":
		return true, nil
	}
	return false, nil
}

func (t *Terminal) Say(text string) error {
	if !t.Allowed {
		return ErrNoTerminal
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	in, out, err := t.openTerminal()
	if err != nil {
		return ErrNoTerminal
	}
	defer closeTTY(in, out)
	_, err = fmt.Fprintln(out, text)
	return err
}

// ask shows question and reads the answer with the terminal in raw mode.
// Raw mode comes first, so that no key typed after the question is seen
// reaches a terminal that would turn Ctrl-C into a signal or Ctrl-D into an
// empty line; it is undone before ask returns, whatever happens.
func (t *Terminal) ask(ctx context.Context, question string, secret bool) ([]byte, error) {
	if !t.Allowed {
		return nil, ErrNoTerminal
	}
	if ctx.Err() != nil {
		return nil, context.Cause(ctx)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	in, out, err := t.openTerminal()
	if err != nil {
		return nil, ErrNoTerminal
	}
	defer closeTTY(in, out)
	restore, err := rawMode(in)
	if err != nil {
		return nil, fmt.Errorf("cannot read from the terminal: %w", err)
	}
	// In raw mode a newline does not return the carriage.
	io.WriteString(out, strings.ReplaceAll(question, "\n", "\r\n"))
	var echo io.Writer
	if !secret {
		echo = out
	}
	keys, stop := newKeys(ctx, in)
	answer, err := editLine(keys, echo)
	stop()
	rerr := restore()
	switch {
	case errors.Is(err, errHangUp):
		return nil, err // nobody is left to read a newline
	case errors.Is(err, ErrInterrupted):
		io.WriteString(out, "^C\n") // as a terminal shows the key
	case errors.Is(err, ErrCancelled):
		io.WriteString(out, "^D\n")
	default:
		io.WriteString(out, "\n")
	}
	if err == nil && rerr != nil {
		clear(answer)
		return nil, fmt.Errorf("cannot restore the terminal: %w", rerr)
	}
	return answer, err
}

// errHangUp is the terminal going away under a prompt: an interrupt, like
// SIGHUP.
var errHangUp = fmt.Errorf("the terminal was closed: %w", ErrInterrupted)
