// Package prompt holds all terminal interaction: questions and passphrases
// go to and come from the controlling terminal, never stdout, and secrets are
// read without echo. Nothing here prints a secret.
//
// Answers are read with the terminal in raw mode, so that Ctrl-C and Ctrl-D
// reach the prompt as keys: Ctrl-C (or Ctrl-\) is ErrInterrupted, Ctrl-D is
// ErrCancelled, and neither is ever taken for an empty answer. A prompt also
// returns when its context ends (a signal while it waits), and the terminal
// is restored before any prompt returns.
package prompt

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/git-bbkey/git-bbkey/internal/safefile"
)

var (
	// ErrNoTerminal means a question needed a person but there is no
	// terminal (or GIT_TERMINAL_PROMPT=0 forbids using it).
	ErrNoTerminal = errors.New("no terminal to ask on")
	// ErrInterrupted means the person pressed Ctrl-C at the prompt, or the
	// terminal went away (hang-up) while it waited.
	ErrInterrupted = errors.New("interrupted")
	// ErrCancelled means the person ended the input (Ctrl-D) at the prompt.
	ErrCancelled = errors.New("cancelled")
)

// Prompter asks a person. Implementations must never echo secrets. The
// asking methods return ErrInterrupted, ErrCancelled, or the context's cause
// when the context ends while they wait.
type Prompter interface {
	// CanPrompt reports whether questions can be asked at all.
	CanPrompt() bool
	// Secret asks for a secret without echo.
	Secret(ctx context.Context, question string) ([]byte, error)
	// Confirm asks a yes/no question; an answer other than y/yes is no.
	Confirm(ctx context.Context, question string) (bool, error)
	// Line asks for one line of text.
	Line(ctx context.Context, question string) (string, error)
	// Say writes a line to the terminal (for things shown before a
	// question, such as a fingerprint to compare).
	Say(text string) error
}

// NewPassphrase asks for a new passphrase twice, as ssh-keygen does, and asks
// again when the two differ. An empty answer (Enter alone) means no
// passphrase; Ctrl-C and Ctrl-D stop with an error instead.
func NewPassphrase(ctx context.Context, p Prompter) ([]byte, error) {
	for tries := 0; tries < 5; tries++ {
		first, err := p.Secret(ctx, "Enter passphrase (empty for no passphrase): ")
		if err != nil {
			return nil, err
		}
		second, err := p.Secret(ctx, "Enter same passphrase again: ")
		if err != nil {
			clear(first)
			return nil, err
		}
		if bytes.Equal(first, second) {
			clear(second)
			return first, nil
		}
		clear(first)
		clear(second)
		if err := p.Say("Passphrases do not match.  Try again."); err != nil {
			return nil, err
		}
	}
	return nil, errors.New("passphrases did not match after 5 tries")
}

// ErrEmptyPassphrase: a passphrase file whose first line is empty. No
// passphrase is a choice of its own (--no-passphrase), never a file.
var ErrEmptyPassphrase = errors.New("the passphrase file's first line is empty")

// ReadPassphraseFile returns the first line of a file, newline stripped, as
// ssh-keygen's callers and git's credential helpers expect. The file must
// be a regular file of at most 64 KiB (never a FIFO or a device, which
// could hang or never end), and its first line must not be empty
// (ErrEmptyPassphrase). The error never quotes the file's content.
func ReadPassphraseFile(path string) ([]byte, error) {
	data, err := safefile.ReadSmall(path, safefile.MaxSmallFile)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read passphrase file %q: %w", path, err)
	}
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		data = data[:i]
	}
	data = bytes.TrimSuffix(data, []byte("\r"))
	if len(data) == 0 {
		return nil, fmt.Errorf("passphrase file %q: %w", path, ErrEmptyPassphrase)
	}
	return data, nil
}
